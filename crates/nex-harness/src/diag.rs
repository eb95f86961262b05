//! Diagnostics: the one language every check speaks and the reporter prints.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a file. Paths are kept as given (relative to the working
/// directory when discovered from `ct.yaml`), so editors and GitHub can open them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based; `None` when the problem concerns the whole file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Location {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Self { file: file.into(), line: None, column: None }
    }

    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Self { file: file.into(), line: Some(line), column: Some(column) }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Stable rule id, `area/name` (for example `values/schema`).
    pub rule: String,
    pub severity: Severity,
    /// The chart the finding belongs to (its name), or empty for catalog-wide findings.
    pub chart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Scenarios (`default`, or a `ci/*-values.yaml` stem) the finding was seen in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
    /// Set when a declared chart exception allows this finding: the reason given.
    /// Allowed findings are shown but never fail the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<String>,
}

impl Diagnostic {
    /// `rule` is a [`crate::rule::Rule`] (or its id).
    pub fn new(rule: impl AsRef<str>, severity: Severity, chart: &str, message: impl Into<String>) -> Self {
        Self {
            rule: rule.as_ref().to_owned(),
            severity,
            chart: chart.to_owned(),
            location: None,
            message: message.into(),
            hint: None,
            scenarios: Vec::new(),
            allowed: None,
        }
    }

    pub fn error(rule: impl AsRef<str>, chart: &str, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Error, chart, message)
    }

    pub fn warning(rule: impl AsRef<str>, chart: &str, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Warning, chart, message)
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn in_file(self, file: &Path) -> Self {
        self.at(Location::file(file))
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn scenario(mut self, scenario: &str) -> Self {
        self.scenarios.push(scenario.to_owned());
        self
    }

    /// True when this finding fails the run.
    pub fn is_failing(&self) -> bool {
        self.severity == Severity::Error && self.allowed.is_none()
    }
}

/// Sort for stable output and merge findings that differ only in the scenario
/// they were seen in (one chart-wide problem shows once, naming its scenarios).
/// Paths under `root` (the repository) written relative to it, in locations
/// and in the text of messages and hints (helm quotes the paths it was given),
/// so reports and GitHub annotations name files as the repository does.
pub fn relative_to(mut diags: Vec<Diagnostic>, root: &std::path::Path) -> Vec<Diagnostic> {
    let mut roots = vec![root.to_path_buf()];
    if let Ok(canonical) = root.canonicalize()
        && canonical != root
    {
        roots.push(canonical);
    }
    let prefixes: Vec<String> = roots.iter().map(|r| format!("{}/", r.display())).collect();
    let strip = |text: &mut String| {
        for p in &prefixes {
            if text.contains(p.as_str()) {
                *text = text.replace(p.as_str(), "");
            }
        }
    };
    for d in &mut diags {
        if let Some(loc) = d.location.as_mut()
            && let Some(rel) = roots.iter().find_map(|r| loc.file.strip_prefix(r).ok())
        {
            loc.file = rel.to_path_buf();
        }
        strip(&mut d.message);
        if let Some(h) = d.hint.as_mut() {
            strip(h);
        }
    }
    diags
}

pub fn normalize(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by(|a, b| {
        (&a.chart, &a.location, &a.rule, &a.message, &a.allowed).cmp(&(
            &b.chart,
            &b.location,
            &b.rule,
            &b.message,
            &b.allowed,
        ))
    });
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for d in diags {
        if let Some(last) = out.last_mut()
            && last.chart == d.chart
                && last.location == d.location
                && last.rule == d.rule
                && last.message == d.message
                && last.severity == d.severity
                // An exception may hold in some scenarios only: keep those apart.
                && last.allowed == d.allowed
        {
            for s in d.scenarios {
                if !last.scenarios.contains(&s) {
                    last.scenarios.push(s);
                }
            }
            continue;
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_root_are_made_relative() {
        let root = std::path::Path::new("/repo");
        let d = Diagnostic::error("helm/lint", "c", "[ERROR] /repo/charts/c/templates/a.yaml: boom")
            .in_file(std::path::Path::new("/repo/charts/c/templates/a.yaml"))
            .hint("see /repo/charts/c/values.yaml and /elsewhere/x");
        let d = &relative_to(vec![d], root)[0];
        assert_eq!(d.location.as_ref().unwrap().file, std::path::Path::new("charts/c/templates/a.yaml"));
        assert_eq!(d.message, "[ERROR] charts/c/templates/a.yaml: boom");
        assert_eq!(d.hint.as_deref(), Some("see charts/c/values.yaml and /elsewhere/x"));
    }

    #[test]
    fn normalize_merges_scenarios_of_the_same_finding() {
        let a = Diagnostic::error("helm/lint", "c", "boom").scenario("default");
        let b = Diagnostic::error("helm/lint", "c", "boom").scenario("tls");
        let c = Diagnostic::warning("helm/lint", "c", "other").scenario("tls");
        let out = normalize(vec![a, c, b]);
        assert_eq!(out.len(), 2);
        let boom = out.iter().find(|d| d.message == "boom").unwrap();
        assert_eq!(boom.scenarios, vec!["default", "tls"]);
    }

    #[test]
    fn normalize_keeps_allowed_and_failing_scenarios_apart() {
        let mut a = Diagnostic::error("pss/host-namespaces", "c", "x").scenario("host-network");
        a.allowed = Some("needed".into());
        let b = Diagnostic::error("pss/host-namespaces", "c", "x").scenario("default");
        let out = normalize(vec![a, b]);
        assert_eq!(out.len(), 2);
        assert_eq!(out.iter().filter(|d| d.is_failing()).count(), 1);
    }

    #[test]
    fn allowed_errors_do_not_fail() {
        let mut d = Diagnostic::error("pod/privileged", "c", "x");
        assert!(d.is_failing());
        d.allowed = Some("needs it".into());
        assert!(!d.is_failing());
    }

    #[test]
    fn location_displays_as_file_line_col() {
        assert_eq!(Location::at("a/b.yaml", 3, 7).to_string(), "a/b.yaml:3:7");
        assert_eq!(Location::file("a/b.yaml").to_string(), "a/b.yaml");
    }
}
