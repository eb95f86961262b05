//! A chart's source files (Chart.yaml, values, ci files, values.schema.json),
//! read once with limits and parsed once, so checks never touch the disk.

use crate::model::{CHART_YAML, ChartMeta};
use crate::yaml::{self, Yaml, YamlError};
use std::path::{Path, PathBuf};

/// No chart source file is anywhere near this; anything bigger is a mistake
/// (a dump, a binary) and is refused before parsing.
pub const MAX_FILE_BYTES: u64 = crate::fsio::limit::CHART_FILE;

pub use crate::fsio::{FileError, read_capped};
pub use crate::paths::kind_of;

/// Reads a chart's text file, refusing oversized, non-regular and non-UTF-8
/// content, and links from inside the repository to outside it.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    crate::fsio::read_repo_text(path, MAX_FILE_BYTES)
}

/// A chart's Chart.yaml, read and parsed (for code that runs without the
/// loader: packaging, diffs, the target branch's tree, dependency folders).
///
/// A run asks for a chart's Chart.yaml several times (its dependencies, the
/// findings' key, the README table), so it is parsed once per process while
/// the file's identity, size and times stay the same (and it is old enough
/// for them to stand for its content).
pub fn read_chart_meta(chart_dir: &Path) -> ChartMeta {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    /// Each Chart.yaml parsed, with the stamp it was parsed at.
    type Parsed = HashMap<PathBuf, (Vec<u8>, ChartMeta)>;
    static PARSED: OnceLock<Mutex<Parsed>> = OnceLock::new();
    let path = chart_dir.join(CHART_YAML);
    let memo = PARSED.get_or_init(Default::default);
    // A Chart API v1 chart's dependencies are in requirements.yaml: its stamp counts too.
    let requirements_file = chart_dir.join("requirements.yaml");
    let stamp = crate::cache::settled_stamp(&path).and_then(|mut s| {
        if requirements_file.exists() {
            s.extend(crate::cache::settled_stamp(&requirements_file)?);
        }
        Some(s)
    });
    if let Some(stamp) = &stamp {
        let known = memo.lock().unwrap_or_else(|p| p.into_inner()).get(&path).cloned();
        if let Some((_, meta)) = known.filter(|(at, _)| at == stamp) {
            crate::fsio::note_read(&path);
            return meta;
        }
    }
    let meta = match YamlFile::read(&path) {
        Ok(f) => ChartMeta::from_parsed(&path, f.text, &f.parsed)
            .with_requirements(requirements(chart_dir).as_deref()),
        Err(e) => ChartMeta::unreadable(&path, e),
    };
    if let Some(stamp) = stamp {
        memo.lock().unwrap_or_else(|p| p.into_inner()).insert(path, (stamp, meta.clone()));
    }
    meta
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
    /// Symbolic links whose target lies outside the chart folder but inside the
    /// repository, with that target (a shared LICENSE, say).
    pub outside_links: Vec<(PathBuf, PathBuf)>,
    /// Symbolic links whose target lies outside the repository (`/proc/self/environ`,
    /// a key in the home folder, `/usr`), with that target; never followed.
    pub leaving_repo: Vec<(PathBuf, PathBuf)>,
}

impl Scan {
    /// Every link leaving the chart folder, inside the repository or not.
    pub fn links_leaving_chart(&self) -> impl Iterator<Item = &(PathBuf, PathBuf)> {
        self.outside_links.iter().chain(&self.leaving_repo)
    }
}

/// Walks a chart folder for files helm would block on and links leaving the
/// chart, with the working directory as the repository (the catalog root, by
/// the CLI's contract). `snapshots/` is skipped (helm does not read it).
pub fn scan(dir: &Path) -> Scan {
    scan_in(dir, Path::new(""))
}

/// [`scan`] with the repository root given.
pub fn scan_in(dir: &Path, repo: &Path) -> Scan {
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let walk = crate::fsio::walk_chart(dir, repo);
    let mut out = Scan { leaving_repo: walk.leaving, ..Scan::default() };
    for e in walk.entries {
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
    fn chart_yaml_is_parsed_again_once_it_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(CHART_YAML);
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let write = |version: &str| {
            std::fs::write(&path, format!("apiVersion: v2\nname: a\nversion: {version}\n")).unwrap();
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(long_ago).unwrap();
        };
        write("1.0.0");
        assert_eq!(read_chart_meta(tmp.path()).version.as_deref(), Some("1.0.0"));
        assert_eq!(read_chart_meta(tmp.path()).version.as_deref(), Some("1.0.0"));
        // Same size, same modification time: the change time still tells.
        write("2.0.0");
        assert_eq!(read_chart_meta(tmp.path()).version.as_deref(), Some("2.0.0"));
    }

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
        assert_eq!(read_capped(&p, 9), Err(FileError::TooLarge { size: 10, limit: 9 }));
    }

    #[test]
    fn scan_finds_special_files_and_links_leaving_the_chart() {
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("c");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(tmp.path().join("outside.yaml"), "a: 1\n").unwrap();
        std::fs::write(chart.join("inside.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("../inside.yaml", chart.join("templates/in.yaml")).unwrap();
        let repo = tmp.path();
        assert_eq!(scan_in(&chart, repo), Scan::default());
        std::os::unix::fs::symlink(tmp.path().join("outside.yaml"), chart.join("templates/out.yaml"))
            .unwrap();
        std::os::unix::fs::symlink("/dev/stdin", chart.join("values.yaml")).unwrap();
        let fifo = repo.join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        std::os::unix::fs::symlink(&fifo, chart.join("ci.yaml")).unwrap();
        let s = scan_in(&chart, repo);
        assert_eq!(s.outside_links.len(), 3, "{s:?}");
        assert!(s.outside_links.iter().any(|(l, _)| l.ends_with("templates/out.yaml")), "{s:?}");
        // Special files are found through links, inside the repository or out of it.
        assert_eq!(s.special.len(), 2, "{s:?}");
        assert!(s.special.iter().any(|(p, _)| p.ends_with("ci.yaml")), "{s:?}");
        assert!(s.special.iter().any(|(p, _)| p.ends_with("values.yaml")), "{s:?}");
        // A link leaving the repository is listed, never followed.
        std::os::unix::fs::symlink("/usr", chart.join("usr")).unwrap();
        let s = scan_in(&chart, repo);
        assert_eq!(s.leaving_repo, [(chart.join("usr"), PathBuf::from("/usr"))], "{s:?}");
        assert_eq!(s.links_leaving_chart().count(), 4, "{s:?}");
        // The chart folder is the repository when it lies outside the one given.
        let alone = scan_in(&chart, &repo.join("elsewhere"));
        assert_eq!((alone.outside_links.len(), alone.leaving_repo.len()), (2, 2), "{alone:?}");
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
