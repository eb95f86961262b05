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
    /// A FIFO, a device, a socket (or a link to one): reading it could block
    /// forever or never end, so it is not read at all.
    #[error("not a regular file but {0}; only regular files are read")]
    NotRegular(&'static str),
    #[error("cannot read file: {0}")]
    Io(String),
}

pub use crate::paths::kind_of;

/// Reads at most `limit` bytes of a regular file (links followed). Anything
/// else is refused before it is opened (a FIFO would block `open`, `/dev/zero`
/// never ends), and the handle is checked again after opening, so a file
/// swapped in between is refused too; the read itself is capped, so a file
/// that grows after the size check cannot run past the limit either.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => FileError::Missing,
        _ => FileError::Io(e.to_string()),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge { size: meta.len() });
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        // O_NONBLOCK: should a FIFO be swapped in after the check, `open` returns at once.
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, 0o4000);
    }
    let file = opts.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(kind_of(meta.file_type())));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { size: bytes.len() as u64 });
    }
    Ok(bytes)
}

/// Reads a text file, refusing oversized, non-regular and non-UTF-8 content.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    let bytes = read_capped(path, MAX_FILE_BYTES)?;
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
        Ok(f) => ChartMeta::from_parsed(&path, f.text, &f.parsed)
            .with_requirements(requirements(chart_dir).as_deref()),
        Err(e) => ChartMeta::unreadable(&path, e),
    }
}

/// `requirements.yaml` of a Chart API v1 chart, when it has one.
pub fn requirements(chart_dir: &Path) -> Option<String> {
    read_text(&chart_dir.join("requirements.yaml")).ok()
}

/// What a walk over a chart folder (links followed) found that helm must not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Files that are not regular files nor folders (FIFOs, devices, sockets), with their kind.
    pub special: Vec<(PathBuf, &'static str)>,
    /// Symbolic links whose target lies outside the chart folder, with that target.
    pub outside_links: Vec<(PathBuf, PathBuf)>,
}

/// Walks a chart folder for files helm would block on and links leaving the
/// chart. `snapshots/` is skipped (helm does not read it).
pub fn scan(dir: &Path) -> Scan {
    let mut out = Scan::default();
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    for e in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && e.file_name() == "snapshots"))
        .flatten()
    {
        let ft = e.file_type();
        if !ft.is_file() && !ft.is_dir() {
            out.special.push((e.path().to_path_buf(), kind_of(ft)));
        }
        if e.path_is_symlink()
            && let Ok(target) = e.path().canonicalize()
            && !target.starts_with(&root)
        {
            out.outside_links.push((e.path().to_path_buf(), target));
        }
    }
    out
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
    /// The file's text, as read.
    pub fn text(&self) -> &str {
        &self.text
    }

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
    fn only_regular_files_are_read_and_reads_are_capped() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("values.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        // Would block forever if opened for reading with no writer.
        assert_eq!(read_text(&fifo), Err(FileError::NotRegular("a named pipe (FIFO)")));
        let zero = tmp.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(read_text(&zero), Err(FileError::NotRegular("a character device")));
        assert_eq!(read_text(tmp.path()), Err(FileError::NotRegular("a folder")));
        let p = tmp.path().join("a.yaml");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_capped(&p, 10).unwrap().len(), 10);
        assert_eq!(read_capped(&p, 9), Err(FileError::TooLarge { size: 10 }));
    }

    #[test]
    fn scan_finds_special_files_and_links_leaving_the_chart() {
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("c");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(tmp.path().join("outside.yaml"), "a: 1\n").unwrap();
        std::fs::write(chart.join("inside.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("../inside.yaml", chart.join("templates/in.yaml")).unwrap();
        assert_eq!(scan(&chart), Scan::default());
        std::os::unix::fs::symlink(tmp.path().join("outside.yaml"), chart.join("templates/out.yaml"))
            .unwrap();
        std::os::unix::fs::symlink("/dev/stdin", chart.join("values.yaml")).unwrap();
        let s = scan(&chart);
        assert_eq!(s.outside_links.len(), 2, "{s:?}");
        assert!(s.outside_links.iter().any(|(l, _)| l.ends_with("templates/out.yaml")), "{s:?}");
        assert_eq!(s.special.len(), 1, "{s:?}");
        assert!(s.special[0].0.ends_with("values.yaml"), "{s:?}");
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
