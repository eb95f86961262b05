//! YAML hygiene over Chart.yaml, values.yaml and the ci files: what ct's
//! yamllint configuration (`lint-conf` in ct.yaml, else ct's default) catches,
//! without Python, reporting every finding (yamllint stops ct at the first
//! failing chart).
//!
//! Text rules run line by line; scalar contents (quoted strings, block
//! scalars) are masked out using the parser's spans, so a `#` or `,` inside a
//! string is never mistaken for a comment or a separator.
//! Off when ct.yaml sets `validate-yaml: false`.

use crate::diag::{Diagnostic, Location, Severity};
use crate::files::YamlFile;
use crate::lintconf::{IndentSequences, Inside, LintConf, Rule, Spaces};
use crate::load::LoadedChart;
use crate::rule::{self as registry, EVERY};
use crate::yaml::{Entry, Node, Span, Style, Value};

pub const RULE_TABS: registry::Rule =
    registry::Rule::error("yaml/tabs", EVERY, "a tab character outside strings");
pub const RULE_TRAILING: registry::Rule =
    registry::Rule::error("yaml/trailing-spaces", EVERY, "spaces at the end of a line");
pub const RULE_FINAL_NEWLINE: registry::Rule =
    registry::Rule::error("yaml/final-newline", EVERY, "no new line at the end of the file");
pub const RULE_NEW_LINES: registry::Rule = registry::Rule::error(
    "yaml/new-lines",
    EVERY,
    "CR LF line ends; a lone CR (a line break to YAML, not to editors) is always an error",
);
pub const RULE_EMPTY_LINES: registry::Rule = registry::Rule::error(
    "yaml/empty-lines",
    EVERY,
    "more than two blank lines in a row, or blank lines at the start or end",
);
pub const RULE_INDENTATION: registry::Rule = registry::Rule::error(
    "yaml/indentation",
    EVERY,
    "nesting indented unlike the rest of the file (or than `indentation.spaces`), or sequences indented against `indent-sequences`",
);
pub const RULE_COMMENTS: registry::Rule = registry::Rule::error(
    "yaml/comments",
    EVERY,
    "`#comment` without a space, or an inline comment less than two spaces after content",
);
pub const RULE_COLONS: registry::Rule =
    registry::Rule::error("yaml/colons", EVERY, "a space before `:`, or more than one after");
pub const RULE_COMMAS: registry::Rule =
    registry::Rule::error("yaml/commas", EVERY, "a space before `,`, or not exactly one after");
pub const RULE_TRUTHY: registry::Rule = registry::Rule::warning(
    "yaml/truthy",
    EVERY,
    "YAML 1.1 booleans (`yes`, `no`, `on`, `off`…) that YAML 1.2 reads as strings",
);
pub const RULE_BRACES: registry::Rule =
    registry::Rule::error("yaml/braces", EVERY, "spaces inside `{ }` outside the configured range");
pub const RULE_BRACKETS: registry::Rule =
    registry::Rule::error("yaml/brackets", EVERY, "spaces inside `[ ]` outside the configured range");
pub const RULE_HYPHENS: registry::Rule =
    registry::Rule::error("yaml/hyphens", EVERY, "more than one space after a sequence's `-`");
pub const RULE_LINE_LENGTH: registry::Rule = registry::Rule::error(
    "yaml/line-length",
    EVERY,
    "a line longer than `line-length.max` (off unless `lint-conf` turns it on; a single long word may overflow)",
);
/// `yaml/documents`: more than one YAML document where helm reads only the first.
pub const RULE_DOCUMENTS: registry::Rule = registry::Rule::error(
    "yaml/documents",
    EVERY,
    "Chart.yaml or a values file holds a second YAML document (helm reads only the first)",
);
pub const RULES: &[registry::Rule] = &[
    RULE_TABS,
    RULE_TRAILING,
    RULE_FINAL_NEWLINE,
    RULE_NEW_LINES,
    RULE_EMPTY_LINES,
    RULE_INDENTATION,
    RULE_COMMENTS,
    RULE_COLONS,
    RULE_COMMAS,
    RULE_TRUTHY,
    RULE_BRACES,
    RULE_BRACKETS,
    RULE_HYPHENS,
    RULE_LINE_LENGTH,
    RULE_DOCUMENTS,
];

/// Tabs are not a yamllint rule (YAML forbids them in indentation); always an error.
const TABS: Rule = Rule { enabled: true, level: Severity::Error };
/// Always on: a lone CR shifts every position after it.
const LONE_CR: Rule = Rule { enabled: true, level: Severity::Error };
/// Always on, like duplicate keys: helm silently drops every document after the first.
const DOCUMENTS: Rule = Rule { enabled: true, level: Severity::Error };

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
            out.extend(file_findings(&loaded.chart.name, file, &loaded.settings.yamllint));
        }
    }
    out
}

/// Every hygiene finding in one file.
pub fn file_findings(chart: &str, file: &YamlFile, conf: &LintConf) -> Vec<Diagnostic> {
    let mut f = Findings { chart, file, conf, out: Vec::new() };
    let text = file.text.as_str();
    if text.is_empty() {
        return f.out;
    }
    let mut roots: Vec<&Node> = file.parsed.as_ref().map(|y| y.docs.iter().collect()).unwrap_or_default();
    let lines: Vec<&str> = text.split('\n').collect();
    // A CR not followed by LF ends a line for YAML but not for editors, diffs or
    // these rules, so positions from the parse would point at the wrong lines
    // (found by fuzzing): say so, and leave out the rules that rely on them.
    let lone_cr = lines.iter().enumerate().find_map(|(i, l)| {
        let body = l.strip_suffix('\r').unwrap_or(l);
        body.chars().position(|c| c == '\r').map(|col| (i + 1, col + 1))
    });
    if let Some((line, column)) = lone_cr {
        f.push(
            RULE_NEW_LINES,
            LONE_CR,
            line,
            column,
            "a carriage return (CR) without LF: YAML reads it as a line break, editors and diffs do not; use LF",
        );
        roots.clear();
    }
    // `split` leaves an empty last element after the final newline.
    let line_count = if text.ends_with('\n') { lines.len() - 1 } else { lines.len() };
    let masks = masks(&roots, line_count);

    let (nl_rule, dos) = conf.new_lines;
    let wrong_end = |l: &&str| if dos { !l.ends_with('\r') } else { l.ends_with('\r') };
    if let Some(i) = lines.iter().take(line_count).position(wrong_end) {
        let msg = if dos {
            "line ends with LF; this catalog uses CR LF"
        } else {
            "line ends with CR LF; use Unix new lines (LF)"
        };
        f.push(RULE_NEW_LINES, nl_rule, i + 1, lines[i].chars().count().max(1), msg);
    }
    if !text.ends_with('\n') {
        let last = lines[line_count - 1];
        f.push(
            RULE_FINAL_NEWLINE,
            conf.final_newline,
            line_count,
            last.chars().count() + 1,
            "no new line at the end of the file",
        );
    }
    // As yamllint: a run of empty lines (nothing at all on them, block scalars
    // included) longer than allowed is reported once, at its last line.
    let (el_rule, max, max_start, max_end) = conf.empty_lines;
    let empty = |i: usize| lines[i].strip_suffix('\r').unwrap_or(lines[i]).is_empty();
    let mut i = 0;
    while i < line_count {
        if !empty(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line_count && empty(i) {
            i += 1;
        }
        let run = i - start;
        let (limit, message) = if start == 0 {
            (max_start, format!("more than {max_start} blank lines at the start of the file"))
        } else if i == line_count {
            (max_end, format!("more than {max_end} blank lines at the end of the file"))
        } else {
            (max, format!("more than {max} blank lines"))
        };
        // yamllint leaves a file that is one empty line alone.
        if run > limit && !(start == 0 && i == line_count && line_count == 1) {
            f.push(RULE_EMPTY_LINES, el_rule, i, 1, message);
        }
    }
    for (i, raw) in lines.iter().take(line_count).enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let mask = &masks[i];
        // yamllint reads trailing white space on every line, inside block scalars too.
        let chars: Vec<char> = line.chars().collect();
        let trimmed = chars.iter().rposition(|c| !matches!(c, ' ' | '\t')).map_or(0, |p| p + 1);
        if trimmed < chars.len() {
            f.push(RULE_TRAILING, conf.trailing_spaces, n, trimmed + 1, "trailing spaces");
        }
        line_length(&mut f, n, &chars);
        line_tokens(&mut f, n, &chars, mask);
    }
    for root in &roots {
        tree_rules(&mut f, root, &lines);
    }
    if let Some(second) = roots.get(1) {
        f.push(
            RULE_DOCUMENTS,
            DOCUMENTS,
            second.span.start.line,
            second.span.start.column,
            "a second YAML document; helm reads only the first, so everything from here on is ignored",
        );
    }
    f.out
}

struct Findings<'a> {
    chart: &'a str,
    file: &'a YamlFile,
    conf: &'a LintConf,
    out: Vec<Diagnostic>,
}

impl Findings<'_> {
    fn push(
        &mut self,
        rule: registry::Rule,
        switch: Rule,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) {
        if !switch.enabled {
            return;
        }
        self.out.push(Diagnostic::new(rule, switch.level, self.chart, message).at(Location::at(
            &self.file.path,
            line,
            column.max(1),
        )));
    }
}

/// A yamllint maximum; a negative one means no limit.
fn over(count: usize, max: i64) -> bool {
    max >= 0 && count as i64 > max
}

fn in_mask(mask: &[(usize, usize)], col: usize) -> bool {
    mask.iter().any(|&(s, e)| col >= s && col < e)
}

fn line_length(f: &mut Findings<'_>, n: usize, chars: &[char]) {
    let (rule, max, non_breakable) = f.conf.line_length;
    if !rule.enabled || chars.len() <= max {
        return;
    }
    if non_breakable {
        // A single long word (a URL), after indentation and a `- ` or `# `, may stay.
        let s: String = chars.iter().collect();
        let rest = s.trim_start().trim_start_matches(['-', '#']).trim_start();
        if !rest.contains(char::is_whitespace) {
            return;
        }
    }
    f.push(RULE_LINE_LENGTH, rule, n, max + 1, format!("line is {} characters, over {max}", chars.len()));
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
            '\t' => f.push(
                RULE_TABS,
                TABS,
                n,
                col,
                "tab character; use spaces (tabs are illegal in YAML indentation and read differently elsewhere)",
            ),
            ',' => comma(f, n, chars, i),
            c if !c.is_whitespace() => content_before = true,
            _ => {}
        }
    }
}

fn comment(f: &mut Findings<'_>, n: usize, chars: &[char], i: usize, inline: bool) {
    let (rule, starting_space, min_from_content) = f.conf.comments;
    if inline {
        let spaces = chars[..i].iter().rev().take_while(|c| c.is_whitespace()).count();
        if spaces < min_from_content {
            f.push(
                RULE_COMMENTS,
                rule,
                n,
                i + 1,
                format!("too few spaces before comment ({min_from_content} needed)"),
            );
        }
    }
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    let after = chars.get(i + hashes);
    let shebang = n == 1 && i == 0 && after == Some(&'!');
    if starting_space && !shebang && after.is_some_and(|c| !c.is_whitespace()) {
        f.push(RULE_COMMENTS, rule, n, i + hashes + 1, "missing space after `#` in comment");
    }
}

fn comma(f: &mut Findings<'_>, n: usize, chars: &[char], i: usize) {
    let (rule, max_before, min_after, max_after) = f.conf.commas;
    let before = chars[..i].iter().rev().take_while(|&&c| c == ' ').count();
    if before > 0 && before < i && over(before, max_before) {
        f.push(RULE_COMMAS, rule, n, i + 1 - before, "too many spaces before comma");
    }
    let after = chars[i + 1..].iter().take_while(|&&c| c == ' ').count();
    match chars.get(i + 1 + after) {
        None | Some('#') => {}
        Some(_) if (after as i64) < min_after => {
            f.push(RULE_COMMAS, rule, n, i + 2, "too few spaces after comma")
        }
        Some(_) if over(after, max_after) => {
            f.push(RULE_COMMAS, rule, n, i + 3, "too many spaces after comma")
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

/// The indentation unit (and sequence style) a file has shown so far.
#[derive(Default)]
struct Indent {
    unit: Option<usize>,
    sequences_indented: Option<bool>,
}

/// Rules that need the tree: colons, truthy, indentation, braces, brackets, hyphens.
fn tree_rules(f: &mut Findings<'_>, root: &Node, lines: &[&str]) {
    let mut indent = Indent::default();
    if let Spaces::Fixed(n) = f.conf.indentation.1 {
        indent.unit = Some(n);
    }
    if root.style == Style::Indented
        && let Some(first) = root.entries().first()
        && first.key_span.start.column != 1
    {
        let s = first.key_span.start;
        f.push(RULE_INDENTATION, f.conf.indentation.0, s.line, s.column, "the top level is indented");
    }
    let chars: Vec<Vec<char>> = lines.iter().map(|l| l.chars().collect()).collect();
    flow_and_hyphens(f, root, &chars);
    root.walk(&mut |_, node, entry| {
        let (truthy, allowed, check_keys) = f.conf.truthy.clone();
        if let Style::Plain(raw) = &node.style
            && crate::yaml::truthy(raw).is_some()
            && !allowed.contains(raw)
        {
            let s = node.span.start;
            f.push(
                RULE_TRUTHY,
                truthy,
                s.line,
                s.column,
                format!("`{raw}` is a boolean to YAML 1.1 parsers and a string to YAML 1.2 ones; write true/false, or quote it"),
            );
        }
        let Some(entry) = entry else { return };
        if check_keys
            && let Style::Plain(raw) = &entry.key_style
            && crate::yaml::truthy(raw).is_some()
            && !allowed.contains(raw)
        {
            let s = entry.key_span.start;
            f.push(RULE_TRUTHY, truthy, s.line, s.column, format!("key `{raw}` is a boolean to YAML 1.1 parsers; quote it"));
        }
        colon(f, entry, &chars);
        indentation(f, entry, &mut indent);
    });
}

fn colon(f: &mut Findings<'_>, entry: &Entry, lines: &[Vec<char>]) {
    let (rule, max_before, max_after) = f.conf.colons;
    let k = entry.key_span.end;
    let Some(chars) = lines.get(k.line.wrapping_sub(1)) else { return };
    let mut i = k.column - 1;
    let before = chars[i.min(chars.len())..].iter().take_while(|&&c| c == ' ').count();
    i += before;
    if chars.get(i) != Some(&':') {
        return;
    }
    if over(before, max_before) {
        f.push(RULE_COLONS, rule, k.line, k.column, "too many spaces before colon");
    }
    let after = chars[i + 1..].iter().take_while(|&&c| c == ' ').count();
    let next = chars.get(i + 1 + after);
    if over(after, max_after) && next.is_some_and(|&c| c != '#') {
        f.push(RULE_COLONS, rule, k.line, i + 3, "too many spaces after colon");
    }
}

/// Spaces inside `{}` and `[]`, and after the `-` of block sequence items.
fn flow_and_hyphens(f: &mut Findings<'_>, root: &Node, lines: &[Vec<char>]) {
    let mut todo = vec![root];
    while let Some(node) = todo.pop() {
        match &node.value {
            Value::Map(entries) => {
                if node.style == Style::Flow {
                    inside(f, node, lines, '{', f.conf.braces, RULE_BRACES, "braces");
                }
                todo.extend(entries.iter().map(|e| &e.value));
            }
            Value::Seq(items) => {
                if node.style == Style::Flow {
                    inside(f, node, lines, '[', f.conf.brackets, RULE_BRACKETS, "brackets");
                } else {
                    for item in items {
                        hyphen(f, item, lines);
                    }
                }
                todo.extend(items.iter());
            }
            _ => {}
        }
    }
}

fn inside(
    f: &mut Findings<'_>,
    node: &Node,
    lines: &[Vec<char>],
    open: char,
    conf: Inside,
    rule: registry::Rule,
    what: &str,
) {
    let (s, e) = (node.span.start, node.span.end);
    let (Some(first), Some(last)) = (lines.get(s.line.wrapping_sub(1)), lines.get(e.line.wrapping_sub(1)))
    else {
        return;
    };
    let Some(o) = first.iter().skip(s.column - 1).position(|&c| c == open).map(|p| p + s.column - 1) else {
        return;
    };
    // The closing bracket, found by scanning (the parser's span may end past it,
    // at a comment or the next token): nesting counted, quoted text skipped.
    let close = if open == '{' { '}' } else { ']' };
    let (e, c) = match closing(lines, s.line - 1, o, open, close) {
        Some((line, col)) => (crate::yaml::Pos { line: line + 1, column: col + 2 }, col),
        None => (e, e.column.wrapping_sub(2)),
    };
    let last = lines.get(e.line.wrapping_sub(1)).unwrap_or(last);
    let after = first[o + 1..].iter().take_while(|&&x| x == ' ').count();
    if s.line == e.line && o + 1 + after == c {
        return; // empty: `{}` or `[ ]`
    }
    if o + 1 + after < first.len() {
        if (after as i64) < conf.min {
            f.push(rule, conf.rule, s.line, o + 2, format!("too few spaces inside {what}"));
        } else if over(after, conf.max) {
            f.push(rule, conf.rule, s.line, o + 2, format!("too many spaces inside {what}"));
        }
    }
    if c < last.len() {
        let before = last[..c].iter().rev().take_while(|&&x| x == ' ').count();
        if before < c {
            if (before as i64) < conf.min {
                f.push(rule, conf.rule, e.line, c + 1, format!("too few spaces inside {what}"));
            } else if over(before, conf.max) {
                f.push(rule, conf.rule, e.line, c + 1 - before, format!("too many spaces inside {what}"));
            }
        }
    }
}

/// The line and column (0-based) of the bracket closing the one at `lines[line][col]`.
fn closing(lines: &[Vec<char>], line: usize, col: usize, open: char, close: char) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (l, chars) in lines.iter().enumerate().skip(line) {
        let start = if l == line { col } else { 0 };
        let mut i = start;
        while i < chars.len() {
            let ch = chars[i];
            match quote {
                Some('\'') if ch == '\'' && chars.get(i + 1) == Some(&'\'') => i += 1,
                Some('"') if ch == '\\' => i += 1,
                Some(q) if ch == q => quote = None,
                Some(_) => {}
                None if ch == '"' || ch == '\'' => quote = Some(ch),
                // A comment ends the line's flow content.
                None if ch == '#' && i > 0 && chars[i - 1] == ' ' => break,
                None if ch == open => depth += 1,
                None if ch == close => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some((l, i));
                    }
                }
                None => {}
            }
            i += 1;
        }
    }
    None
}

fn hyphen(f: &mut Findings<'_>, item: &Node, lines: &[Vec<char>]) {
    let (rule, max) = f.conf.hyphens;
    let s = item.span.start;
    let Some(chars) = lines.get(s.line.wrapping_sub(1)) else { return };
    let start = (s.column - 1).min(chars.len());
    let spaces = chars[..start].iter().rev().take_while(|&&c| c == ' ').count();
    if spaces == 0 || start < spaces + 1 || chars[start - spaces - 1] != '-' {
        return;
    }
    if over(spaces, max) {
        f.push(RULE_HYPHENS, rule, s.line, start - spaces + 2, "too many spaces after hyphen");
    }
}

/// Indentation: nested block mappings are indented by the file's unit (the
/// first one seen, or `indentation.spaces`); a block sequence under a key by
/// that much or not at all, as `indent-sequences` says.
fn indentation(f: &mut Findings<'_>, entry: &Entry, indent: &mut Indent) {
    let (rule, _, seqs) = f.conf.indentation;
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
    if is_seq {
        let indented = found > 0;
        let ok = match seqs {
            IndentSequences::Whatever => true,
            IndentSequences::Yes => indented,
            IndentSequences::No => !indented,
            IndentSequences::Consistent => *indent.sequences_indented.get_or_insert(indented) == indented,
        };
        if !ok {
            let want = if indented { "not indented" } else { "indented" };
            f.push(RULE_INDENTATION, rule, line, col, format!("sequence should be {want} under its key"));
            return;
        }
        if !indented {
            return;
        }
    }
    match indent.unit {
        None if found > 0 => indent.unit = Some(found),
        Some(u) if found != u => f.push(
            RULE_INDENTATION,
            rule,
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
        file_findings("c", &file, &LintConf::default())
            .into_iter()
            .map(|d| {
                let l = d.location.unwrap();
                (d.rule, l.line.unwrap(), l.column.unwrap())
            })
            .collect()
    }

    #[test]
    fn clean_yaml_has_no_findings() {
        let text = "# Top comment\nimage:\n  repository: a  # inline\n  tag: \"x, #y\"\nlist:\n  - a\n  - b\nflow: [1, 2]\nblock: |\n  text # not a comment\n\n\n  more,text\nenabled: true\n";
        assert_eq!(findings(text), vec![]);
    }

    #[test]
    fn each_text_rule_is_placed() {
        let f = findings("a: 1 \nb:  2\nc : 3\n#bad\nd: 4 # one space\ne: [1 ,2]\nf: yes\n\n\n\ng: 5");
        let has =
            |rule: registry::Rule, line: usize, col: usize| f.contains(&(rule.id.to_string(), line, col));
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
    fn braces_brackets_hyphens_and_line_length() {
        let f = findings("a: { b: 1}\nc: [ 1, 2 ]\nd: {}\ne: [ ]\nl:\n  -   x\n  - y\n");
        let has =
            |rule: registry::Rule, line: usize, col: usize| f.contains(&(rule.id.to_string(), line, col));
        assert!(has(RULE_BRACES, 1, 5), "{f:?}");
        assert!(has(RULE_BRACKETS, 2, 5), "{f:?}");
        assert!(has(RULE_BRACKETS, 2, 10), "{f:?}");
        assert!(has(RULE_HYPHENS, 6, 5), "{f:?}");
        assert_eq!(f.len(), 4, "{f:?}");
        // line-length is off in ct's defaults; on, a long word (a URL) may stay.
        let (conf, _) = LintConf::parse("rules:\n  line-length:\n    max: 20\n");
        let text =
            format!("a: {}\n# http://example.org/{}\nb: 1\n", "word ".repeat(6).trim_end(), "x".repeat(30));
        let file =
            YamlFile { path: PathBuf::from("v.yaml"), text: text.clone(), parsed: crate::yaml::parse(&text) };
        let d = file_findings("c", &file, &conf);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].rule, RULE_LINE_LENGTH);
    }

    #[test]
    fn lint_conf_settings_change_the_rules() {
        let text = "a: 1 # one space\nb: on\n";
        let file =
            YamlFile { path: PathBuf::from("v.yaml"), text: text.into(), parsed: crate::yaml::parse(text) };
        assert_eq!(file_findings("c", &file, &LintConf::default()).len(), 2);
        let (conf, _) = LintConf::parse(
            "rules:\n  comments:\n    min-spaces-from-content: 1\n  truthy:\n    level: error\n    allowed-values: ['true', 'false', 'on']\n",
        );
        assert!(file_findings("c", &file, &conf).is_empty());
        let (conf, _) = LintConf::parse("rules:\n  truthy:\n    level: error\n");
        let d = file_findings("c", &file, &conf);
        assert!(d.iter().any(|d| d.rule == RULE_TRUTHY && d.severity == Severity::Error), "{d:?}");
    }

    #[test]
    fn indentation_must_be_consistent() {
        let f = findings("a:\n  b:\n      c: 1\nl:\n- x\nm:\n  - y\n");
        assert_eq!(f, vec![(RULE_INDENTATION.to_string(), 3, 7)]);
    }

    #[test]
    fn no_prefix_of_a_tricky_file_panics() {
        let text = "# c\na: &x {b: \"q\\\"#\", c: 'it''s' , d: [1,2 ]}\ne: *x\nf:\n  <<: *x\n  g: |\n    block # x\n\n  h: >-\n    folded\n? complex\n: value\nlist:\n- a: 1\n  b: yes\n-   c\n\t\r\n\"multi\n  line\": 1 #x\n";
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = findings(&text[..end]);
        }
    }

    #[test]
    fn tabs_crlf_and_edges() {
        let f = findings("a: 1\rb:\r    c: 2\n");
        assert_eq!(
            f,
            vec![(RULE_NEW_LINES.to_string(), 1, 5)],
            "a lone CR, and no rule on shifted positions"
        );
        let f = findings("a:\t1\r\nb: 2\r\n");
        assert!(f.iter().any(|x| x.0 == RULE_TABS), "{f:?}");
        assert!(f.iter().any(|x| x.0 == RULE_NEW_LINES), "{f:?}");
        let f = findings("\na: 1\n\n");
        assert!(f.contains(&(RULE_EMPTY_LINES.to_string(), 1, 1)), "{f:?}");
        assert!(f.contains(&(RULE_EMPTY_LINES.to_string(), 3, 1)), "{f:?}");
    }
}
