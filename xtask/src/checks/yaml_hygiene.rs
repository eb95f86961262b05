//! YAML hygiene over Chart.yaml, values.yaml and the ci files: what ct's
//! yamllint configuration catches, without Python, reporting every finding
//! (yamllint stops ct at the first failing chart).
//!
//! Text rules run line by line; scalar contents (quoted strings, block
//! scalars) are masked out using the parser's spans, so a `#` or `,` inside a
//! string is never mistaken for a comment or a separator.
//! Off when ct.yaml sets `validate-yaml: false`.

use crate::diag::{Diagnostic, Location, Severity};
use crate::files::YamlFile;
use crate::load::LoadedChart;
use crate::yaml::{Entry, Node, Span, Style, Value};

pub const RULE_TABS: &str = "yaml/tabs";
pub const RULE_TRAILING: &str = "yaml/trailing-spaces";
pub const RULE_FINAL_NEWLINE: &str = "yaml/final-newline";
pub const RULE_NEW_LINES: &str = "yaml/new-lines";
pub const RULE_EMPTY_LINES: &str = "yaml/empty-lines";
pub const RULE_INDENTATION: &str = "yaml/indentation";
pub const RULE_COMMENTS: &str = "yaml/comments";
pub const RULE_COLONS: &str = "yaml/colons";
pub const RULE_COMMAS: &str = "yaml/commas";
pub const RULE_TRUTHY: &str = "yaml/truthy";

/// At most this many blank lines in a row (ct's lintconf).
const MAX_EMPTY: usize = 2;

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    if !loaded.settings.validate_yaml {
        return Vec::new();
    }
    let files = &loaded.files;
    let sources =
        std::iter::once(&files.chart_yaml).chain(files.values.iter()).chain(files.ci.iter().map(|(_, s)| s));
    let mut out = Vec::new();
    for source in sources {
        if let Ok(file) = &source.content {
            out.extend(file_findings(&loaded.chart.name, file));
        }
    }
    out
}

/// Every hygiene finding in one file.
pub fn file_findings(chart: &str, file: &YamlFile) -> Vec<Diagnostic> {
    let mut f = Findings { chart, file, out: Vec::new() };
    let text = file.text.as_str();
    if text.is_empty() {
        return f.out;
    }
    let roots: Vec<&Node> = file.parsed.as_ref().map(|y| y.docs.iter().collect()).unwrap_or_default();
    let lines: Vec<&str> = text.split('\n').collect();
    // `split` leaves an empty last element after the final newline.
    let line_count = if text.ends_with('\n') { lines.len() - 1 } else { lines.len() };
    let masks = masks(&roots, line_count);

    if let Some(i) = lines.iter().position(|l| l.ends_with('\r')) {
        f.push(
            RULE_NEW_LINES,
            Severity::Error,
            i + 1,
            lines[i].chars().count(),
            "line ends with CR LF; use Unix new lines (LF)",
        );
    }
    if !text.ends_with('\n') {
        let last = lines[line_count - 1];
        f.push(
            RULE_FINAL_NEWLINE,
            Severity::Error,
            line_count,
            last.chars().count() + 1,
            "no new line at the end of the file",
        );
    }
    let mut blank_run = 0;
    for (i, raw) in lines.iter().take(line_count).enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let mask = &masks[i];
        let full = mask.iter().any(|&(s, e)| s <= 1 && e == usize::MAX);
        if line.trim().is_empty() && !full {
            blank_run += 1;
            if blank_run == MAX_EMPTY + 1 {
                f.push(RULE_EMPTY_LINES, Severity::Error, n, 1, format!("more than {MAX_EMPTY} blank lines"));
            }
            if n == blank_run && blank_run == 1 {
                f.push(RULE_EMPTY_LINES, Severity::Error, n, 1, "blank line at the start of the file");
            }
        } else {
            blank_run = 0;
        }
        let chars: Vec<char> = line.chars().collect();
        let trimmed = chars.iter().rposition(|c| !matches!(c, ' ' | '\t')).map_or(0, |p| p + 1);
        if trimmed < chars.len() && !full {
            f.push(RULE_TRAILING, Severity::Error, n, trimmed + 1, "trailing spaces");
        }
        line_tokens(&mut f, n, &chars, mask);
    }
    if line_count > 0 && lines[line_count - 1].trim().is_empty() && text.ends_with('\n') && blank_run > 0 {
        f.push(RULE_EMPTY_LINES, Severity::Error, line_count, 1, "blank lines at the end of the file");
    }
    for root in &roots {
        tree_rules(&mut f, root, &lines);
    }
    f.out
}

struct Findings<'a> {
    chart: &'a str,
    file: &'a YamlFile,
    out: Vec<Diagnostic>,
}

impl Findings<'_> {
    fn push(
        &mut self,
        rule: &str,
        severity: Severity,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) {
        self.out.push(Diagnostic::new(rule, severity, self.chart, message).at(Location::at(
            &self.file.path,
            line,
            column.max(1),
        )));
    }
}

fn in_mask(mask: &[(usize, usize)], col: usize) -> bool {
    mask.iter().any(|&(s, e)| col >= s && col < e)
}

/// Comments, tabs and commas: the characters outside scalars on one line.
fn line_tokens(f: &mut Findings<'_>, n: usize, chars: &[char], mask: &[(usize, usize)]) {
    let mut content_before = false;
    for (i, &c) in chars.iter().enumerate() {
        let col = i + 1;
        if in_mask(mask, col) {
            content_before = true;
            continue;
        }
        match c {
            '#' if i == 0 || chars[i - 1].is_whitespace() => {
                comment(f, n, chars, i, content_before);
                return;
            }
            '\t' => f.push(RULE_TABS, Severity::Error, n, col, "tab character; use spaces (tabs are illegal in YAML indentation and read differently elsewhere)"),
            ',' => comma(f, n, chars, i),
            c if !c.is_whitespace() => content_before = true,
            _ => {}
        }
    }
}

fn comment(f: &mut Findings<'_>, n: usize, chars: &[char], i: usize, inline: bool) {
    if inline {
        let spaces = chars[..i].iter().rev().take_while(|c| c.is_whitespace()).count();
        if spaces < 2 {
            f.push(RULE_COMMENTS, Severity::Error, n, i + 1, "too few spaces before comment (2 needed)");
        }
    }
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    let after = chars.get(i + hashes);
    let shebang = n == 1 && i == 0 && after == Some(&'!');
    if !shebang && after.is_some_and(|c| !c.is_whitespace()) {
        f.push(RULE_COMMENTS, Severity::Error, n, i + hashes + 1, "missing space after `#` in comment");
    }
}

fn comma(f: &mut Findings<'_>, n: usize, chars: &[char], i: usize) {
    let before = chars[..i].iter().rev().take_while(|&&c| c == ' ').count();
    if before > 0 && before < i {
        f.push(RULE_COMMAS, Severity::Error, n, i + 1 - before, "space before comma");
    }
    let after = chars[i + 1..].iter().take_while(|&&c| c == ' ').count();
    let next = chars.get(i + 1 + after);
    match next {
        None | Some('#') => {}
        Some(_) if after == 0 => f.push(RULE_COMMAS, Severity::Error, n, i + 2, "missing space after comma"),
        Some(_) if after > 1 => {
            f.push(RULE_COMMAS, Severity::Error, n, i + 3, "more than one space after comma")
        }
        _ => {}
    }
}

/// Per line (0-based index), the 1-based column ranges covered by scalars.
fn masks(roots: &[&Node], lines: usize) -> Vec<Vec<(usize, usize)>> {
    let mut m = vec![Vec::new(); lines];
    let mut add = |span: &Span| {
        let (s, e) = (span.start, span.end);
        if s.line == 0 || s.line > lines {
            return;
        }
        if s.line == e.line {
            m[s.line - 1].push((s.column, e.column));
            return;
        }
        m[s.line - 1].push((s.column, usize::MAX));
        for l in s.line + 1..e.line.min(lines + 1) {
            m[l - 1].push((1, usize::MAX));
        }
        if e.line <= lines && e.column > 1 {
            m[e.line - 1].push((1, e.column));
        }
    };
    for root in roots {
        root.walk(&mut |_, node, entry| {
            if let Some(e) = entry {
                add(&e.key_span);
            }
            if !matches!(node.value, Value::Seq(_) | Value::Map(_)) {
                add(&node.span);
            }
        });
    }
    m
}

/// Rules that need the tree: colons, truthy, indentation.
fn tree_rules(f: &mut Findings<'_>, root: &Node, lines: &[&str]) {
    let mut unit: Option<usize> = None;
    if root.style == Style::Indented {
        if let Some(first) = root.entries().first() {
            if first.key_span.start.column != 1 {
                let s = first.key_span.start;
                f.push(RULE_INDENTATION, Severity::Warning, s.line, s.column, "the top level is indented");
            }
        }
    }
    root.walk(&mut |_, node, entry| {
        if let Style::Plain(raw) = &node.style {
            if crate::yaml::truthy(raw).is_some() && raw != "true" && raw != "false" {
                let s = node.span.start;
                f.push(
                    RULE_TRUTHY,
                    Severity::Warning,
                    s.line,
                    s.column,
                    format!("`{raw}` is a boolean to YAML 1.1 parsers and a string to YAML 1.2 ones; write true/false, or quote it"),
                );
            }
        }
        let Some(entry) = entry else { return };
        if let Style::Plain(raw) = &entry.key_style {
            if crate::yaml::truthy(raw).is_some() {
                let s = entry.key_span.start;
                f.push(RULE_TRUTHY, Severity::Warning, s.line, s.column, format!("key `{raw}` is a boolean to YAML 1.1 parsers; quote it"));
            }
        }
        colon(f, entry, lines);
        indentation(f, entry, &mut unit);
    });
}

fn colon(f: &mut Findings<'_>, entry: &Entry, lines: &[&str]) {
    let k = entry.key_span.end;
    let Some(line) = lines.get(k.line.wrapping_sub(1)) else { return };
    let chars: Vec<char> = line.chars().collect();
    let mut i = k.column - 1;
    let before = chars[i.min(chars.len())..].iter().take_while(|&&c| c == ' ').count();
    i += before;
    if chars.get(i) != Some(&':') {
        return;
    }
    if before > 0 {
        f.push(RULE_COLONS, Severity::Error, k.line, k.column, "space before colon");
    }
    let after = chars[i + 1..].iter().take_while(|&&c| c == ' ').count();
    let next = chars.get(i + 1 + after);
    if after > 1 && next.is_some_and(|&c| c != '#') {
        f.push(RULE_COLONS, Severity::Error, k.line, i + 3, "more than one space after colon");
    }
}

/// Consistent indentation: every nested block mapping is indented by the same
/// number of spaces as the first one in the file; a block sequence under a key
/// may be indented by that much or not at all.
fn indentation(f: &mut Findings<'_>, entry: &Entry, unit: &mut Option<usize>) {
    let child = &entry.value;
    if child.style != Style::Indented {
        return;
    }
    let parent_col = entry.key_span.start.column;
    let (col, line, is_seq) = match &child.value {
        Value::Map(entries) => match entries.first() {
            Some(first) => (first.key_span.start.column, first.key_span.start.line, false),
            None => return,
        },
        // The dash sits two columns before the item ("- item").
        Value::Seq(items) => match items.first() {
            Some(first) if first.span.start.column > 2 => {
                (first.span.start.column - 2, first.span.start.line, true)
            }
            _ => return,
        },
        _ => return,
    };
    if line == entry.key_span.start.line {
        return;
    }
    let Some(found) = col.checked_sub(parent_col) else { return };
    if is_seq && found == 0 {
        return;
    }
    match *unit {
        None if found > 0 => *unit = Some(found),
        Some(u) if found != u => f.push(
            RULE_INDENTATION,
            Severity::Warning,
            line,
            col,
            format!("indented by {found} spaces; this file indents by {u}"),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn findings(text: &str) -> Vec<(String, usize, usize)> {
        let file =
            YamlFile { path: PathBuf::from("v.yaml"), text: text.into(), parsed: crate::yaml::parse(text) };
        file_findings("c", &file)
            .into_iter()
            .map(|d| {
                let l = d.location.unwrap();
                (d.rule, l.line.unwrap(), l.column.unwrap())
            })
            .collect()
    }

    #[test]
    fn clean_yaml_has_no_findings() {
        let text = "# Top comment\nimage:\n  repository: a  # inline\n  tag: \"x, #y\"\nlist:\n  - a\n  - b\nflow: [1, 2]\nblock: |\n  text # not a comment\n\n\n\n  more,text\nenabled: true\n";
        assert_eq!(findings(text), vec![]);
    }

    #[test]
    fn each_text_rule_is_placed() {
        let f = findings("a: 1 \nb:  2\nc : 3\n#bad\nd: 4 # one space\ne: [1 ,2]\nf: yes\n\n\n\ng: 5");
        let has = |rule: &str, line: usize, col: usize| f.contains(&(rule.to_string(), line, col));
        assert!(has(RULE_TRAILING, 1, 5), "{f:?}");
        assert!(has(RULE_COLONS, 2, 4), "{f:?}");
        assert!(has(RULE_COLONS, 3, 2), "{f:?}");
        assert!(has(RULE_COMMENTS, 4, 2), "{f:?}");
        assert!(has(RULE_COMMENTS, 5, 6), "{f:?}");
        assert!(has(RULE_COMMAS, 6, 6), "{f:?}");
        assert!(has(RULE_COMMAS, 6, 8), "{f:?}");
        assert!(has(RULE_TRUTHY, 7, 4), "{f:?}");
        assert!(has(RULE_EMPTY_LINES, 10, 1), "{f:?}");
        assert!(has(RULE_FINAL_NEWLINE, 11, 5), "{f:?}");
        let f = findings("tag: \"1.37\" #close\n");
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|x| x.0 == RULE_COMMENTS), "{f:?}");
    }

    #[test]
    fn indentation_must_be_consistent() {
        let f = findings("a:\n  b:\n      c: 1\nl:\n- x\nm:\n  - y\n");
        assert_eq!(f, vec![(RULE_INDENTATION.to_string(), 3, 7)]);
    }

    #[test]
    fn tabs_crlf_and_edges() {
        let f = findings("a:\t1\r\nb: 2\r\n");
        assert!(f.iter().any(|x| x.0 == RULE_TABS), "{f:?}");
        assert!(f.iter().any(|x| x.0 == RULE_NEW_LINES), "{f:?}");
        let f = findings("\na: 1\n\n");
        assert!(f.contains(&(RULE_EMPTY_LINES.to_string(), 1, 1)), "{f:?}");
        assert!(f.contains(&(RULE_EMPTY_LINES.to_string(), 3, 1)), "{f:?}");
    }
}
