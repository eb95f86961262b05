//! A chart README: the model, escaped for Markdown, through the tera template,
//! with the hand-written section of the existing README spliced back in.

use super::markdown::{self, badge, cell, code_cell};
use super::model::ChartDoc;
use super::{DocsError, MANUAL_END, MANUAL_START, find_markers, neutralise_markers};
use serde_json::json;
use std::path::Path;

const TEMPLATE_NAME: &str = "readme.md";
const TEMPLATE: &str = include_str!("../../templates/readme.md.tera");
/// Where the manual section goes; replaced after rendering so tera never sees hand-written text.
const MANUAL_SLOT: &str = "@@NEX-MANUAL@@";
/// The manual section of a README that has none yet.
const MANUAL_DEFAULT: &str = "\n<!-- Hand-written notes go here (upstream facts, examples); `cargo xtask docs` keeps them as they are. -->\n";

/// Renders the README of `doc`; `existing` (the README on disk) gives the manual section.
/// `file` names the README in errors.
pub fn render(doc: &ChartDoc, existing: Option<&str>, file: &Path) -> Result<String, DocsError> {
    let manual = manual_section(existing, file)?;
    let generated = super::render_template(TEMPLATE_NAME, TEMPLATE, &context(doc))?;
    // Nothing generated may read as a marker: the manual section is found by them.
    let generated = neutralise_markers(&tidy(&generated));
    // The slot is the only occurrence: it is written in the template, and
    // every value printed into it has been escaped for Markdown tables.
    Ok(generated.replacen(MANUAL_SLOT, &format!("{MANUAL_START}{manual}{MANUAL_END}"), 1))
}

/// The bytes between the manual markers. A README without markers was written
/// by hand before the chart's docs were generated: all of it becomes the manual
/// section, so nothing is lost.
pub fn manual_section(existing: Option<&str>, file: &Path) -> Result<String, DocsError> {
    let Some(text) = existing.filter(|t| !t.trim().is_empty()) else {
        return Ok(MANUAL_DEFAULT.to_owned());
    };
    match find_markers(text, MANUAL_START, MANUAL_END, file)? {
        Some((start, end)) => Ok(text[start..end].to_owned()),
        None => Ok(format!("\n{}\n", text.trim_matches('\n'))),
    }
}

fn context(doc: &ChartDoc) -> serde_json::Value {
    let mut badges = vec![badge("Version", &doc.version, "informational")];
    if let Some(app) = &doc.app_version {
        badges.push(badge("AppVersion", app, "informational"));
    }
    badges.push(badge("Type", &doc.chart_type, "informational"));
    badges.push(badge("Helm", "3 | 4", "0f1689"));
    if let Some(license) = &doc.license {
        badges.push(badge("License", license, "lightgrey"));
    }
    let values: Vec<_> = doc
        .values
        .iter()
        .map(|r| {
            json!({
                "key": format!("{}{}", code_cell(&r.key), if r.required { " **(required)**" } else { "" }),
                "ty": cell(&r.ty),
                "default": r.default.as_deref().map(code_cell).unwrap_or_default(),
                "description": cell(&r.description),
            })
        })
        .collect();
    let scenarios: Vec<_> = doc
        .scenarios
        .iter()
        .map(|s| json!({"name": code_cell(&s.name), "file": s.file, "description": cell(&s.description)}))
        .collect();
    let exceptions: Vec<_> = doc
        .exceptions
        .iter()
        .map(|e| {
            json!({
                "rule": code_cell(&e.rule),
                "objects": cell(&e.objects),
                "scenarios": cell(&e.scenarios),
                "reason": cell(&e.reason),
            })
        })
        .collect();
    let images: Vec<_> =
        doc.images.iter().map(|i| json!({"name": cell(&i.name), "image": code_cell(&i.image)})).collect();
    let dependencies: Vec<_> = doc
        .dependencies
        .iter()
        .map(|d| {
            json!({"name": cell(&d.name), "version": code_cell(&d.version), "repository": code_cell(&d.repository)})
        })
        .collect();
    let changes: Vec<_> = doc
        .changes
        .iter()
        .map(|c| json!({"kind": c.kind, "description": c.description.replace('\n', " ")}))
        .collect();
    let upstream = doc.upstream.as_ref().map(|u| {
        let rows: Vec<_> = u
            .rows
            .iter()
            .map(|r| {
                let source = if r.source.is_empty() { "—".to_owned() } else { cell(&r.source) };
                json!({"fact": cell(&r.fact), "value": cell(&r.value), "source": source})
            })
            .collect();
        let unconfirmed: Vec<_> =
            u.unconfirmed.iter().map(|x| json!({"fact": cell(&x.fact), "why": cell(&x.why)})).collect();
        json!({
            "repository": markdown::code(&u.repository),
            "tag": markdown::code(&u.tag),
            "commit": u.commit.as_deref().map(markdown::code),
            "note": u.note.as_deref().map(cell),
            "rows": rows,
            "unconfirmed": unconfirmed,
        })
    });
    json!({
        "upstream": upstream,
        "name": doc.name,
        "version": doc.version,
        "description": doc.description,
        "badges": badges,
        "is_library": doc.is_library(),
        "repo_name": super::HELM_REPO_NAME,
        "repo_url": super::HELM_REPO_URL,
        "oci": super::OCI_REPO,
        "kube_version": doc.kube_version,
        "values": values,
        "values_without_schema": doc.values_without_schema,
        "scenarios": scenarios,
        "exceptions": exceptions,
        "images": images,
        "dependencies": dependencies,
        "changes": changes,
        "home": doc.home,
        "sources": doc.sources,
        "maintainers": doc.maintainers.iter().map(|m| m.link.clone()).collect::<Vec<_>>(),
        "license": doc.license.as_deref().map(markdown::code),
    })
}

/// Template whitespace is hard to get exactly right in every branch; one blank
/// line between blocks, none trailing, makes the output stable whatever the branch.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if blank > 0 && !out.is_empty() {
            out.push('\n');
        }
        blank = 0;
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_section_is_kept_byte_for_byte() {
        let old = format!(
            "# x\nold generated\n{MANUAL_START}\n  keep *this*\n\n\n  exactly \t\n{MANUAL_END}\ntail\n"
        );
        assert_eq!(
            manual_section(Some(&old), Path::new("R")).unwrap(),
            "\n  keep *this*\n\n\n  exactly \t\n"
        );
    }

    #[test]
    fn a_readme_without_markers_is_adopted_whole() {
        let m = manual_section(Some("\n# Hand written\n\ntext\n"), Path::new("R")).unwrap();
        assert_eq!(m, "\n# Hand written\n\ntext\n");
        assert_eq!(manual_section(None, Path::new("R")).unwrap(), MANUAL_DEFAULT);
    }

    #[test]
    fn a_lone_marker_is_refused_rather_than_losing_text() {
        let e =
            manual_section(Some(&format!("a\n{MANUAL_START}\nb\n")), Path::new("c/README.md")).unwrap_err();
        assert!(e.to_string().starts_with("c/README.md: <!-- nex-charts:manual:start --> without"), "{e}");
        assert!(manual_section(Some(&format!("{MANUAL_END}\n{MANUAL_START}\n")), Path::new("R")).is_err());
    }

    #[test]
    fn tidy_leaves_single_blank_lines() {
        assert_eq!(tidy("\n\na  \n\n\n\nb\n\n"), "a\n\nb\n");
    }
}
