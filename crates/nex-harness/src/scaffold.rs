//! The files of a new chart (`cargo xtask new`), built on the `common` library
//! and the values contract. Pure: it returns the files; the command writes them.
//!
//! Files that need the chart's name are tera templates; Helm templates are copied
//! as they are (their `{{ }}` is Helm's, not tera's). The values schema is built
//! from the library's canonical fragment, so a new chart follows the contract as
//! it is today rather than as it was when the scaffold was written.

use crate::docs::{self, DocsError};
use crate::model::{CHART_YAML, ChartMeta};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// Chart names Helm and the catalog accept (the Chart.yaml policy).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 53 // Helm's limit for release names, which default to the chart's
        && name.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// An image by tag and digest.
struct Image {
    repository: &'static str,
    tag: &'static str,
    digest: &'static str,
}

/// The example app (a tiny HTTP server answering `/health`) and the helm test's
/// curl, pinned by the digests charts/common-test and charts/glance use.
const APP: Image = Image {
    repository: "traefik/whoami",
    tag: "v1.11.0",
    digest: "sha256:200689790a0a0ea48ca45992e0450bc26ccab5307375b41c84dfc4f2475937ab",
};
const TEST: Image = Image {
    repository: "curlimages/curl",
    tag: "8.16.0",
    digest: "sha256:463eaf6072688fe96ac64fa623fe73e1dbe25d8ad6c34404a669ad3ce1f104b6",
};

/// The library every new chart depends on, and its schema fragment (relative to the library).
pub const LIBRARY: &str = "common";
pub use crate::load::FRAGMENT;

enum Body {
    Tera(&'static str),
    Verbatim(&'static str),
}

/// Every file but the schema and the README, as (path in the chart, body).
const FILES: &[(&str, Body)] = &[
    ("Chart.yaml", Body::Tera(include_str!("../templates/new/Chart.yaml.tera"))),
    ("values.yaml", Body::Tera(include_str!("../templates/new/values.yaml.tera"))),
    (".helmignore", Body::Verbatim(include_str!("../templates/new/helmignore"))),
    // ci/lint/: a route needs the Gateway API CRDs, which the kind job of ct install lacks.
    ("ci/lint/route-values.yaml", Body::Verbatim(include_str!("../templates/new/ci/route-values.yaml"))),
    ("templates/NOTES.txt", Body::Tera(include_str!("../templates/new/templates/NOTES.txt.tera"))),
    ("templates/workload.yaml", Body::Verbatim(include_str!("../templates/new/templates/workload.yaml"))),
    ("templates/service.yaml", Body::Verbatim(include_str!("../templates/new/templates/service.yaml"))),
    (
        "templates/networkpolicy.yaml",
        Body::Verbatim(include_str!("../templates/new/templates/networkpolicy.yaml")),
    ),
    ("templates/ingress.yaml", Body::Verbatim(include_str!("../templates/new/templates/ingress.yaml"))),
    ("templates/httproute.yaml", Body::Verbatim(include_str!("../templates/new/templates/httproute.yaml"))),
    (
        "templates/serviceaccount.yaml",
        Body::Verbatim(include_str!("../templates/new/templates/serviceaccount.yaml")),
    ),
    ("templates/pvc.yaml", Body::Verbatim(include_str!("../templates/new/templates/pvc.yaml"))),
    ("templates/pdb.yaml", Body::Verbatim(include_str!("../templates/new/templates/pdb.yaml"))),
    (
        "templates/servicemonitor.yaml",
        Body::Verbatim(include_str!("../templates/new/templates/servicemonitor.yaml")),
    ),
    (
        "templates/extra-objects.yaml",
        Body::Verbatim(include_str!("../templates/new/templates/extra-objects.yaml")),
    ),
    (
        "templates/tests/test-http.yaml",
        Body::Verbatim(include_str!("../templates/new/templates/tests/test-http.yaml")),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("{0}: cannot read the library's values contract ({1}); a new chart is built on charts/{LIBRARY}")]
    Fragment(PathBuf, String),
    #[error(transparent)]
    Docs(#[from] DocsError),
}

/// The files of chart `name`, as (path inside the chart, content). `fragment` is
/// the text of the library's `values.schema.fragment.json`, read from `fragment_file`.
pub fn files(
    name: &str,
    fragment: &str,
    fragment_file: &Path,
) -> Result<Vec<(PathBuf, String)>, ScaffoldError> {
    let image = |i: &Image| json!({"repository": i.repository, "tag": i.tag, "digest": i.digest});
    let context = json!({ "name": name, "library": LIBRARY, "app": image(&APP), "test": image(&TEST) });
    let mut out = Vec::new();
    for (path, body) in FILES {
        let text = match body {
            Body::Tera(t) => docs::render_template(path, t, &context)?,
            Body::Verbatim(t) => (*t).to_owned(),
        };
        out.push((PathBuf::from(path), text));
    }
    out.push((PathBuf::from("values.schema.json"), schema(name, fragment, fragment_file)?));

    // The README is generated like every other chart's, from the files above.
    let text_of = |p: &str| out.iter().find(|(f, _)| f == Path::new(p)).map(|(_, t)| t.clone());
    let sources = docs::Sources {
        dir: PathBuf::new(),
        meta: ChartMeta::parse(Path::new(CHART_YAML), &text_of(CHART_YAML).unwrap_or_default()),
        values_yaml: text_of("values.yaml"),
        schema_json: text_of("values.schema.json"),
        runtime: None,
        ci: out
            .iter()
            .filter(|(p, _)| p.starts_with("ci") && crate::catalog::is_ci_values(p))
            .map(|(p, t)| {
                let file_name = p.strip_prefix("ci").unwrap_or(p).to_string_lossy().into_owned();
                let stem = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                docs::CiFile {
                    scenario: stem.trim_end_matches(".yaml").trim_end_matches("-values").to_owned(),
                    file_name,
                    text: t.clone(),
                }
            })
            .collect(),
    };
    out.push((PathBuf::from(docs::README), docs::chart_readme(&sources, None)?));
    Ok(out)
}

/// The chart's schema: the contract's `definitions` verbatim and its `properties`,
/// closed with `additionalProperties: false` (helm needs a self-contained schema).
fn schema(name: &str, fragment: &str, fragment_file: &Path) -> Result<String, ScaffoldError> {
    let bad = |m: String| ScaffoldError::Fragment(fragment_file.to_path_buf(), m);
    let fragment: Value = serde_json::from_str(fragment).map_err(|e| bad(e.to_string()))?;
    let part = |key: &str| -> Result<Value, ScaffoldError> {
        fragment.get(key).filter(|v| v.is_object()).cloned().ok_or_else(|| bad(format!("no `{key}` object")))
    };
    let properties = part("properties")?;
    let definitions_key = if fragment.get("$defs").is_some() { "$defs" } else { "definitions" };
    let definitions = part(definitions_key)?;
    let mut schema = Map::new();
    schema.insert(
        "$schema".into(),
        fragment.get("$schema").cloned().unwrap_or_else(|| json!("http://json-schema.org/draft-07/schema#")),
    );
    schema.insert(
        "$comment".into(),
        json!(format!(
            "{definitions_key} copied verbatim from charts/{LIBRARY}/{FRAGMENT} (the values contract); add this chart's own properties beside the contract's."
        )),
    );
    schema.insert("title".into(), json!(format!("{name} values")));
    schema.insert("type".into(), json!("object"));
    schema.insert("additionalProperties".into(), json!(false));
    schema.insert("properties".into(), properties);
    schema.insert(definitions_key.into(), definitions);
    let mut text = serde_json::to_string_pretty(&Value::Object(schema)).map_err(|e| bad(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_chart_policy() {
        for good in ["a", "glance", "adguard-home", "k8s-2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Glance", "-a", "a-", "a--b", "a_b", "a.b", "../x", "a b", &"a".repeat(54)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_schema_takes_the_contract_and_closes_it() {
        let fragment = r##"{"$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"image": {"type": "object", "description": "Image."}},
            "properties": {"image": {"$ref": "#/definitions/image", "description": "The image."}}}"##;
        let s: Value = serde_json::from_str(&schema("demo", fragment, Path::new("f.json")).unwrap()).unwrap();
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["title"], json!("demo values"));
        assert_eq!(s["definitions"]["image"]["description"], json!("Image."));
        assert_eq!(s["properties"]["image"]["$ref"], json!("#/definitions/image"));
        let err = schema("demo", "{}", Path::new("f.json")).unwrap_err().to_string();
        assert!(
            err.starts_with("f.json: cannot read the library's values contract (no `properties` object)"),
            "{err}"
        );
    }
}
