//! `ct.yaml`: the one configuration shared by chart-testing and the harness.

use crate::diag::{Diagnostic, Location};
use crate::rule::{EVERY, Rule};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "ct.yaml";

/// `ct/unknown-key`: a key chart-testing does not know (ct ignores typos silently).
pub const RULE_UNKNOWN_KEY: Rule = Rule::error(
    "ct/unknown-key",
    EVERY,
    "ct.yaml has a key chart-testing does not know (ct ignores typos silently)",
);
/// `ct/conflict`: keys ct refuses to combine (`all` with `charts`).
pub const RULE_CONFLICT: Rule = Rule::error("ct/conflict", EVERY, "ct.yaml sets both `all` and `charts`");
pub const RULES: &[Rule] = &[RULE_UNKNOWN_KEY, RULE_CONFLICT];

/// Every configuration key of chart-testing (ct v3), so a typo is caught.
/// The harness acts on some (see [`CtConfig`]); the rest belong to `ct install`
/// or to checks that need a network (`validate-maintainers`) and are accepted as is.
pub const KNOWN_KEYS: &[&str] = &[
    "additional-commands",
    "all",
    "build-id",
    "chart-dirs",
    "chart-repos",
    "chart-yaml-schema",
    "charts",
    "check-version-increment",
    "debug",
    "exclude-deprecated",
    "excluded-charts",
    "github-groups",
    "helm-dependency-extra-args",
    "helm-extra-args",
    "helm-lint-extra-args",
    "helm-repo-extra-args",
    "kubectl-timeout",
    "lint-conf",
    "namespace",
    "print-logs",
    "release-label",
    "remote",
    "since",
    "skip-clean-up",
    "skip-missing-values",
    "target-branch",
    "upgrade",
    "use-helmignore",
    "validate-chart-schema",
    "validate-maintainers",
    "validate-yaml",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// The keys of ct's configuration the harness uses, with ct's meaning.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct CtConfig {
    pub chart_dirs: Vec<PathBuf>,
    /// `name=url` chart repositories remote dependencies are fetched from.
    pub chart_repos: Vec<String>,
    pub excluded_charts: Vec<String>,
    pub target_branch: String,
    pub remote: String,
    /// The ref compared with the target branch (ct's default: HEAD).
    pub since: String,
    /// ct's yamllint configuration file (the hygiene rules read it too).
    pub lint_conf: String,
    pub check_version_increment: bool,
    pub validate_chart_schema: bool,
    pub validate_yaml: bool,
    pub helm_lint_extra_args: String,
    pub helm_extra_args: String,
    /// ct's yamale schema for Chart.yaml (replaces ct's default one).
    pub chart_yaml_schema: String,
    pub charts: Vec<PathBuf>,
    pub all: bool,
    pub exclude_deprecated: bool,
}

impl Default for CtConfig {
    fn default() -> Self {
        // ct's own defaults.
        Self {
            chart_dirs: vec![PathBuf::from("charts")],
            chart_repos: Vec::new(),
            excluded_charts: Vec::new(),
            target_branch: "master".into(),
            remote: "origin".into(),
            since: String::new(),
            lint_conf: String::new(),
            check_version_increment: true,
            validate_chart_schema: true,
            validate_yaml: true,
            helm_lint_extra_args: String::new(),
            helm_extra_args: String::new(),
            chart_yaml_schema: String::new(),
            charts: Vec::new(),
            all: false,
            exclude_deprecated: false,
        }
    }
}

impl CtConfig {
    /// Reads `ct.yaml` in `root`; a missing file means ct's defaults.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        Self::load_file(&root.join(FILE_NAME), false)
    }

    /// Reads a ct configuration file (`--config`); a missing file means ct's
    /// defaults unless `required`.
    pub fn load_file(path: &Path, required: bool) -> Result<Self, ConfigError> {
        let path = path.to_owned();
        // A FIFO or `/dev/zero` in its place is an error, never a hang.
        let text = match crate::fsio::read_text(&path, crate::fsio::limit::SETTINGS_FILE) {
            Ok(t) => t,
            Err(crate::fsio::FileError::Missing) if !required => return Ok(Self::default()),
            Err(e) => return Err(ConfigError::Read { path, source: e.into() }),
        };
        Self::parse(&text).map_err(|message| ConfigError::Parse { path, message })
    }

    /// What is wrong with `ct.yaml` beyond what stops it from loading:
    /// unknown keys (with their line and column) and combinations ct refuses.
    pub fn findings(&self, root: &Path) -> Vec<Diagnostic> {
        self.findings_in(&root.join(FILE_NAME), Path::new(FILE_NAME))
    }

    /// [`CtConfig::findings`] of the file at `path`, placed at `shown`.
    pub fn findings_in(&self, path: &Path, shown: &Path) -> Vec<Diagnostic> {
        let shown = shown.to_owned();
        let Ok(text) = crate::fsio::read_text(path, crate::fsio::limit::SETTINGS_FILE) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let Some(doc) = crate::yaml::parse(&text).ok().and_then(|y| y.docs.into_iter().next()) else {
            return out;
        };
        for e in doc.entries() {
            if !KNOWN_KEYS.contains(&e.key.as_str()) {
                let near = suggestion(&e.key);
                let mut d = Diagnostic::error(
                    RULE_UNKNOWN_KEY,
                    "",
                    format!("`{}` is not a chart-testing configuration key", e.key),
                )
                .at(Location::at(&shown, e.key_span.start.line, e.key_span.start.column));
                d = match near {
                    Some(k) => d.hint(format!("did you mean `{k}`?")),
                    None => d.hint("ct ignores unknown keys silently; remove it or fix its spelling"),
                };
                out.push(d);
            }
        }
        if self.all && !self.charts.is_empty() {
            let at = doc.entry("all").map(|e| e.key_span.start).unwrap_or_default();
            out.push(
                Diagnostic::error(RULE_CONFLICT, "", "`all` and `charts` cannot both be set (ct refuses it)")
                    .at(Location::at(&shown, at.line.max(1), at.column.max(1))),
            );
        }
        out
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// `helm-lint-extra-args` split like a shell would for simple flag lists.
    pub fn lint_extra_args(&self) -> Vec<String> {
        self.helm_lint_extra_args.split_whitespace().map(str::to_owned).collect()
    }
}

/// The known key closest to a misspelt one (edit distance at most 3).
fn suggestion(key: &str) -> Option<&'static str> {
    KNOWN_KEYS.iter().map(|k| (distance(key, k), *k)).filter(|(d, _)| *d <= 3).min().map(|(_, k)| k)
}

/// Levenshtein distance (for "did you mean" hints).
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty() {
        let c = CtConfig::parse("").unwrap();
        assert_eq!(c.chart_dirs, vec![PathBuf::from("charts")]);
        assert!(c.check_version_increment);
    }

    #[test]
    fn reads_keys() {
        let c = CtConfig::parse("chart-dirs: [a, b]\nexcluded-charts: [x]\ntarget-branch: main\n").unwrap();
        assert_eq!(c.chart_dirs, vec![PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(c.excluded_charts, vec!["x"]);
        assert_eq!(c.target_branch, "main");
    }

    #[test]
    fn unknown_keys_are_findings_with_a_place_and_a_suggestion() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(FILE_NAME), "chart-dirs: [charts]\ntarget-brnch: main\n").unwrap();
        let c = CtConfig::load(tmp.path()).unwrap();
        let f = c.findings(tmp.path());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, RULE_UNKNOWN_KEY);
        let loc = f[0].location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (Some(2), Some(1)));
        assert_eq!(f[0].hint.as_deref(), Some("did you mean `target-branch`?"));
    }

    #[test]
    fn every_field_is_a_known_key() {
        for k in ["since", "validate-maintainers", "helm-lint-extra-args", "exclude-deprecated"] {
            assert!(KNOWN_KEYS.contains(&k));
        }
    }
}
