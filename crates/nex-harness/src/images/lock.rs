//! `images.lock.yaml`: what the catalog knows about every image it renders, keyed
//! by the full reference without digest (`docker.io/library/busybox:1.37.0`).
//! Written by `cargo xtask images --update`, read (offline) by `cargo xtask lint`.
//!
//! A fact the lock does not know is absent (`null`), never guessed: the rules
//! then say nothing about it. Every entry names where its facts came from:
//! `registry` (with the date it was read), or `dockerfile` (the upstream
//! repository, file and commit it was read from, when the registry could not be
//! reached). A `dockerfile` entry has no digest and is reported by
//! `cargo xtask images` until an online `--update` confirms it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "images.lock.yaml";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    #[serde(default)]
    pub images: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Entry {
    /// The tag's digest (the index digest for a multi-platform image).
    #[serde(default)]
    pub digest: Option<String>,
    /// `linux/amd64`, `linux/arm64`, `linux/arm/v7`… `None`: unknown.
    #[serde(default)]
    pub platforms: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub ports: Option<Vec<String>>,
    #[serde(default)]
    pub healthcheck: Option<Vec<String>>,
    /// Paths the image's program writes at run time and the user owning them
    /// (from its Dockerfile); a container running as another user needs a volume there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<Write>,
    /// Where the facts came from; `sources` names a different origin for single facts.
    pub source: Source,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, Source>,
    /// Why a fact is missing or unusual, for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What an image's config says about how it starts (one platform's config).
/// `None`: unknown; `Some([])`: the image has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `""` (root), `"65532"`, `"nobody"`, `"1000:1000"`.
    pub user: Option<String>,
    /// `"8080/tcp"`, sorted.
    pub ports: Option<Vec<String>>,
    /// The HEALTHCHECK test (`["CMD-SHELL", "…"]`); `Some([])`: none.
    pub healthcheck: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    pub path: String,
    pub owner: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    #[default]
    Registry,
    Dockerfile,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub kind: SourceKind,
    /// `registry`: the day (UTC) the registry was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `dockerfile`: `github.com/OWNER/NAME`, the file, the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Source {
    pub fn registry(date: &str) -> Self {
        Self { kind: SourceKind::Registry, date: Some(date.to_owned()), ..Self::default() }
    }
}

impl Entry {
    /// Facts read from upstream source, not yet confirmed by the registry.
    pub fn unconfirmed(&self) -> bool {
        self.source.kind == SourceKind::Dockerfile
    }

    pub fn facts(&self) -> Facts {
        Facts {
            entrypoint: self.entrypoint.clone(),
            cmd: self.cmd.clone(),
            user: self.user.clone(),
            ports: self.ports.clone(),
            healthcheck: self.healthcheck.clone(),
        }
    }

    pub fn set_facts(&mut self, f: Facts) {
        self.entrypoint = f.entrypoint;
        self.cmd = f.cmd;
        self.user = f.user;
        self.ports = f.ports;
        self.healthcheck = f.healthcheck;
    }
}

/// The shells whose `-c` makes an entrypoint "shell form" (`ENTRYPOINT cmd` in a Dockerfile).
const SHELLS: &[&str] =
    &["/bin/sh", "sh", "/bin/bash", "bash", "/bin/ash", "ash", "/bin/dash", "/usr/bin/env sh"];

/// Whether an entrypoint is shell form: `["/bin/sh", "-c", "…"]`. A shell-form
/// entrypoint ignores the container's args (and the image's CMD).
pub fn shell_form(entrypoint: &[String]) -> bool {
    matches!(entrypoint, [sh, c, ..] if SHELLS.contains(&sh.as_str()) && c == "-c")
}

/// Facts of an OCI/Docker image config blob (`config.Entrypoint`, `Cmd`, `User`,
/// `ExposedPorts`, `Healthcheck`). Absent fields are the image's empty defaults.
pub fn facts_of_config(config: &serde_json::Value) -> Facts {
    let c = config.get("config").unwrap_or(&serde_json::Value::Null);
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let mut ports: Vec<String> = c
        .get("ExposedPorts")
        .and_then(|p| p.as_object())
        .map(|m| m.keys().map(|k| normalize_port(k)).collect())
        .unwrap_or_default();
    ports.sort();
    ports.dedup();
    Facts {
        entrypoint: Some(strings(c.get("Entrypoint"))),
        cmd: Some(strings(c.get("Cmd"))),
        user: Some(c.get("User").and_then(|u| u.as_str()).unwrap_or("").to_owned()),
        ports: Some(ports),
        healthcheck: Some(strings(c.pointer("/Healthcheck/Test"))),
    }
}

/// `8080` → `8080/tcp`; protocols lower-case.
pub fn normalize_port(p: &str) -> String {
    match p.split_once('/') {
        Some((n, proto)) => format!("{n}/{}", proto.to_ascii_lowercase()),
        None => format!("{p}/tcp"),
    }
}

/// `os/architecture[/variant]` of a platform object (an index entry or a config).
pub fn platform_of(v: &serde_json::Value) -> Option<String> {
    let os = v.get("os")?.as_str()?;
    let arch = v.get("architecture")?.as_str()?;
    Some(match v.get("variant").and_then(|x| x.as_str()).filter(|s| !s.is_empty()) {
        Some(variant) => format!("{os}/{arch}/{variant}"),
        None => format!("{os}/{arch}"),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl LockError {
    /// File, line and column of the problem, for a diagnostic.
    pub fn location(&self) -> crate::diag::Location {
        match self {
            LockError::Io { path, .. } | LockError::Invalid { path, .. } => crate::diag::Location::file(path),
            LockError::Syntax { path, line, column, .. } => crate::diag::Location::at(path, *line, *column),
        }
    }
}

/// A catalog's lock as a lint run sees it: its content digest (part of every
/// chart's findings key) and, on first use, its parse. A warm run, whose
/// findings all come from the cache, never reads or parses the file: the
/// digest comes from the cache's stat memo ([`crate::cache::Cache::tree_fingerprint`]),
/// and whether the file is valid is remembered by that digest.
#[derive(Debug, Clone)]
pub struct LockFile {
    pub path: PathBuf,
    pub digest: String,
    parsed: std::sync::OnceLock<Option<std::sync::Arc<Lock>>>,
}

/// Why a lock cannot be used, as remembered by its digest.
pub type Problem = Option<(String, crate::diag::Location)>;

impl LockFile {
    /// The lock at `root` (`None` when it has none) and its problem, if any.
    pub fn find(root: &Path, cache: &crate::cache::Cache) -> Option<(Self, Problem)> {
        let path = root.join(FILE_NAME);
        if std::fs::symlink_metadata(&path).is_err() {
            return None;
        }
        let digest = cache.tree_fingerprint(&path);
        let key = crate::cache::KeyBuilder::new("images lock problem")
            .str(crate::kube::harness_identity())
            .str(&path.to_string_lossy())
            .str(&digest)
            .finish();
        let check = || match Lock::read(root) {
            Ok(_) => Ok(None),
            Err(e @ LockError::Io { .. }) => Err(Some((e.to_string(), e.location()))),
            Err(e) => Ok(Some((e.to_string(), e.location()))),
        };
        // An I/O error says nothing about the content: it is not remembered.
        let problem = match cache.get::<Problem>(&key) {
            Some(p) => p,
            None => match check() {
                Ok(p) => {
                    cache.put(&key, &p);
                    p
                }
                Err(p) => p,
            },
        };
        Some((Self { path, digest, parsed: Default::default() }, problem))
    }

    /// The lock, parsed on first use (`None` when it cannot be read).
    pub fn lock(&self) -> Option<std::sync::Arc<Lock>> {
        self.parsed
            .get_or_init(|| {
                let text = crate::fsio::read_text(&self.path, crate::fsio::limit::SETTINGS_FILE).ok()?;
                Lock::parse(&self.path, &text).ok().map(std::sync::Arc::new)
            })
            .clone()
    }
}

impl Lock {
    /// The lock of a catalog root; `Ok(None)` when it has none.
    pub fn read(root: &Path) -> Result<Option<Self>, LockError> {
        let path = root.join(FILE_NAME);
        // A FIFO or `/dev/zero` in its place is an error, never a hang.
        match crate::fsio::read_text(&path, crate::fsio::limit::SETTINGS_FILE) {
            Ok(text) => Self::parse(&path, &text).map(Some),
            Err(crate::fsio::FileError::Missing) => Ok(None),
            Err(e) => Err(LockError::Io { path, source: e.into() }),
        }
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, LockError> {
        // Positions come from the harness's YAML reader; the typed reading from serde.
        let doc = crate::yaml::parse(text).map_err(|e| LockError::Syntax {
            path: path.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        let json = doc.root().map(|r| r.to_json()).unwrap_or_default();
        let lock: Lock = serde_json::from_value(json)
            .map_err(|e| LockError::Invalid { path: path.to_owned(), message: e.to_string() })?;
        if lock.version != VERSION {
            return Err(LockError::Invalid {
                path: path.to_owned(),
                message: format!("version {} is not {VERSION}, the one this harness writes", lock.version),
            });
        }
        for (key, e) in &lock.images {
            let problem = match crate::images::reference::ImageRef::parse(key) {
                Err(err) => Some(err.to_string()),
                Ok(r) if r.key() != *key => Some(format!("{key:?} is not written in full: {:?}", r.key())),
                Ok(r) if r.digest.is_some() || r.tag.is_none() => Some(format!("{key:?} must be NAME:TAG")),
                Ok(_) if e.source.kind == SourceKind::Registry && e.digest.is_none() => {
                    Some(format!("{key}: a registry entry has a digest"))
                }
                Ok(_) if e.digest.as_deref().and_then(crate::images::reference::digest_problem).is_some() => {
                    let d = e.digest.as_deref().unwrap_or_default();
                    let why = crate::images::reference::digest_problem(d).unwrap_or_default();
                    Some(format!("{key}: digest {d}: {why}"))
                }
                Ok(_)
                    if e.source.kind == SourceKind::Dockerfile
                        && (e.source.repository.is_none()
                            || e.source.path.is_none()
                            || e.source.commit.is_none()) =>
                {
                    Some(format!("{key}: a dockerfile source names its repository, path and commit"))
                }
                _ => None,
            };
            if let Some(message) = problem {
                return Err(LockError::Invalid { path: path.to_owned(), message });
            }
        }
        Ok(lock)
    }

    /// A stable text: keys sorted, one fact per line, strings double-quoted (so a
    /// review diff shows exactly which fact of which image changed).
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# Facts about every image the catalog renders; written by `cargo xtask images --update`,\n",
        );
        out.push_str("# read by `cargo xtask lint` (image/* rules). See docs/images.md.\n");
        out.push_str(&format!("version: {}\nimages:\n", self.version));
        if self.images.is_empty() {
            out.truncate(out.len() - 1);
            out.push_str(" {}\n");
        }
        for (key, e) in &self.images {
            out.push_str(&format!("  {}:\n", q(key)));
            out.push_str(&format!("    digest: {}\n", opt(e.digest.as_deref().map(q))));
            out.push_str(&format!("    platforms: {}\n", list(e.platforms.as_deref())));
            out.push_str(&format!("    entrypoint: {}\n", list(e.entrypoint.as_deref())));
            out.push_str(&format!("    cmd: {}\n", list(e.cmd.as_deref())));
            out.push_str(&format!("    user: {}\n", opt(e.user.as_deref().map(q))));
            out.push_str(&format!("    ports: {}\n", list(e.ports.as_deref())));
            out.push_str(&format!("    healthcheck: {}\n", list(e.healthcheck.as_deref())));
            if !e.writes.is_empty() {
                out.push_str("    writes:\n");
                for w in &e.writes {
                    out.push_str(&format!("      - {{path: {}, owner: {}}}\n", q(&w.path), q(&w.owner)));
                }
            }
            out.push_str(&format!("    source: {}\n", source(&e.source)));
            if !e.sources.is_empty() {
                out.push_str("    sources:\n");
                for (fact, s) in &e.sources {
                    out.push_str(&format!("      {fact}: {}\n", source(s)));
                }
            }
            if let Some(n) = &e.note {
                out.push_str(&format!("    note: {}\n", q(n)));
            }
        }
        out
    }
}

fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn opt(s: Option<String>) -> String {
    s.unwrap_or_else(|| "null".into())
}

fn list(l: Option<&[String]>) -> String {
    match l {
        None => "null".into(),
        Some(items) => format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")),
    }
}

fn source(s: &Source) -> String {
    let kind = match s.kind {
        SourceKind::Registry => "registry",
        SourceKind::Dockerfile => "dockerfile",
    };
    let mut parts = vec![format!("kind: {kind}")];
    for (k, v) in [("date", &s.date), ("repository", &s.repository), ("path", &s.path), ("commit", &s.commit)]
    {
        if let Some(v) = v {
            parts.push(format!("{k}: {}", q(v)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shell_form_is_a_shell_with_dash_c() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(shell_form(&v(&["/bin/sh", "-c", "yaldap"])));
        assert!(!shell_form(&v(&["/bin/sh"])));
        assert!(!shell_form(&v(&["/app/glance", "--config", "x"])));
        assert!(!shell_form(&[]));
    }

    #[test]
    fn facts_of_a_config_blob() {
        let config = json!({"architecture": "arm64", "os": "linux", "variant": "v8", "config": {
            "Entrypoint": ["/bin/sh", "-c", "app"], "User": "app",
            "ExposedPorts": {"389/tcp": {}, "53/UDP": {}}, "Healthcheck": {"Test": ["CMD-SHELL", "nc -z localhost 389"]}}});
        let f = facts_of_config(&config);
        assert_eq!(f.entrypoint.as_deref().map(shell_form), Some(true));
        assert_eq!(f.cmd, Some(vec![]));
        assert_eq!(f.user.as_deref(), Some("app"));
        assert_eq!(f.ports, Some(vec!["389/tcp".into(), "53/udp".into()]));
        assert_eq!(f.healthcheck.as_ref().map(Vec::len), Some(2));
        assert_eq!(platform_of(&config).as_deref(), Some("linux/arm64/v8"));
        assert_eq!(facts_of_config(&json!({})).user.as_deref(), Some(""));
    }

    #[test]
    fn the_written_lock_reads_back_the_same() {
        let mut lock = Lock { version: VERSION, images: BTreeMap::new() };
        lock.images.insert(
            "docker.io/library/busybox:1.37.0".into(),
            Entry {
                digest: Some(format!("sha256:{}", "00ff".repeat(16))),
                platforms: Some(vec!["linux/amd64".into(), "linux/arm64".into()]),
                cmd: Some(vec!["sh".into()]),
                user: Some("".into()),
                source: Source::registry("2026-11-28"),
                ..Entry::default()
            },
        );
        lock.images.insert(
            "ghcr.io/x/y:1".into(),
            Entry {
                writes: vec![Write { path: "/data".into(), owner: "1000".into() }],
                source: Source {
                    kind: SourceKind::Dockerfile,
                    repository: Some("github.com/x/y".into()),
                    path: Some("Dockerfile".into()),
                    commit: Some("abc".into()),
                    ..Source::default()
                },
                note: Some("a \"quoted\" note".into()),
                ..Entry::default()
            },
        );
        let text = lock.to_yaml();
        assert_eq!(Lock::parse(Path::new("l"), &text).unwrap(), lock, "{text}");
        assert_eq!(
            Lock::parse(Path::new("l"), &Lock { version: 1, images: BTreeMap::new() }.to_yaml())
                .unwrap()
                .images
                .len(),
            0
        );
    }

    #[test]
    fn the_catalog_lock_is_valid_and_in_the_form_update_writes() {
        let text = include_str!("../../../../images.lock.yaml");
        let lock = Lock::parse(Path::new(FILE_NAME), text).unwrap();
        assert_eq!(
            lock.to_yaml(),
            text,
            "images.lock.yaml is not in the form `cargo xtask images --update` writes"
        );
        // Until an online run confirms them, the catalog's entries come from upstream source.
        assert!(lock.images.values().all(|e| e.unconfirmed() || e.digest.is_some()));
    }

    #[test]
    fn bad_locks_name_the_file_and_place() {
        let e = Lock::parse(Path::new("images.lock.yaml"), "version: 1\nimages: [\n").unwrap_err();
        assert!(matches!(e, LockError::Syntax { line: 3, .. } | LockError::Syntax { line: 2, .. }), "{e}");
        for bad in [
            "version: 2\nimages: {}\n",
            "version: 1\nimages:\n  busybox:1: {source: {kind: registry}, digest: sha256:00}\n",
            "version: 1\nimages:\n  docker.io/library/busybox:1: {source: {kind: registry}}\n",
            "version: 1\nimages:\n  docker.io/library/busybox:1: {source: {kind: dockerfile}}\n",
            "version: 1\nimages:\n  docker.io/library/busybox:1: {source: {kind: registry}, digest: x, colour: red}\n",
            "version: 1\nimages:\n  docker.io/library/busybox:1: {source: {kind: registry}, digest: \"md5:0\"}\n",
        ] {
            let e = Lock::parse(Path::new("images.lock.yaml"), bad).unwrap_err().to_string();
            assert!(e.starts_with("images.lock.yaml"), "{e}");
        }
    }
}
