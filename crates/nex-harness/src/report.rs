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
    /// Rules the run judged (`lint`: the profile's, with harness.yaml's levels applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_on: Option<usize>,
    /// Rules harness.yaml turned off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_off: Option<usize>,
}

/// Which rules a run judged: "0 errors" says little when every rule was off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub rules_on: usize,
    pub rules_off: usize,
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
        match (self.rules_on, self.rules_off) {
            (Some(0), _) => line.push_str(" (every rule is off: nothing was checked)"),
            (_, Some(off)) if off > 0 => {
                let _ = write!(line, " ({off} {} off in harness.yaml)", plural(off, "rule", "rules"));
            }
            _ => {}
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
    render_run(format, diags, charts, color, None)
}

/// [`render`], with the summary saying which rules were judged (`lint`).
pub fn render_run(
    format: Format,
    diags: &[Diagnostic],
    charts: &[String],
    color: bool,
    coverage: Option<Coverage>,
) -> String {
    let mut summary = Summary::of(diags, charts.len());
    if let Some(c) = coverage {
        summary.rules_on = Some(c.rules_on);
        summary.rules_off = Some(c.rules_off);
    }
    match format {
        Format::Human => human(diags, charts, color, summary),
        Format::Github => github(diags, summary),
        Format::Json => json(diags, charts, summary),
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

/// The human report shows at most this many findings of one rule in one file;
/// the rest are counted (`--format json` lists every one). A 1 MiB file can
/// hold hundreds of thousands of findings of one kind, each with a code frame.
pub const MAX_SHOWN_PER_RULE_AND_FILE: usize = 20;

/// Characters of the offending line a code frame shows, around the column
/// (a minified file is one line of a megabyte).
pub const MAX_FRAME_CHARS: usize = 160;

fn human(diags: &[Diagnostic], charts: &[String], color: bool, summary: Summary) -> String {
    let style = Style { on: color };
    let mut out = String::new();
    let mut groups: Vec<&str> = charts.iter().map(String::as_str).collect();
    for d in diags {
        if !groups.contains(&d.chart.as_str()) {
            groups.push(&d.chart);
        }
    }
    let mut source = Source::default();
    for chart in groups {
        let mine: Vec<&Diagnostic> = diags.iter().filter(|d| d.chart == chart).collect();
        if mine.is_empty() {
            continue;
        }
        let title = if chart.is_empty() { "catalog" } else { chart };
        let _ = writeln!(out, "{}", style.paint("1", &format!("── {}", terminal_safe(title))));
        // Findings past the cap, by rule and file, in the order first met.
        let mut shown: std::collections::HashMap<(&str, Option<&std::path::Path>), usize> =
            std::collections::HashMap::new();
        let mut hidden: Vec<((&str, Option<&std::path::Path>), usize)> = Vec::new();
        for d in mine {
            let key = (d.rule.as_str(), d.location.as_ref().map(|l| l.file.as_path()));
            let n = shown.entry(key).or_default();
            *n += 1;
            if *n > MAX_SHOWN_PER_RULE_AND_FILE {
                match hidden.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, count)) => *count += 1,
                    None => hidden.push((key, 1)),
                }
                continue;
            }
            human_one(&mut out, d, &style, &mut source);
        }
        for ((rule, file), count) in hidden {
            let place = file.map(|f| format!(" in {}", f.display())).unwrap_or_default();
            let _ = writeln!(
                out,
                "{}",
                terminal_safe(&format!(
                    "… and {count} more [{rule}] finding{}{place} (`--format json` lists every one)",
                    if count == 1 { "" } else { "s" }
                ))
            );
        }
    }
    out.push_str(&summary.line());
    out.push('\n');
    out
}

/// The file code frames are taken from, read once while its findings are
/// printed (they are sorted by file), with where each line starts.
#[derive(Default)]
struct Source {
    path: Option<std::path::PathBuf>,
    text: Option<String>,
    starts: Vec<usize>,
}

impl Source {
    fn line(&mut self, path: &std::path::Path, line_no: usize) -> Option<&str> {
        if self.path.as_deref() != Some(path) {
            self.path = Some(path.to_path_buf());
            self.text = crate::files::read_text(path).ok();
            self.starts = std::iter::once(0)
                .chain(self.text.iter().flat_map(|t| t.match_indices('\n').map(|(i, _)| i + 1)))
                .collect();
        }
        let text = self.text.as_deref()?;
        let start = *self.starts.get(line_no.checked_sub(1)?)?;
        let end = self.starts.get(line_no).copied().unwrap_or(text.len());
        (start < text.len()).then(|| text[start..end].trim_end_matches(['\n', '\r']))
    }
}

fn human_one(out: &mut String, d: &Diagnostic, style: &Style, source: &mut Source) {
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
        if let Some(frame) = code_frame(loc, source) {
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

/// The offending line with a caret under the column; `None` when it cannot be
/// read. A long line is shown as the [`MAX_FRAME_CHARS`] around the column.
fn code_frame(loc: &crate::diag::Location, source: &mut Source) -> Option<String> {
    let line_no = loc.line?;
    let line = source.line(&loc.file, line_no)?;
    let chars = line.chars().count();
    let col = loc.column.unwrap_or(1).max(1);
    let (from, to) = if chars <= MAX_FRAME_CHARS {
        (0, chars)
    } else {
        let from = col.saturating_sub(MAX_FRAME_CHARS / 2).min(chars - MAX_FRAME_CHARS);
        (from, from + MAX_FRAME_CHARS)
    };
    let (head, tail) = (if from > 0 { "…" } else { "" }, if to < chars { "…" } else { "" });
    let shown: String = line.chars().skip(from).take(to - from).collect();
    let gutter = line_no.to_string().len();
    let mut frame = format!("{:gutter$} |\n{line_no} | {head}{shown}{tail}\n", "");
    if loc.column.is_some() {
        let pad: String = head
            .chars()
            .map(|_| ' ')
            .chain(
                line.chars()
                    .skip(from)
                    .take(col.saturating_sub(1).saturating_sub(from))
                    .map(|c| if c == '\t' { '\t' } else { ' ' }),
            )
            .collect();
        let _ = writeln!(frame, "{:gutter$} | {pad}^", "");
    }
    Some(frame)
}

/// GitHub workflow commands; `%`, CR and LF are escaped as GitHub requires.
fn github(diags: &[Diagnostic], summary: Summary) -> String {
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
    out.push_str(&summary.line());
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
fn json(diags: &[Diagnostic], charts: &[String], summary: Summary) -> String {
    let doc = serde_json::json!({
        "version": 1,
        "summary": summary,
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
    fn a_long_line_is_framed_around_its_column() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("values.yaml");
        let line = format!("big: \"{}\"\t{}", "x".repeat(5_000), "y".repeat(5_000));
        std::fs::write(&file, format!("a: 1\n{line}\n")).unwrap();
        let at = |col: usize| {
            let d =
                vec![Diagnostic::error("yaml/line-length", "web", "long").at(Location::at(&file, 2, col))];
            render(Format::Human, &d, &["web".into()], false)
        };
        let out = at(5_008);
        let shown = out.lines().find(|l| l.starts_with("2 | ")).unwrap();
        assert_eq!(shown.chars().count(), "2 | ".len() + MAX_FRAME_CHARS + 2, "{shown}");
        assert!(shown.starts_with("2 | …x") && shown.ends_with("y…") && shown.contains("\"\ty"), "{shown}");
        // The caret sits under the column: under the tab, counted in characters.
        let caret = out.lines().find(|l| l.ends_with('^')).unwrap();
        let under: Vec<char> = shown.chars().collect();
        assert_eq!(under[caret.chars().count() - 1], '\t', "{shown}\n{caret}");
        // At the start and at the end of the line, one side is cut only.
        let head = at(1);
        let shown = head.lines().find(|l| l.starts_with("2 | ")).unwrap();
        assert!(shown.starts_with("2 | big: ") && shown.ends_with('…'), "{shown}");
        assert!(head.contains("  | ^\n"), "{head}");
        let end = at(10_008);
        let shown = end.lines().find(|l| l.starts_with("2 | ")).unwrap();
        assert!(shown.starts_with("2 | …") && shown.ends_with('y'), "{shown}");
        let caret = end.lines().find(|l| l.ends_with('^')).unwrap();
        assert_eq!(caret.chars().count(), shown.chars().count(), "{shown}\n{caret}");
        // A short line is shown whole, as before.
        let d = vec![Diagnostic::error("yaml/x", "web", "m").at(Location::at(&file, 1, 4))];
        assert!(render(Format::Human, &d, &["web".into()], false).contains("1 | a: 1\n  |    ^\n"));
    }

    #[test]
    fn findings_of_one_rule_in_one_file_are_shown_up_to_the_cap_and_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("ci/bomb-values.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("refs: [{}]\n", "*s,".repeat(1_000))).unwrap();
        let mut d: Vec<Diagnostic> = (0..1_000)
            .map(|i| {
                Diagnostic::error("yaml/commas", "web", "too few spaces after comma").at(Location::at(
                    &file,
                    1,
                    10 + 3 * i,
                ))
            })
            .collect();
        d.push(Diagnostic::error("yaml/syntax", "web", "alias expansion").at(Location::at(&file, 1, 8)));
        d.push(Diagnostic::warning("yaml/truthy", "db", "other chart"));
        let out = render(Format::Human, &d, &["web".into(), "db".into()], false);
        assert_eq!(out.matches("error[yaml/commas]").count(), MAX_SHOWN_PER_RULE_AND_FILE, "{out}");
        assert_eq!(out.matches("error[yaml/syntax]").count(), 1);
        let more = format!(
            "… and {} more [yaml/commas] findings in {} (`--format json` lists every one)\n",
            1_000 - MAX_SHOWN_PER_RULE_AND_FILE,
            file.display()
        );
        assert!(out.contains(&more), "{out}");
        assert!(out.contains("warning[yaml/truthy]"));
        // The summary still counts every finding; JSON keeps every one.
        assert!(out.ends_with("1001 errors, 1 warning in 2 charts\n"), "{}", &out[out.len() - 200..]);
        let json: serde_json::Value = serde_json::from_str(&render(Format::Json, &d, &[], false)).unwrap();
        assert_eq!(json["diagnostics"].as_array().unwrap().len(), 1_002);
        // Bounded: a frame per shown finding, each at most a window of the line.
        assert!(out.len() < 30 * (MAX_FRAME_CHARS * 4 + 400), "{} bytes", out.len());
    }

    #[test]
    fn the_summary_says_when_rules_were_off() {
        let none = Coverage { rules_on: 0, rules_off: 90 };
        let out = render_run(Format::Human, &[], &["web".into()], false, Some(none));
        assert!(
            out.ends_with("0 errors, 0 warnings in 1 chart (every rule is off: nothing was checked)\n"),
            "{out}"
        );
        let some = Coverage { rules_on: 80, rules_off: 1 };
        let out = render_run(Format::Github, &[], &["web".into()], false, Some(some));
        assert!(out.ends_with("in 1 chart (1 rule off in harness.yaml)\n"), "{out}");
        let all = Coverage { rules_on: 80, rules_off: 0 };
        let out = render_run(Format::Human, &[], &["web".into()], false, Some(all));
        assert!(out.ends_with("in 1 chart\n"), "{out}");
        let v: serde_json::Value =
            serde_json::from_str(&render_run(Format::Json, &[], &["web".into()], false, Some(none))).unwrap();
        assert_eq!(
            (v["summary"]["rules_on"].as_u64(), v["summary"]["rules_off"].as_u64()),
            (Some(0), Some(90))
        );
        // Other commands judge no rule set: the fields are absent.
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &[], &[], false)).unwrap();
        assert!(v["summary"].get("rules_on").is_none(), "{v}");
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
