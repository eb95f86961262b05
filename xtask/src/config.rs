//! `ct.yaml`: the one configuration shared by chart-testing and the harness.

use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "ct.yaml";

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
    pub excluded_charts: Vec<String>,
    pub target_branch: String,
    pub remote: String,
    pub check_version_increment: bool,
    pub validate_chart_schema: bool,
    pub validate_yaml: bool,
    pub helm_lint_extra_args: String,
    pub helm_extra_args: String,
    pub charts: Vec<PathBuf>,
    pub all: bool,
    pub exclude_deprecated: bool,
}

impl Default for CtConfig {
    fn default() -> Self {
        // ct's own defaults.
        Self {
            chart_dirs: vec![PathBuf::from("charts")],
            excluded_charts: Vec::new(),
            target_branch: "master".into(),
            remote: "origin".into(),
            check_version_increment: true,
            validate_chart_schema: true,
            validate_yaml: true,
            helm_lint_extra_args: String::new(),
            helm_extra_args: String::new(),
            charts: Vec::new(),
            all: false,
            exclude_deprecated: false,
        }
    }
}

impl CtConfig {
    /// Reads `ct.yaml` in `root`; a missing file means ct's defaults.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::parse(&text).map_err(|message| ConfigError::Parse { path, message })
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
}
