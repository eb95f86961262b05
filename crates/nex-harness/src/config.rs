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
/// `ct/additional-command`: one of ct's `additional-commands` failed for a chart.
pub const RULE_ADDITIONAL_COMMAND: Rule = Rule::error(
    "ct/additional-command",
    EVERY,
    "one of ct.yaml's `additional-commands` (run per chart from the working directory, `{{ .Path }}` templated, as ct runs them) failed for a chart",
);
pub const RULES: &[Rule] = &[RULE_UNKNOWN_KEY, RULE_CONFLICT, RULE_ADDITIONAL_COMMAND];

/// Every configuration key of chart-testing (ct v3.14: the fields of
/// `pkg/config/config.go` and every flag, which viper binds as a key too), so a
/// typo is caught. The harness acts on the lint keys (see [`CtConfig`]); the
/// `ct install` ones are accepted as they are.
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
    "helm-extra-set-args",
    "helm-lint-extra-args",
    "helm-repo-extra-args",
    "kubectl-timeout",
    "lint-conf",
    "namespace",
    "print-config",
    "print-logs",
    "release-label",
    "release-name",
    "remote",
    "since",
    "skip-clean-up",
    "skip-helm-dependencies",
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
///
/// Read as viper reads ct's file: a list key may be a comma-separated string
/// (`chart-dirs: charts,other`), a boolean may be the string `"false"`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct CtConfig {
    #[serde(deserialize_with = "de::paths")]
    pub chart_dirs: Vec<PathBuf>,
    /// `name=url` chart repositories remote dependencies are fetched from.
    #[serde(deserialize_with = "de::strings")]
    pub chart_repos: Vec<String>,
    #[serde(deserialize_with = "de::strings")]
    pub excluded_charts: Vec<String>,
    pub target_branch: String,
    pub remote: String,
    /// The ref compared with the target branch (ct's default: HEAD).
    pub since: String,
    /// ct's yamllint configuration file (the hygiene rules read it too).
    pub lint_conf: String,
    #[serde(deserialize_with = "de::boolean")]
    pub check_version_increment: bool,
    #[serde(deserialize_with = "de::boolean")]
    pub validate_chart_schema: bool,
    #[serde(deserialize_with = "de::boolean")]
    pub validate_yaml: bool,
    /// Maintainers checked (ct's default: on); see `checks::maintainers`.
    #[serde(deserialize_with = "de::boolean")]
    pub validate_maintainers: bool,
    pub helm_lint_extra_args: String,
    /// ct passes these to `helm install`, `upgrade`, `test` and `uninstall`, never to lint.
    pub helm_extra_args: String,
    /// ct's yamale schema for Chart.yaml (replaces ct's default one).
    pub chart_yaml_schema: String,
    #[serde(deserialize_with = "de::paths")]
    pub charts: Vec<PathBuf>,
    #[serde(deserialize_with = "de::boolean")]
    pub all: bool,
    #[serde(deserialize_with = "de::boolean")]
    pub exclude_deprecated: bool,
    /// Commands run once per chart, Go-templated (`{{ .Path }}`), from the working directory.
    #[serde(deserialize_with = "de::strings")]
    pub additional_commands: Vec<String>,
    /// `name=args` per chart repository, appended to its `helm repo add`.
    #[serde(deserialize_with = "de::strings")]
    pub helm_repo_extra_args: Vec<String>,
    /// Appended to `helm dependency build`.
    #[serde(deserialize_with = "de::strings")]
    pub helm_dependency_extra_args: Vec<String>,
    /// Do not run `helm dependency build` (charts then lint with what `charts/` holds).
    #[serde(deserialize_with = "de::boolean")]
    pub skip_helm_dependencies: bool,
    /// Print the commands the run spawns (ct prints them with `>>>`).
    #[serde(deserialize_with = "de::boolean")]
    pub debug: bool,
    /// Print the resolved configuration to stderr.
    #[serde(deserialize_with = "de::boolean")]
    pub print_config: bool,
    /// Wrap the report in GitHub Actions log groups.
    #[serde(deserialize_with = "de::boolean")]
    pub github_groups: bool,
    /// Changed-chart detection ignores files the chart's `.helmignore` excludes.
    #[serde(deserialize_with = "de::boolean")]
    pub use_helmignore: bool,
}

impl Default for CtConfig {
    fn default() -> Self {
        // ct's own defaults (v3.14: ct/cmd/root.go, ct/cmd/lint.go).
        Self {
            chart_dirs: vec![PathBuf::from("charts")],
            chart_repos: Vec::new(),
            excluded_charts: Vec::new(),
            target_branch: "main".into(),
            remote: "origin".into(),
            since: String::new(),
            lint_conf: String::new(),
            check_version_increment: true,
            validate_chart_schema: true,
            validate_yaml: true,
            validate_maintainers: true,
            helm_lint_extra_args: String::new(),
            helm_extra_args: String::new(),
            chart_yaml_schema: String::new(),
            charts: Vec::new(),
            all: false,
            exclude_deprecated: false,
            additional_commands: Vec::new(),
            helm_repo_extra_args: Vec::new(),
            helm_dependency_extra_args: Vec::new(),
            skip_helm_dependencies: false,
            debug: false,
            print_config: false,
            github_groups: false,
            use_helmignore: false,
        }
    }
}

/// ct's command-line flags of `ct lint`, as parsed: each set one overrides
/// the key of the same name (flags win over the file, as with ct's viper).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CtOverrides {
    pub remote: Option<String>,
    pub target_branch: Option<String>,
    pub since: Option<String>,
    pub lint_conf: Option<String>,
    pub chart_yaml_schema: Option<String>,
    pub helm_extra_args: Option<String>,
    pub helm_lint_extra_args: Option<String>,
    pub chart_dirs: Option<Vec<String>>,
    pub excluded_charts: Option<Vec<String>>,
    pub charts: Option<Vec<String>>,
    pub chart_repos: Option<Vec<String>>,
    pub helm_repo_extra_args: Option<Vec<String>>,
    pub helm_dependency_extra_args: Option<Vec<String>>,
    pub additional_commands: Option<Vec<String>>,
    pub all: Option<bool>,
    pub print_config: Option<bool>,
    pub exclude_deprecated: Option<bool>,
    pub github_groups: Option<bool>,
    pub use_helmignore: Option<bool>,
    pub debug: Option<bool>,
    pub validate_maintainers: Option<bool>,
    pub check_version_increment: Option<bool>,
    pub validate_chart_schema: Option<bool>,
    pub validate_yaml: Option<bool>,
    pub skip_helm_dependencies: Option<bool>,
}

impl CtOverrides {
    /// Writes every flag that was given over `config`.
    pub fn apply(&self, c: &mut CtConfig) {
        fn set<T: Clone>(slot: &mut T, v: &Option<T>) {
            if let Some(v) = v {
                *slot = v.clone();
            }
        }
        let paths = |v: &Vec<String>| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        set(&mut c.remote, &self.remote);
        set(&mut c.target_branch, &self.target_branch);
        set(&mut c.since, &self.since);
        set(&mut c.lint_conf, &self.lint_conf);
        set(&mut c.chart_yaml_schema, &self.chart_yaml_schema);
        set(&mut c.helm_extra_args, &self.helm_extra_args);
        set(&mut c.helm_lint_extra_args, &self.helm_lint_extra_args);
        set(&mut c.chart_dirs, &self.chart_dirs.as_ref().map(paths));
        set(&mut c.excluded_charts, &self.excluded_charts);
        set(&mut c.charts, &self.charts.as_ref().map(paths));
        set(&mut c.chart_repos, &self.chart_repos);
        set(&mut c.helm_repo_extra_args, &self.helm_repo_extra_args);
        set(&mut c.helm_dependency_extra_args, &self.helm_dependency_extra_args);
        set(&mut c.additional_commands, &self.additional_commands);
        set(&mut c.all, &self.all);
        set(&mut c.print_config, &self.print_config);
        set(&mut c.exclude_deprecated, &self.exclude_deprecated);
        set(&mut c.github_groups, &self.github_groups);
        set(&mut c.use_helmignore, &self.use_helmignore);
        set(&mut c.debug, &self.debug);
        set(&mut c.validate_maintainers, &self.validate_maintainers);
        set(&mut c.check_version_increment, &self.check_version_increment);
        set(&mut c.validate_chart_schema, &self.validate_chart_schema);
        set(&mut c.validate_yaml, &self.validate_yaml);
        set(&mut c.skip_helm_dependencies, &self.skip_helm_dependencies);
    }
}

/// viper's weak typing, for ct.yaml keys written as ct accepts them.
mod de {
    use serde::Deserialize;
    use std::path::PathBuf;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        One(String),
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrString {
        Bool(bool),
        Text(String),
    }

    pub fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Option::<ListOrString>::deserialize(d)? {
            None => Vec::new(),
            Some(ListOrString::List(v)) => v,
            // viper's string-to-slice hook splits on commas.
            Some(ListOrString::One(s)) => {
                s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
            }
        })
    }

    pub fn paths<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
        Ok(strings(d)?.into_iter().map(PathBuf::from).collect())
    }

    pub fn boolean<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match BoolOrString::deserialize(d)? {
            BoolOrString::Bool(b) => Ok(b),
            BoolOrString::Text(s) => super::parse_bool(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a boolean (true or false)"))),
        }
    }
}

/// A boolean as Go's `strconv.ParseBool` (ct's flags and viper) reads it.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
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
