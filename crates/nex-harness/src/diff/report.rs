//! The rendered diff of a run, as text for a terminal or as Markdown for a
//! pull-request comment. Pure: data in, text out.

use super::{Change, FieldChange};
use serde_json::Value;

/// GitHub refuses comments over 65 536 characters; leave room for the header.
pub const MARKDOWN_LIMIT: usize = 60_000;
/// Values longer than this are cut in the one-line form.
const VALUE_WIDTH: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Markdown,
}

/// One chart: its versions and the diff of every scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartDiff {
    pub chart: String,
    /// The version at the target branch; `None` for a chart new on this branch.
    pub old_version: Option<String>,
    pub new_version: String,
    /// Things the reader should know (a library chart diffed through its users, a render that failed).
    pub notes: Vec<String>,
    pub scenarios: Vec<ScenarioDiff>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioDiff {
    pub scenario: String,
    pub changes: Vec<Change>,
    /// Set when the scenario exists on one side only, or could not be rendered.
    pub note: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `origin/main`.
    pub base: String,
    pub charts: Vec<ChartDiff>,
}

pub fn render(format: Format, report: &Report) -> String {
    match format {
        Format::Human => human(report),
        Format::Markdown => markdown(report, MARKDOWN_LIMIT),
    }
}

/// Scenarios whose diffs are identical, shown once: (names, the shared diff).
fn grouped(chart: &ChartDiff) -> Vec<(Vec<&str>, &ScenarioDiff)> {
    let mut groups: Vec<(Vec<&str>, &ScenarioDiff)> = Vec::new();
    for s in &chart.scenarios {
        match groups.iter_mut().find(|(_, g)| g.changes == s.changes && g.note == s.note) {
            Some((names, _)) => names.push(&s.scenario),
            None => groups.push((vec![&s.scenario], s)),
        }
    }
    groups
}

fn versions(chart: &ChartDiff) -> String {
    match &chart.old_version {
        Some(old) if *old == chart.new_version => format!("{old} (version unchanged)"),
        Some(old) => format!("{old} → {}", chart.new_version),
        None => format!("{} (new chart)", chart.new_version),
    }
}

fn scenario_label(names: &[&str]) -> String {
    let s = if names.len() == 1 { "scenario" } else { "scenarios" };
    format!("{s} {}", names.join(", "))
}

/// A value on one line: JSON, cut when long.
pub fn one_line(v: Option<&Value>) -> String {
    let Some(v) = v else { return "(none)".into() };
    let text = v.to_string();
    if text.chars().count() > VALUE_WIDTH {
        let cut: String = text.chars().take(VALUE_WIDTH).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Multi-line strings on both sides (config files in ConfigMaps) are shown
/// as a line diff rather than two long JSON strings.
fn text_sides(f: &FieldChange) -> Option<(&str, &str)> {
    match (f.old.as_ref()?, f.new.as_ref()?) {
        (Value::String(a), Value::String(b)) if a.contains('\n') || b.contains('\n') => Some((a, b)),
        _ => None,
    }
}

fn line_diff(old: &str, new: &str) -> Vec<(char, String)> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for group in diff.grouped_ops(1) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                out.push((sign, change.value().trim_end_matches('\n').to_owned()));
            }
        }
    }
    out
}

fn summary(changes: &[Change]) -> String {
    let count = |f: fn(&Change) -> bool| changes.iter().filter(|c| f(c)).count();
    let parts = [
        (count(|c| matches!(c, Change::Changed(..))), "changed"),
        (count(|c| matches!(c, Change::Added(_))), "added"),
        (count(|c| matches!(c, Change::Removed(_))), "removed"),
    ];
    let text: Vec<String> = parts.iter().filter(|(n, _)| *n > 0).map(|(n, w)| format!("{n} {w}")).collect();
    if text.is_empty() { "no changes".into() } else { text.join(", ") }
}

pub fn human(report: &Report) -> String {
    let mut out = String::new();
    if report.charts.is_empty() {
        out.push_str(&format!("No changed charts against {}.\n", report.base));
    }
    for chart in &report.charts {
        out.push_str(&format!("{} {} (against {})\n", chart.chart, versions(chart), report.base));
        for n in &chart.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        for (names, s) in grouped(chart) {
            let label = scenario_label(&names);
            if let Some(note) = &s.note {
                out.push_str(&format!("  {label}: {note}\n"));
            }
            if s.changes.is_empty() {
                if s.note.is_none() {
                    out.push_str(&format!("  {label}: no changes\n"));
                }
                continue;
            }
            out.push_str(&format!("  {label}: {}\n", summary(&s.changes)));
            for c in &s.changes {
                match c {
                    Change::Added(k) => out.push_str(&format!("    + {k}\n")),
                    Change::Removed(k) => out.push_str(&format!("    - {k}\n")),
                    Change::Changed(k, fields) => {
                        out.push_str(&format!("    ~ {k}\n"));
                        for f in fields {
                            out.push_str(&human_field(f));
                        }
                    }
                }
            }
        }
    }
    out
}

fn human_field(f: &FieldChange) -> String {
    match text_sides(f) {
        Some((a, b)) => {
            let mut s = format!("        {}:\n", f.path());
            for (sign, line) in line_diff(a, b) {
                s.push_str(&format!("          {sign} {line}\n"));
            }
            s
        }
        None => {
            format!("        {}: {} → {}\n", f.path(), one_line(f.old.as_ref()), one_line(f.new.as_ref()))
        }
    }
}

/// Markdown for a pull-request comment; each scenario group's diff is a
/// ```` ```diff ```` block (GitHub colours removed and added lines). Cut at
/// `limit` characters with a note, so the comment is never refused.
pub fn markdown(report: &Report, limit: usize) -> String {
    let mut out = format!("## Rendered manifests: this branch against `{}`\n\n", report.base);
    if report.charts.is_empty() {
        out.push_str("No chart changed.\n");
        return out;
    }
    let mut cut = false;
    for chart in &report.charts {
        let mut section = format!("### `{}` {}\n\n", chart.chart, versions(chart));
        for n in &chart.notes {
            section.push_str(&format!("> {n}\n\n"));
        }
        for (names, s) in grouped(chart) {
            // Inside <summary> GitHub renders HTML, not Markdown.
            let names: Vec<String> = names.iter().map(|n| format!("<code>{}</code>", html(n))).collect();
            let label = if names.len() == 1 { "Scenario" } else { "Scenarios" };
            let what = match &s.note {
                Some(note) if s.changes.is_empty() => note.clone(),
                Some(note) => format!("{note}; {}", summary(&s.changes)),
                None => summary(&s.changes),
            };
            if s.changes.is_empty() {
                section.push_str(&format!("{label} {}: {}.\n\n", names.join(", "), html(&what)));
                continue;
            }
            let mut body = String::new();
            for c in &s.changes {
                match c {
                    Change::Added(k) => body.push_str(&format!("+ {k}\n")),
                    Change::Removed(k) => body.push_str(&format!("- {k}\n")),
                    Change::Changed(k, fields) => {
                        body.push_str(&format!("~ {k}\n"));
                        for f in fields {
                            body.push_str(&markdown_field(f));
                        }
                    }
                }
            }
            let fence = "`".repeat(3.max(longest_backtick_run(&body) + 1));
            section.push_str(&format!(
                "<details open><summary>{label} {}: {}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
                names.join(", "),
                html(&what)
            ));
        }
        if out.len() + section.len() > limit {
            cut = true;
            break;
        }
        out.push_str(&section);
    }
    if cut {
        out.push_str(
            "_The diff is too long for a comment and was cut; run `cargo xtask diff` locally for all of it._\n",
        );
    }
    out
}

fn markdown_field(f: &FieldChange) -> String {
    let path = f.path();
    match text_sides(f) {
        Some((a, b)) => {
            let mut s = format!("  {path}:\n");
            for (sign, line) in line_diff(a, b) {
                s.push_str(&format!("{sign}     {line}\n"));
            }
            s
        }
        None => {
            let mut s = String::new();
            if f.old.is_some() {
                s.push_str(&format!("-   {path}: {}\n", one_line(f.old.as_ref())));
            }
            if f.new.is_some() {
                s.push_str(&format!("+   {path}: {}\n", one_line(f.new.as_ref())));
            }
            s
        }
    }
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::ObjectKey;
    use super::*;
    use serde_json::json;

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey { api_version: "v1".into(), kind: kind.into(), namespace: String::new(), name: name.into() }
    }

    fn sample() -> Report {
        let changed = Change::Changed(
            key("ConfigMap", "nex-a"),
            vec![
                FieldChange { pointer: "/data/tag".into(), old: Some(json!("1.0")), new: Some(json!("1.1")) },
                FieldChange {
                    pointer: "/data/config.yaml".into(),
                    old: Some(json!("a: 1\nb: 2\n")),
                    new: Some(json!("a: 1\nb: 3\n")),
                },
            ],
        );
        Report {
            base: "origin/main".into(),
            charts: vec![ChartDiff {
                chart: "a".into(),
                old_version: Some("1.0.0".into()),
                new_version: "1.0.1".into(),
                notes: vec![],
                scenarios: vec![
                    ScenarioDiff { scenario: "default".into(), changes: vec![changed.clone()], note: None },
                    ScenarioDiff { scenario: "tls".into(), changes: vec![changed], note: None },
                    ScenarioDiff {
                        scenario: "extra".into(),
                        changes: vec![Change::Added(key("Secret", "nex-a"))],
                        note: Some("new scenario".into()),
                    },
                ],
            }],
        }
    }

    #[test]
    fn human_groups_identical_scenarios_and_diffs_text_by_line() {
        let text = human(&sample());
        assert!(text.starts_with("a 1.0.0 → 1.0.1 (against origin/main)\n"), "{text}");
        assert!(text.contains("  scenarios default, tls: 1 changed\n"), "{text}");
        assert!(text.contains("        data.tag: \"1.0\" → \"1.1\"\n"), "{text}");
        assert!(text.contains("          - b: 2\n          + b: 3\n"), "{text}");
        assert!(text.contains("  scenario extra: new scenario\n"), "{text}");
        assert!(text.contains("    + Secret nex-a (v1)\n"), "{text}");
    }

    #[test]
    fn markdown_is_a_diff_block_and_is_cut_at_the_limit() {
        let md = markdown(&sample(), MARKDOWN_LIMIT);
        assert!(md.contains("### `a` 1.0.0 → 1.0.1"), "{md}");
        assert!(
            md.contains("```diff\n~ ConfigMap nex-a (v1)\n-   data.tag: \"1.0\"\n+   data.tag: \"1.1\"\n"),
            "{md}"
        );
        let short = markdown(&sample(), 80);
        assert!(short.contains("was cut"), "{short}");
        assert!(!short.contains("```diff"), "{short}");
    }
}
