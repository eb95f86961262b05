//! A chart's source files (Chart.yaml, values, ci files, values.schema.json),
//! read once with limits and parsed once, so checks never touch the disk.

use crate::model::{CHART_YAML, ChartMeta};
use crate::yaml::{self, Yaml, YamlError};
use std::path::{Path, PathBuf};

/// No chart source file is anywhere near this; anything bigger is a mistake
/// (a dump, a binary) and is refused before parsing.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Why a file could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("file does not exist")]
    Missing,
    #[error("file is {size} bytes; chart files are limited to {limit} bytes", limit = MAX_FILE_BYTES)]
    TooLarge { size: u64 },
    #[error("file is not UTF-8 text (invalid byte at {line}:{column})")]
    NotUtf8 { line: usize, column: usize },
    #[error("cannot read file: {0}")]
    Io(String),
}

/// Reads a text file, refusing oversized and non-UTF-8 content.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FileError::Missing),
        Err(e) => return Err(FileError::Io(e.to_string())),
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge { size: meta.len() });
    }
    let bytes = std::fs::read(path).map_err(|e| FileError::Io(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // Valid prefix, so this cannot fail; the position is where the bad byte sits.
        let prefix = std::str::from_utf8(good).unwrap_or_default();
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError::NotUtf8 { line, column }
    })
}

/// A chart's Chart.yaml, read and parsed (for code that runs without the
/// loader: packaging, diffs, the target branch's tree, dependency folders).
pub fn read_chart_meta(chart_dir: &Path) -> ChartMeta {
    let path = chart_dir.join(CHART_YAML);
    match YamlFile::read(&path) {
        Ok(f) => ChartMeta::from_parsed(&path, f.text, &f.parsed),
        Err(e) => ChartMeta::unreadable(&path, e),
    }
}

/// A YAML file: its text (for hygiene checks and code frames) and its parse.
#[derive(Debug, Clone)]
pub struct YamlFile {
    pub path: PathBuf,
    pub text: String,
    pub parsed: Result<Yaml, YamlError>,
}

impl YamlFile {
    pub fn read(path: &Path) -> Result<Self, FileError> {
        Ok(Self::from_text(path, read_text(path)?))
    }

    /// A file whose text is already in hand (tests and fuzzing feed text directly).
    pub fn from_text(path: &Path, text: String) -> Self {
        let parsed = yaml::parse(&text);
        Self { path: path.to_path_buf(), text, parsed }
    }

    /// The first document's root, when the file parsed and holds one.
    pub fn root(&self) -> Option<&yaml::Node> {
        self.parsed.as_ref().ok().and_then(Yaml::root)
    }

    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// A JSON syntax error, placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A JSON file: the value, and (when the JSON is also plain YAML, which it
/// almost always is) a positioned tree to point diagnostics into, built only
/// when a diagnostic needs a place (clean files are parsed once).
#[derive(Debug, Clone)]
pub struct JsonFile {
    pub path: PathBuf,
    pub value: Result<serde_json::Value, JsonError>,
    /// The file holds nothing but white space.
    pub blank: bool,
    text: String,
    positions: std::sync::OnceLock<Option<yaml::Node>>,
}

impl JsonFile {
    pub fn read(path: &Path) -> Result<Self, FileError> {
        Ok(Self::from_text(path, &read_text(path)?))
    }

    /// A file whose text is already in hand (tests and fuzzing feed text directly).
    pub fn from_text(path: &Path, text: &str) -> Self {
        let value = serde_json::from_str(text).map_err(|e| JsonError {
            line: e.line().max(1),
            column: e.column().max(1),
            message: e.to_string(),
        });
        let blank = text.trim().is_empty();
        Self {
            path: path.to_path_buf(),
            value,
            blank,
            text: text.to_owned(),
            positions: std::sync::OnceLock::new(),
        }
    }

    /// The positioned view of the file (JSON read as YAML), if it has one.
    pub fn positions(&self) -> Option<&yaml::Node> {
        self.positions
            .get_or_init(|| yaml::parse(&self.text).ok().and_then(|y| y.docs.into_iter().next()))
            .as_ref()
    }

    /// Line and column of the node at a JSON pointer (or the key naming it), when known.
    pub fn position(&self, pointer: &str) -> Option<(usize, usize)> {
        let root = self.positions()?;
        let (node, key) = root.locate_nearest(pointer);
        let at = key.map_or(node.span.start, |k| k.start);
        Some((at.line, at.column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_is_placed() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("v.yaml");
        std::fs::write(&p, b"a: 1\nb: caf\xe9\n").unwrap();
        assert_eq!(read_text(&p), Err(FileError::NotUtf8 { line: 2, column: 7 }));
    }

    #[test]
    fn too_large_and_missing_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("big.yaml");
        std::fs::write(&p, vec![b'a'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(read_text(&p), Err(FileError::TooLarge { .. })));
        assert_eq!(read_text(&tmp.path().join("none")), Err(FileError::Missing));
    }

    #[test]
    fn json_positions_come_from_the_yaml_view() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("s.json");
        std::fs::write(&p, "{\n  \"properties\": {\n    \"a\": {\"type\": \"string\"}\n  }\n}\n").unwrap();
        let f = JsonFile::read(&p).unwrap();
        assert_eq!(f.position("/properties/a"), Some((3, 5)));
        std::fs::write(&p, "{\n  \"a\": 1,\n}\n").unwrap();
        let f = JsonFile::read(&p).unwrap();
        assert_eq!(f.value.unwrap_err().line, 3);
    }
}
