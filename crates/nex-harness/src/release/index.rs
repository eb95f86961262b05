//! The chart repository's `index.yaml`: read, checked for immutability, merged
//! and written, with Helm's layout (`apiVersion`, `entries` by chart name,
//! newest version first, `generated`).

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "index.yaml";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a chart repository index: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// One chart archive ready to be listed: what its Chart.yaml says, plus where
/// it is and what it hashes to.
#[derive(Debug, Clone)]
pub struct Packaged {
    pub name: String,
    pub version: String,
    /// File name of the archive in the output folder (`<name>-<version>.tgz`).
    pub file_name: String,
    pub digest: String,
    /// Chart.yaml's fields, copied into the index entry as Helm does.
    pub metadata: Map<String, Value>,
}

/// A chart version the index already lists with other content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub name: String,
    pub version: String,
    pub published: String,
    pub packaged: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} is already published with digest {}, but the packaged chart has digest {}; \
             published versions are immutable: bump `version` in Chart.yaml",
            self.name, self.version, self.published, self.packaged
        )
    }
}

#[derive(serde::Deserialize)]
struct TypedIndex {
    #[serde(default)]
    entries: std::collections::BTreeMap<String, Vec<TypedEntry>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedEntry {
    version: Option<String>,
    digest: Option<String>,
    app_version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Index {
    entries: Map<String, Value>,
}

impl Default for Index {
    fn default() -> Self {
        Self { entries: Map::new() }
    }
}

impl Index {
    /// Reads an index; a missing file is an empty index.
    pub fn load(path: &Path) -> Result<Self, IndexError> {
        // A FIFO or `/dev/zero` in its place is an error, never a hang.
        let text = match crate::fsio::read_text(path, crate::fsio::limit::INDEX_FILE) {
            Ok(t) => t,
            Err(crate::fsio::FileError::Missing) => return Ok(Self::default()),
            Err(e) => return Err(IndexError::Read { path: path.to_owned(), source: e.into() }),
        };
        Self::parse(&text).map_err(|message| IndexError::Parse { path: path.to_owned(), message })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let doc: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let Value::Object(mut doc) = doc else { return Err("the top level is not a mapping".into()) };
        let entries = match doc.remove("entries") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err("`entries` is not a mapping".into()),
        };
        let mut entries = entries;
        for (name, versions) in entries.iter_mut() {
            let Value::Array(list) = versions else {
                return Err(format!("`entries.{name}` is not a list"));
            };
            if list.iter().any(|v| !v.is_object()) {
                return Err(format!("`entries.{name}` holds an item that is not a mapping"));
            }
        }
        // Untyped parsing reads `digest: 0123…` or `appVersion: 1.10` as
        // numbers; read those fields again as the strings they are.
        let typed: TypedIndex = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        for (name, list) in typed.entries {
            let Some(Value::Array(values)) = entries.get_mut(&name) else { continue };
            for (value, keys) in values.iter_mut().zip(list) {
                let Value::Object(map) = value else { continue };
                for (key, text) in
                    [("version", keys.version), ("digest", keys.digest), ("appVersion", keys.app_version)]
                {
                    if let Some(text) = text {
                        map.insert(key.into(), Value::String(text));
                    }
                }
            }
        }
        Ok(Self { entries })
    }

    /// The digest the index lists for a chart version, if it lists it.
    pub fn digest(&self, name: &str, version: &str) -> Option<&str> {
        self.find(name, version).map(|e| e.get("digest").and_then(Value::as_str).unwrap_or(""))
    }

    fn find(&self, name: &str, version: &str) -> Option<&Map<String, Value>> {
        self.entries
            .get(name)?
            .as_array()?
            .iter()
            .filter_map(Value::as_object)
            .find(|e| e.get("version").and_then(Value::as_str) == Some(version))
    }

    /// Every `(name, version)` listed.
    pub fn versions(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, list) in &self.entries {
            for e in list.as_array().into_iter().flatten() {
                if let Some(v) = e.get("version").and_then(Value::as_str) {
                    out.push((name.clone(), v.to_owned()));
                }
            }
        }
        out
    }

    /// Chart versions already listed with a different digest.
    pub fn conflicts(&self, packaged: &[Packaged]) -> Vec<Conflict> {
        packaged
            .iter()
            .filter_map(|p| {
                let published = self.digest(&p.name, &p.version)?;
                (published != p.digest).then(|| Conflict {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    published: published.to_owned(),
                    packaged: p.digest.clone(),
                })
            })
            .collect()
    }

    /// Adds the chart versions the index does not list yet; listed ones keep
    /// their entry (and `created` date) untouched. Returns what was added.
    /// Call after `conflicts` came back empty.
    pub fn merge(&mut self, packaged: &[Packaged], base_url: Option<&str>, now: &str) -> Vec<Packaged> {
        let mut added = Vec::new();
        for p in packaged {
            if self.find(&p.name, &p.version).is_some() {
                continue;
            }
            let mut entry = p.metadata.clone();
            let url = match base_url {
                Some(base) => format!("{}/{}", base.trim_end_matches('/'), p.file_name),
                None => p.file_name.clone(),
            };
            entry.insert("urls".into(), Value::Array(vec![Value::String(url)]));
            entry.insert("created".into(), Value::String(now.to_owned()));
            entry.insert("digest".into(), Value::String(p.digest.clone()));
            let list = self.entries.entry(p.name.clone()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                list.push(Value::Object(entry));
                sort_newest_first(list);
            }
            added.push(p.clone());
        }
        self.entries.sort_keys();
        added
    }

    pub fn to_yaml(&self, now: &str) -> Result<String, String> {
        let mut doc = Map::new();
        doc.insert("apiVersion".into(), Value::String("v1".into()));
        doc.insert("entries".into(), Value::Object(self.entries.clone()));
        doc.insert("generated".into(), Value::String(now.to_owned()));
        serde_saphyr::to_string(&Value::Object(doc)).map_err(|e| e.to_string())
    }

    pub fn write(&self, path: &Path, now: &str) -> Result<(), IndexError> {
        let text =
            self.to_yaml(now).map_err(|message| IndexError::Parse { path: path.to_owned(), message })?;
        super::archive::write_atomic(path, text.as_bytes())
            .map_err(|source| IndexError::Write { path: path.to_owned(), source })
    }
}

/// Helm lists a chart's versions newest first (SemVer order; unparsable last).
fn sort_newest_first(list: &mut [Value]) {
    let key =
        |v: &Value| v.get("version").and_then(Value::as_str).and_then(|s| semver::Version::parse(s).ok());
    list.sort_by_key(|v| std::cmp::Reverse(key(v)));
}

/// RFC 3339 UTC time for `created` and `generated`: `SOURCE_DATE_EPOCH` when
/// set (reproducible builds), else now.
pub fn timestamp() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    rfc3339(secs)
}

fn rfc3339(secs: i64) -> String {
    crate::dates::rfc3339(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packaged(name: &str, version: &str, digest: &str) -> Packaged {
        let mut metadata = Map::new();
        metadata.insert("apiVersion".into(), "v2".into());
        metadata.insert("name".into(), name.into());
        metadata.insert("version".into(), version.into());
        metadata.insert("appVersion".into(), "1.0".into());
        Packaged {
            name: name.into(),
            version: version.into(),
            file_name: format!("{name}-{version}.tgz"),
            digest: digest.into(),
            metadata,
        }
    }

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_764_000_000), "2025-11-24T16:00:00Z");
    }

    #[test]
    fn merge_keeps_published_entries_and_orders_versions() {
        let mut index = Index::default();
        let first = index.merge(&[packaged("a", "0.1.0", "d1")], None, "T1");
        assert_eq!(first.len(), 1);
        let added = index.merge(
            &[packaged("a", "0.1.0", "d1"), packaged("a", "0.10.0", "d3"), packaged("a", "0.2.0", "d2")],
            Some("https://example.org/repo/"),
            "T2",
        );
        assert_eq!(added.iter().map(|p| p.version.as_str()).collect::<Vec<_>>(), ["0.10.0", "0.2.0"]);
        let text = index.to_yaml("T2").unwrap();
        let back = Index::parse(&text).unwrap();
        let versions: Vec<_> = back.versions().into_iter().map(|(_, v)| v).collect();
        assert_eq!(versions, ["0.10.0", "0.2.0", "0.1.0"]);
        let old = back.find("a", "0.1.0").unwrap();
        assert_eq!(old["created"], "T1");
        assert_eq!(old["urls"][0], "a-0.1.0.tgz");
        assert_eq!(back.find("a", "0.2.0").unwrap()["urls"][0], "https://example.org/repo/a-0.2.0.tgz");
        // String-looking numbers stay strings through a round trip.
        assert_eq!(back.find("a", "0.2.0").unwrap()["appVersion"], "1.0");
        assert!(text.starts_with("apiVersion: v1\n"), "{text}");
    }

    #[test]
    fn a_changed_digest_for_a_published_version_is_a_conflict() {
        let mut index = Index::default();
        index.merge(&[packaged("a", "0.1.0", "d1"), packaged("b", "1.0.0", "e1")], None, "T");
        let conflicts = index.conflicts(&[packaged("a", "0.1.0", "d1"), packaged("b", "1.0.0", "e2")]);
        assert_eq!(
            conflicts,
            [Conflict {
                name: "b".into(),
                version: "1.0.0".into(),
                published: "e1".into(),
                packaged: "e2".into()
            }]
        );
        let msg = conflicts[0].to_string();
        assert!(msg.contains("b 1.0.0") && msg.contains("e1") && msg.contains("e2"), "{msg}");
        assert!(index.conflicts(&[packaged("b", "1.0.1", "e2")]).is_empty());
    }

    #[test]
    fn reads_a_helm_written_index() {
        let text = "apiVersion: v1\nentries:\n  hello:\n  - apiVersion: v2\n    appVersion: 1.27.3\n    created: \"2026-11-25T07:33:00.1+00:00\"\n    digest: abc\n    name: hello\n    urls:\n    - hello-0.1.0.tgz\n    version: 0.1.0\ngenerated: \"2026-11-25T07:33:00Z\"\n";
        let index = Index::parse(text).unwrap();
        assert_eq!(index.digest("hello", "0.1.0"), Some("abc"));
        assert_eq!(index.digest("hello", "0.2.0"), None);
        // Scalars that look like numbers stay the strings they are.
        let text = text.replace("digest: abc", "digest: 0000123").replace("1.27.3", "1.10");
        let index = Index::parse(&text).unwrap();
        assert_eq!(index.digest("hello", "0.1.0"), Some("0000123"));
        assert_eq!(index.find("hello", "0.1.0").unwrap()["appVersion"], "1.10");
        assert!(Index::parse("entries: [1]\n").is_err());
        assert!(Index::parse("- a\n").is_err());
    }
}
