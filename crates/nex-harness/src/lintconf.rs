//! The yamllint configuration ct applies (`lint-conf` in ct.yaml), read so the
//! harness's YAML hygiene rules use the same settings as `ct lint`.
//!
//! Without a `lint-conf`, the settings are those of ct's own default
//! lintconf. yamllint rules the harness does not implement (document-start,
//! quoted-strings, …) are accepted and have no effect; `key-duplicates` is
//! always on (duplicate keys are an error: Helm's parsers disagree on them).

use crate::diag::{Diagnostic, Location, Severity};
use crate::rule::{self as registry, EVERY};
use crate::yaml::{Node, Value};
use std::path::Path;

/// `ct/lint-conf`: the yamllint configuration is unreadable or has a bad setting.
pub const RULE: registry::Rule = registry::Rule::error(
    "ct/lint-conf",
    EVERY,
    "the yamllint file named by `lint-conf` is unreadable, names an unknown rule or has a bad setting",
);
pub const RULES: &[registry::Rule] = &[RULE];

/// A rule's switch and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub enabled: bool,
    pub level: Severity,
}

impl Rule {
    const ON: Rule = Rule { enabled: true, level: Severity::Error };
    const OFF: Rule = Rule { enabled: false, level: Severity::Error };
    const WARN: Rule = Rule { enabled: true, level: Severity::Warning };
}

/// Spaces allowed inside `{}` / `[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inside {
    pub rule: Rule,
    pub min: i64,
    pub max: i64,
}

/// Indentation width: the same throughout a file, or a fixed number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spaces {
    Consistent,
    Fixed(usize),
}

/// Whether block sequences under a key are indented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndentSequences {
    Whatever,
    Yes,
    No,
    Consistent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintConf {
    pub braces: Inside,
    pub brackets: Inside,
    pub colons: (Rule, i64, i64),
    /// (rule, max spaces before, min spaces after, max spaces after)
    pub commas: (Rule, i64, i64, i64),
    /// (rule, require starting space, min spaces from content)
    pub comments: (Rule, bool, usize),
    /// (rule, max, max at start, max at end)
    pub empty_lines: (Rule, usize, usize, usize),
    pub hyphens: (Rule, i64),
    pub indentation: (Rule, Spaces, IndentSequences),
    /// (rule, max, allow non-breakable words)
    pub line_length: (Rule, usize, bool),
    pub final_newline: Rule,
    /// (rule, CR LF wanted instead of LF)
    pub new_lines: (Rule, bool),
    pub trailing_spaces: Rule,
    /// (rule, allowed spellings, check keys)
    pub truthy: (Rule, Vec<String>, bool),
}

impl Default for LintConf {
    /// ct's default lintconf.
    fn default() -> Self {
        Self {
            braces: Inside { rule: Rule::ON, min: 0, max: 0 },
            brackets: Inside { rule: Rule::ON, min: 0, max: 0 },
            colons: (Rule::ON, 0, 1),
            commas: (Rule::ON, 0, 1, 1),
            comments: (Rule::ON, true, 2),
            empty_lines: (Rule::ON, 2, 0, 0),
            hyphens: (Rule::ON, 1),
            indentation: (Rule::ON, Spaces::Consistent, IndentSequences::Whatever),
            line_length: (Rule::OFF, 80, true),
            final_newline: Rule::ON,
            new_lines: (Rule::ON, false),
            trailing_spaces: Rule::ON,
            truthy: (Rule::WARN, vec!["true".into(), "false".into()], true),
        }
    }
}

/// yamllint's rule names; those the harness does not implement are accepted as is.
const KNOWN: &[&str] = &[
    "anchors",
    "braces",
    "brackets",
    "colons",
    "commas",
    "comments",
    "comments-indentation",
    "document-end",
    "document-start",
    "empty-lines",
    "empty-values",
    "float-values",
    "hyphens",
    "indentation",
    "key-duplicates",
    "key-ordering",
    "line-length",
    "new-line-at-end-of-file",
    "new-lines",
    "octal-values",
    "quoted-strings",
    "trailing-spaces",
    "truthy",
];

impl LintConf {
    /// Reads `lint-conf` (a path relative to the catalog root); problems are
    /// findings in that file, and the settings they concern keep ct's defaults.
    pub fn load(root: &Path, lint_conf: &str) -> (Self, Vec<Diagnostic>) {
        if lint_conf.is_empty() {
            return (Self::default(), Vec::new());
        }
        let shown = Path::new(lint_conf);
        let text = match crate::fsio::read_text(&root.join(lint_conf), crate::fsio::limit::SETTINGS_FILE) {
            Ok(t) => t,
            Err(e) => {
                let d = Diagnostic::error(RULE, "", format!("cannot read the yamllint configuration: {e}"))
                    .in_file(shown)
                    .hint("fix `lint-conf` in ct.yaml");
                return (Self::default(), vec![d]);
            }
        };
        let (conf, problems) = Self::parse(&text);
        let diags = problems
            .into_iter()
            .map(|(line, column, message)| {
                Diagnostic::error(RULE, "", message).at(Location::at(shown, line.max(1), column.max(1)))
            })
            .collect();
        (conf, diags)
    }

    /// Parses a yamllint configuration; problems come back with their line and column.
    pub fn parse(text: &str) -> (Self, Vec<(usize, usize, String)>) {
        let mut conf = Self::default();
        let mut problems = Vec::new();
        let root = match crate::yaml::parse(text) {
            Ok(y) => y.docs.into_iter().next(),
            Err(e) => {
                problems.push((e.line, e.column, format!("YAML syntax error: {}", e.message)));
                return (conf, problems);
            }
        };
        let Some(rules) = root.as_ref().and_then(|r| r.get("rules")) else { return (conf, problems) };
        for e in rules.entries() {
            let at = (e.key_span.start.line, e.key_span.start.column);
            if !KNOWN.contains(&e.key.as_str()) {
                problems.push((at.0, at.1, format!("`{}` is not a yamllint rule", e.key)));
                continue;
            }
            if let Err((node, msg)) = conf.apply(&e.key, &e.value) {
                let s = node.map_or(at, |n: &Node| (n.span.start.line, n.span.start.column));
                problems.push((s.0, s.1, msg));
            }
        }
        (conf, problems)
    }

    fn apply<'n>(&mut self, name: &str, v: &'n Node) -> Result<(), (Option<&'n Node>, String)> {
        let rule = rule_of(v)?;
        let int = |key: &str, default: i64| -> Result<i64, (Option<&'n Node>, String)> {
            match v.get(key) {
                None => Ok(default),
                Some(Node { value: Value::Int(i), .. }) => Ok(*i),
                Some(n) => Err((Some(n), format!("`{key}` must be an integer"))),
            }
        };
        let boolean = |key: &str, default: bool| -> Result<bool, (Option<&'n Node>, String)> {
            match v.get(key) {
                None => Ok(default),
                Some(Node { value: Value::Bool(b), .. }) => Ok(*b),
                Some(n) => Err((Some(n), format!("`{key}` must be true or false"))),
            }
        };
        let count = |i: i64| usize::try_from(i).unwrap_or(0);
        match name {
            "braces" => {
                let b = self.braces;
                self.braces = Inside {
                    rule,
                    min: int("min-spaces-inside", b.min)?,
                    max: int("max-spaces-inside", b.max)?,
                };
            }
            "brackets" => {
                let b = self.brackets;
                self.brackets = Inside {
                    rule,
                    min: int("min-spaces-inside", b.min)?,
                    max: int("max-spaces-inside", b.max)?,
                };
            }
            "colons" => {
                let c = self.colons;
                self.colons = (rule, int("max-spaces-before", c.1)?, int("max-spaces-after", c.2)?);
            }
            "commas" => {
                let c = self.commas;
                self.commas = (
                    rule,
                    int("max-spaces-before", c.1)?,
                    int("min-spaces-after", c.2)?,
                    int("max-spaces-after", c.3)?,
                );
            }
            "comments" => {
                let c = self.comments;
                self.comments = (
                    rule,
                    boolean("require-starting-space", c.1)?,
                    count(int("min-spaces-from-content", c.2 as i64)?),
                );
            }
            "empty-lines" => {
                let c = self.empty_lines;
                self.empty_lines = (
                    rule,
                    count(int("max", c.1 as i64)?),
                    count(int("max-start", c.2 as i64)?),
                    count(int("max-end", c.3 as i64)?),
                );
            }
            "hyphens" => self.hyphens = (rule, int("max-spaces-after", self.hyphens.1)?),
            "indentation" => {
                let spaces = match v.get("spaces") {
                    None => self.indentation.1,
                    Some(Node { value: Value::Int(n), .. }) if *n > 0 => Spaces::Fixed(*n as usize),
                    Some(n) if n.as_str() == Some("consistent") => Spaces::Consistent,
                    Some(n) => return Err((Some(n), "`spaces` must be a number or `consistent`".into())),
                };
                let seqs = match v.get("indent-sequences") {
                    None => self.indentation.2,
                    Some(Node { value: Value::Bool(true), .. }) => IndentSequences::Yes,
                    Some(Node { value: Value::Bool(false), .. }) => IndentSequences::No,
                    Some(n) if n.as_str() == Some("whatever") => IndentSequences::Whatever,
                    Some(n) if n.as_str() == Some("consistent") => IndentSequences::Consistent,
                    Some(n) => {
                        return Err((
                            Some(n),
                            "`indent-sequences` must be true, false, whatever or consistent".into(),
                        ));
                    }
                };
                self.indentation = (rule, spaces, seqs);
            }
            "line-length" => {
                let l = self.line_length;
                self.line_length =
                    (rule, count(int("max", l.1 as i64)?), boolean("allow-non-breakable-words", l.2)?);
            }
            "new-line-at-end-of-file" => self.final_newline = rule,
            "new-lines" => {
                let dos = match v.get("type").and_then(Node::as_str) {
                    None | Some("unix") | Some("platform") => false,
                    Some("dos") => true,
                    Some(_) => return Err((v.get("type"), "`type` must be unix, dos or platform".into())),
                };
                self.new_lines = (rule, dos);
            }
            "trailing-spaces" => self.trailing_spaces = rule,
            "truthy" => {
                let allowed = match v.get("allowed-values") {
                    None => self.truthy.1.clone(),
                    Some(Node { value: Value::Seq(items), .. }) => {
                        items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect()
                    }
                    Some(n) => return Err((Some(n), "`allowed-values` must be a list".into())),
                };
                self.truthy = (rule, allowed, boolean("check-keys", self.truthy.2)?);
            }
            // Known to yamllint, not implemented here (key-duplicates is always on).
            _ => {}
        }
        Ok(())
    }
}

/// `enable`, `disable`, or a map of options with an optional `level`.
fn rule_of(v: &Node) -> Result<Rule, (Option<&Node>, String)> {
    match &v.value {
        Value::Str(s) if s == "enable" => Ok(Rule::ON),
        Value::Str(s) if s == "disable" => Ok(Rule::OFF),
        Value::Map(_) => match v.get("level").map(|l| (l, l.as_str())) {
            None => Ok(Rule::ON),
            Some((_, Some("error"))) => Ok(Rule::ON),
            Some((_, Some("warning"))) => Ok(Rule::WARN),
            Some((l, _)) => Err((Some(l), "`level` must be error or warning".into())),
        },
        _ => Err((Some(v), "a rule is `enable`, `disable` or a map of its options".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_defaults_without_a_file() {
        let (c, d) = LintConf::load(Path::new("."), "");
        assert!(d.is_empty());
        assert_eq!(c.comments.2, 2);
        assert!(!c.line_length.0.enabled);
        assert_eq!(c.truthy.0.level, Severity::Warning);
    }

    #[test]
    fn settings_levels_and_switches_are_read() {
        let (c, p) = LintConf::parse(
            "rules:\n  comments:\n    min-spaces-from-content: 1\n  line-length:\n    max: 140\n    level: warning\n  truthy:\n    allowed-values: ['true', 'false', 'on']\n    check-keys: false\n  trailing-spaces: disable\n  indentation:\n    spaces: 2\n  document-start: disable\n",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(c.comments.2, 1);
        assert_eq!(c.line_length, (Rule::WARN, 140, true));
        assert_eq!(c.truthy.1, ["true", "false", "on"]);
        assert!(!c.truthy.2);
        assert!(!c.trailing_spaces.enabled);
        assert_eq!(c.indentation.1, Spaces::Fixed(2));
    }

    #[test]
    fn bad_settings_are_placed() {
        let (_, p) = LintConf::parse(
            "rules:\n  colon: enable\n  commas:\n    max-spaces-after: many\n  hyphens: on\n",
        );
        let places: Vec<(usize, usize)> = p.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(places, [(2, 3), (4, 23), (5, 12)], "{p:?}");
    }
}
