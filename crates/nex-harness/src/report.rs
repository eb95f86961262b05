//! The reporter: one set of diagnostics, printed in several formats.

use crate::diag::{Diagnostic, Severity};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Grouped by chart, with a code frame of each offending line
    #[default]
    Human,
    /// `::error file=…,line=…,col=…::…` workflow commands for GitHub Actions
    Github,
    /// One JSON document (schemas/report.schema.json)
    Json,
    /// JUnit XML, one test case per chart, for CI test reports
    Junit,
}

/// Counts for the summary line and the exit code.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub allowed: usize,
    pub charts: usize,
}

impl Summary {
    pub fn of(diags: &[Diagnostic], charts: usize) -> Self {
        let mut s = Summary { charts, ..Summary::default() };
        for d in diags {
            match (d.allowed.is_some(), d.severity) {
                (true, _) => s.allowed += 1,
                (false, Severity::Error) => s.errors += 1,
                (false, Severity::Warning) => s.warnings += 1,
            }
        }
        s
    }

    pub fn line(&self) -> String {
        let mut line = format!(
            "{} {}, {} {} in {} {}",
            self.errors,
            plural(self.errors, "error", "errors"),
            self.warnings,
            plural(self.warnings, "warning", "warnings"),
            self.charts,
            plural(self.charts, "chart", "charts"),
        );
        if self.allowed > 0 {
            let _ = write!(line, " ({} allowed by exception)", self.allowed);
        }
        line
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Renders a report. `charts` lists every chart checked, clean ones included,
/// so the JUnit and JSON forms show what passed too.
pub fn render(format: Format, diags: &[Diagnostic], charts: &[String], color: bool) -> String {
    match format {
        Format::Human => human(diags, charts, color),
        Format::Github => github(diags, charts),
        Format::Json => json(diags, charts),
        Format::Junit => junit(diags, charts),
    }
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
}

fn human(diags: &[Diagnostic], charts: &[String], color: bool) -> String {
    let style = Style { on: color };
    let mut out = String::new();
    let mut groups: Vec<&str> = charts.iter().map(String::as_str).collect();
    for d in diags {
        if !groups.contains(&d.chart.as_str()) {
            groups.push(&d.chart);
        }
    }
    for chart in groups {
        let mine: Vec<&Diagnostic> = diags.iter().filter(|d| d.chart == chart).collect();
        if mine.is_empty() {
            continue;
        }
        let title = if chart.is_empty() { "catalog" } else { chart };
        let _ = writeln!(out, "{}", style.paint("1", &format!("── {}", terminal_safe(title))));
        for d in mine {
            human_one(&mut out, d, &style);
        }
    }
    out.push_str(&Summary::of(diags, charts.len()).line());
    out.push('\n');
    out
}

fn human_one(out: &mut String, d: &Diagnostic, style: &Style) {
    let (label, code) = match (d.allowed.is_some(), d.severity) {
        (true, _) => ("allowed", "36"),
        (false, Severity::Error) => ("error", "1;31"),
        (false, Severity::Warning) => ("warning", "1;33"),
    };
    // Everything but the harness's own colours goes through `terminal_safe`:
    // messages quote files and tool output, which may hold escape sequences.
    let t = terminal_safe;
    let rule = format!("{label}[{}]", t(&d.rule));
    let _ = writeln!(out, "{}: {}", style.paint(code, &rule), t(&d.message));
    if let Some(loc) = &d.location {
        let _ = writeln!(out, "  {} {}", style.paint("34", "-->"), t(&loc.to_string()));
        if let Some(frame) = code_frame(loc) {
            out.push_str(&t(&frame));
        }
    }
    if let Some(reason) = &d.allowed {
        let _ = writeln!(out, "  = allowed by exception: {}", t(reason));
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "  = hint: {}", t(hint));
    }
    if !d.scenarios.is_empty() {
        let _ = writeln!(out, "  = scenarios: {}", t(&d.scenarios.join(", ")));
    }
}

/// The offending line with a caret under the column; `None` when it cannot be read.
fn code_frame(loc: &crate::diag::Location) -> Option<String> {
    let line_no = loc.line?;
    let text = crate::files::read_text(&loc.file).ok()?;
    let line = text.lines().nth(line_no.checked_sub(1)?)?;
    let gutter = line_no.to_string().len();
    let mut frame = format!("{:gutter$} |\n{line_no} | {line}\n", "");
    if let Some(col) = loc.column {
        let pad: String =
            line.chars().take(col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let _ = writeln!(frame, "{:gutter$} | {pad}^", "");
    }
    Some(frame)
}

/// GitHub workflow commands; `%`, CR and LF are escaped as GitHub requires.
fn github(diags: &[Diagnostic], charts: &[String]) -> String {
    let mut out = String::new();
    for d in diags {
        let level = match (d.allowed.is_some(), d.severity) {
            (true, _) => "notice",
            (false, Severity::Error) => "error",
            (false, Severity::Warning) => "warning",
        };
        let mut props = Vec::new();
        if let Some(loc) = &d.location {
            props.push(format!("file={}", gh_prop(&loc.file.display().to_string())));
            if let Some(l) = loc.line {
                props.push(format!("line={l}"));
            }
            if let Some(c) = loc.column {
                props.push(format!("col={c}"));
            }
        }
        props.push(format!("title={}", gh_prop(&format!("{} ({})", d.rule, d.chart))));
        let mut msg = d.message.clone();
        if let Some(reason) = &d.allowed {
            let _ = write!(msg, "\nallowed by exception: {reason}");
        }
        if let Some(h) = &d.hint {
            let _ = write!(msg, "\nhint: {h}");
        }
        let _ = writeln!(out, "::{level} {}::{}", props.join(","), gh_data(&msg));
    }
    out.push_str(&Summary::of(diags, charts.len()).line());
    out.push('\n');
    out
}

fn gh_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The JSON report; its shape is described by `schemas/report.schema.json`.
fn json(diags: &[Diagnostic], charts: &[String]) -> String {
    let doc = serde_json::json!({
        "version": 1,
        "summary": Summary::of(diags, charts.len()),
        "charts": charts,
        "diagnostics": diags,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

fn junit(diags: &[Diagnostic], charts: &[String]) -> String {
    // Catalog-wide findings (ct.yaml, discovery) get a test case of their own, named "" like their chart.
    let mut cases: Vec<String> = charts.to_vec();
    if diags.iter().any(|d| d.chart.is_empty()) && !cases.iter().any(String::is_empty) {
        cases.push(String::new());
    }
    let charts = &cases[..];
    let failed = charts.iter().filter(|c| diags.iter().any(|d| &d.chart == *c && d.is_failing())).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"cargo xtask lint\" tests=\"{}\" failures=\"{failed}\">",
        charts.len()
    );
    let _ = writeln!(out, "  <testsuite name=\"charts\" tests=\"{}\" failures=\"{failed}\">", charts.len());
    for chart in charts {
        let name = if chart.is_empty() { "(catalog)" } else { chart.as_str() };
        let _ = write!(out, "    <testcase classname=\"charts\" name=\"{}\"", xml(name));
        let mine: Vec<&Diagnostic> = diags.iter().filter(|d| &d.chart == chart).collect();
        if mine.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        let failing: Vec<&&Diagnostic> = mine.iter().filter(|d| d.is_failing()).collect();
        if !failing.is_empty() {
            let body: Vec<String> = failing.iter().map(|d| one_line(d)).collect();
            let _ = writeln!(
                out,
                "      <failure message=\"{} error(s)\">{}</failure>",
                failing.len(),
                xml(&body.join("\n"))
            );
        }
        let others: Vec<String> = mine.iter().filter(|d| !d.is_failing()).map(|d| one_line(d)).collect();
        if !others.is_empty() {
            let _ = writeln!(out, "      <system-out>{}</system-out>", xml(&others.join("\n")));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn one_line(d: &Diagnostic) -> String {
    let loc = d.location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default();
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!("{loc}{level}[{}]: {}", d.rule, d.message)
}

/// Text for an XML attribute or element. XML 1.0 cannot hold most control
/// characters at all, not even as character references, so they are written
/// out as `\u{1b}` text; the rest is escaped as usual.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if c < ' ' || c == '\u{7f}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for a terminal: control characters (escape sequences, carriage
/// returns, C1 controls) are shown as `\u{1b}` text, so a message cannot move
/// the cursor, recolour or retitle the terminal. Line breaks and tabs stay.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;

    fn sample(dir: &std::path::Path) -> Vec<Diagnostic> {
        let file = dir.join("values.yaml");
        std::fs::write(&file, "a: 1\nreplicas: two\n").unwrap();
        vec![
            Diagnostic::error("values/schema", "web", "\"two\" is not of type \"integer\"")
                .at(Location::at(&file, 2, 11))
                .hint("set an integer"),
            Diagnostic::warning("yaml/truthy", "web", "yes, really: 50% done"),
        ]
    }

    #[test]
    fn human_has_frame_caret_and_summary() {
        let tmp = tempfile::tempdir().unwrap();
        let out = render(Format::Human, &sample(tmp.path()), &["web".into(), "db".into()], false);
        assert!(out.contains("error[values/schema]"), "{out}");
        assert!(out.contains("2 | replicas: two\n  |           ^"), "{out}");
        assert!(out.contains("= hint: set an integer"));
        assert!(out.ends_with("1 error, 1 warning in 2 charts\n"), "{out}");
    }

    #[test]
    fn github_escapes_and_places() {
        let tmp = tempfile::tempdir().unwrap();
        let out = render(Format::Github, &sample(tmp.path()), &["web".into()], false);
        let first = out.lines().next().unwrap();
        assert!(first.starts_with("::error file="), "{first}");
        assert!(first.contains(",line=2,col=11,"), "{first}");
        assert!(first.contains("%0Ahint: set an integer"), "{first}");
        assert!(out.contains("50%25 done"));
    }

    #[test]
    fn json_is_parseable_and_counts() {
        let tmp = tempfile::tempdir().unwrap();
        let out = render(Format::Json, &sample(tmp.path()), &["web".into()], false);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["summary"]["errors"], 1);
        assert_eq!(v["diagnostics"][0]["location"]["line"], 2);
        assert_eq!(v["diagnostics"][0]["rule"], "values/schema");
    }

    #[test]
    fn junit_gives_catalog_findings_a_case() {
        let d = vec![Diagnostic::error("ct/unknown-key", "", "`x` is not a key")];
        let out = render(Format::Junit, &d, &["web".into()], false);
        assert!(out.contains("tests=\"2\" failures=\"1\""), "{out}");
        assert!(out.contains("name=\"(catalog)\">\n      <failure"), "{out}");
    }

    #[test]
    fn junit_marks_failing_chart_only() {
        let tmp = tempfile::tempdir().unwrap();
        let out = render(Format::Junit, &sample(tmp.path()), &["web".into(), "db".into()], false);
        assert!(out.contains("failures=\"1\""));
        assert!(out.contains("<testcase classname=\"charts\" name=\"db\"/>"));
        assert!(out.contains("&quot;two&quot;"));
    }

    #[test]
    fn junit_stays_well_formed_xml_with_control_characters() {
        let d = vec![Diagnostic::error("helm/lint", "web", "bad \u{1b}[31mred\u{7}\u{0} & <x>\r\nnext")];
        let out = render(Format::Junit, &d, &["web".into()], false);
        assert!(!out.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')), "{out:?}");
        assert!(out.contains("bad \\u{1b}[31mred\\u{7}\\u{0} &amp; &lt;x&gt;&#13;"), "{out}");
    }

    #[test]
    fn human_output_cannot_drive_the_terminal() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("values.yaml");
        std::fs::write(&file, "a: \u{1b}]0;pwned\u{7}\n").unwrap();
        let d = vec![
            Diagnostic::error("helm/lint", "web\u{1b}[2J", "msg \u{1b}[1A\u{9b}31m\rover")
                .at(crate::diag::Location::at(&file, 1, 4))
                .hint("h\u{1b}c"),
        ];
        let out = render(Format::Human, &d, &["web".into()], false);
        assert!(!out.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')), "{out:?}");
        assert!(out.contains("msg \\u{1b}[1A\\u{9b}31m\\u{d}over"), "{out}");
        assert!(out.contains("a: \\u{1b}]0;pwned\\u{7}"), "{out}");
        // The harness's own colours still work.
        let coloured = render(Format::Human, &d, &["web".into()], true);
        assert!(coloured.contains("\u{1b}[1;31merror"), "{coloured:?}");
    }
}
