//! Kubernetes JSON schemas in kubeconform's layout
//! (`v{VERSION}-local-strict/{kind}-{group}-{version}.json`), provisioned like helm:
//! `KUBE_SCHEMA_DIR` overrides; else the cache; else the pinned, sha256-verified
//! `kubernetes-validate` wheel from PyPI (fetched with `pip download`), from
//! which only the files a run needs are extracted, each atomically: a
//! version's `_definitions.json` (and the list of its files) when a render
//! first names the version, a kind's schema when an object of it is first
//! validated; [`SchemaRoot::ensure`] extracts a whole version folder.

use crate::provision::sha256_file;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const WHEEL_PACKAGE: &str = "kubernetes-validate";
pub const WHEEL_VERSION: &str = "1.37.0";
pub const WHEEL_FILE: &str = "kubernetes_validate-1.37.0-py3-none-any.whl";
pub const WHEEL_SHA256: &str = "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9";
const WHEEL_PREFIX: &str = "kubernetes_validate/kubernetes-json-schema/";

#[derive(Debug, Clone, thiserror::Error)]
pub enum SchemaError {
    #[error("KUBE_SCHEMA_DIR={dir}: no {folder} folder in it")]
    MissingInOverride { dir: PathBuf, folder: String },
    #[error(
        "cannot provision Kubernetes schemas ({WHEEL_PACKAGE}=={WHEEL_VERSION}): {0}; \
         set KUBE_SCHEMA_DIR to a folder with kubeconform's v<VERSION>-local-strict layout"
    )]
    Provision(String),
    #[error("{WHEEL_PACKAGE}=={WHEEL_VERSION} has no schemas for Kubernetes {0}")]
    UnknownVersion(String),
}

/// Where schema folders come from.
#[derive(Debug, Clone)]
pub enum SchemaRoot {
    /// `KUBE_SCHEMA_DIR`: used as is, never written to.
    Override(PathBuf),
    /// `<cache>/kube-schemas/kubernetes-validate-1.37.0`, filled on demand.
    Cache(PathBuf),
}

/// What a `KUBE_SCHEMA_DIR` holds: every file's path, size and modification
/// time (nanoseconds), hashed once per run. Editing, adding or removing a
/// schema changes it, so cached validations against the old files are not
/// served; reading every byte of the folder (hundreds of megabytes for all
/// versions) on each run would cost more than the cache saves.
fn dir_identity(dir: &Path) -> String {
    static MEMO: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    let mut memo = MEMO.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, id)) = memo.iter().find(|(d, _)| d == dir) {
        return id.clone();
    }
    let mut files: Vec<(PathBuf, u64, u128)> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let meta = e.metadata().ok();
            let size = meta.as_ref().map_or(0, |m| m.len());
            let mtime = meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            (e.into_path(), size, mtime)
        })
        .collect();
    files.sort();
    let mut k = crate::cache::KeyBuilder::new("schema dir");
    for (path, size, mtime) in files {
        k = k.str(&path.to_string_lossy()).str(&size.to_string()).str(&mtime.to_string());
    }
    let id = k.finish().0;
    memo.push((dir.to_path_buf(), id.clone()));
    id
}

impl SchemaRoot {
    pub fn from_env(cache: &Path) -> Self {
        match std::env::var_os("KUBE_SCHEMA_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => SchemaRoot::Override(PathBuf::from(dir)),
            None => {
                SchemaRoot::Cache(cache.join("kube-schemas").join(format!("{WHEEL_PACKAGE}-{WHEEL_VERSION}")))
            }
        }
    }

    /// A label that changes when the schemas may differ (part of validation cache keys).
    pub fn identity(&self) -> String {
        match self {
            SchemaRoot::Override(d) => format!("dir:{} {}", d.display(), dir_identity(d)),
            SchemaRoot::Cache(_) => format!("{WHEEL_PACKAGE}=={WHEEL_VERSION}:{WHEEL_SHA256}"),
        }
    }

    /// The `v{version}-local-strict` folder, all of it, extracted first if needed.
    pub fn ensure(&self, version: &str) -> Result<PathBuf, SchemaError> {
        let folder = folder(version);
        match self {
            SchemaRoot::Override(_) => self.definitions(version),
            SchemaRoot::Cache(dir) => {
                let p = dir.join(&folder);
                // Extracted lazily, a folder keeps the list of its files until it is whole.
                if p.join(DEFINITIONS).is_file() && !p.join(INDEX).exists() {
                    return Ok(p);
                }
                let _guard = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
                if p.join(DEFINITIONS).is_file() && !p.join(INDEX).exists() {
                    return Ok(p);
                }
                let wheel = ensure_wheel(dir).map_err(SchemaError::Provision)?;
                extract_version(&wheel, dir, &folder)?;
                Ok(p)
            }
        }
    }

    /// The version's folder with its `_definitions.json`; in the cache, only
    /// that file (and the list of the folder's files) is extracted.
    pub fn definitions(&self, version: &str) -> Result<PathBuf, SchemaError> {
        let folder = folder(version);
        match self {
            SchemaRoot::Override(dir) => {
                let p = dir.join(&folder);
                if p.join(DEFINITIONS).is_file() {
                    Ok(p)
                } else {
                    Err(SchemaError::MissingInOverride { dir: dir.clone(), folder })
                }
            }
            SchemaRoot::Cache(dir) => {
                let p = dir.join(&folder);
                if p.join(DEFINITIONS).is_file() {
                    return Ok(p);
                }
                // Charts are loaded in parallel: one thread fetches, the others wait for it.
                let _guard = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
                if p.join(DEFINITIONS).is_file() {
                    return Ok(p);
                }
                let wheel = ensure_wheel(dir).map_err(SchemaError::Provision)?;
                extract_definitions(&wheel, dir, &folder)?;
                Ok(p)
            }
        }
    }

    /// The schema file `name` (`deployment-apps-v1.json`) of a version, or
    /// `None` when the version has none (a kind Kubernetes does not define).
    pub fn kind_file(&self, version: &str, name: &str) -> Result<Option<PathBuf>, SchemaError> {
        let dir = self.definitions(version)?;
        let file = dir.join(name);
        if file.is_file() {
            return Ok(Some(file));
        }
        let SchemaRoot::Cache(root) = self else { return Ok(None) };
        // Not extracted yet, or not in the wheel: the folder's list says which.
        let listed = match crate::fsio::read_text(&dir.join(INDEX), crate::fsio::limit::KUBE_SCHEMA) {
            Ok(index) => index.lines().any(|l| l == name),
            // A whole folder (no list) holds every file it has.
            Err(_) => false,
        };
        if !listed || name.contains('/') || name.contains("..") {
            return Ok(None);
        }
        let wheel = ensure_wheel(root).map_err(SchemaError::Provision)?;
        extract_member(&wheel, &dir, &format!("{WHEEL_PREFIX}{}/{name}", folder(version)), name)?;
        Ok(Some(file))
    }
}

const DEFINITIONS: &str = "_definitions.json";
/// The API versions a version serves (one a line), derived from its definitions once.
pub const SERVED: &str = "_served";
/// The folder of the definitions each kind reaches (a definitions document
/// of its own, descriptions left out), derived once per kind.
pub const BUNDLES: &str = "_kinds";
/// The files of a version folder in the wheel, one a line, while it is extracted lazily.
const INDEX: &str = "_index";

/// One thread of a run fetches or extracts at a time; the others wait for it.
static FETCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn folder(version: &str) -> String {
    format!("v{version}-local-strict")
}

/// The verified wheel in the cache, downloaded with pip when missing or corrupt.
fn ensure_wheel(dir: &Path) -> Result<PathBuf, String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let wheel = dir.join(WHEEL_FILE);
    if wheel.is_file() {
        if crate::provision::verified_sha256(&wheel, WHEEL_SHA256) {
            return Ok(wheel);
        }
        let _ = crate::fsio::remove_file_within(dir, &wheel);
    }
    let work = tempfile::Builder::new()
        .prefix(".pip-")
        .tempdir_in(dir)
        .map_err(|e| format!("cannot create a temp dir in {}: {e}", dir.display()))?;
    let spec = format!("{WHEEL_PACKAGE}=={WHEEL_VERSION}");
    let mut last = String::new();
    for pip in [&["pip"][..], &["pip3"], &["python3", "-m", "pip"]] {
        let out = Command::new(pip[0])
            .args(&pip[1..])
            .args([
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
            ])
            .arg(work.path())
            .arg(&spec)
            .output();
        match out {
            Ok(o) if o.status.success() => {
                last.clear();
                break;
            }
            Ok(o) => {
                last = format!("{} failed: {}", pip.join(" "), String::from_utf8_lossy(&o.stderr).trim())
            }
            Err(e) => last = format!("cannot run {}: {e}", pip.join(" ")),
        }
    }
    if !last.is_empty() {
        return Err(last);
    }
    let got = work.path().join(WHEEL_FILE);
    let sum = sha256_file(&got).map_err(|e| format!("pip produced no {WHEEL_FILE}: {e}"))?;
    if sum != WHEEL_SHA256 {
        return Err(format!("checksum mismatch for {WHEEL_FILE}: expected {WHEEL_SHA256}, got {sum}"));
    }
    crate::fsio::rename_within(dir, &got, &wheel)
        .map_err(|e| format!("cannot move the wheel into {}: {e}", dir.display()))?;
    Ok(wheel)
}

/// Lists a version folder of the wheel into `<folder>/_index`, then extracts
/// its `_definitions.json` (last: its presence says the folder is usable).
fn extract_definitions(wheel: &Path, dir: &Path, folder: &str) -> Result<(), SchemaError> {
    let fail = |e: String| SchemaError::Provision(e);
    let (file, _) =
        crate::fsio::open_capped(wheel, crate::fsio::limit::ARCHIVE).map_err(|e| fail(e.to_string()))?;
    let zip = zip::ZipArchive::new(file).map_err(|e| fail(format!("{WHEEL_FILE}: {e}")))?;
    let prefix = format!("{WHEEL_PREFIX}{folder}/");
    let names: Vec<String> = zip
        .file_names()
        .flatten()
        .filter_map(|n| n.strip_prefix(&prefix).map(str::to_owned))
        .filter(|n| !n.is_empty() && !n.contains('/') && n.ends_with(".json"))
        .collect();
    if !names.iter().any(|n| n == DEFINITIONS) {
        return Err(SchemaError::UnknownVersion(folder.trim_start_matches('v').replace("-local-strict", "")));
    }
    let dest = dir.join(folder);
    fs::create_dir_all(&dest).map_err(|e| fail(format!("cannot create {}: {e}", dest.display())))?;
    write_atomic(&dest, INDEX, names.join("\n").as_bytes()).map_err(fail)?;
    drop(zip);
    extract_member(wheel, &dest, &format!("{prefix}{DEFINITIONS}"), DEFINITIONS)
}

/// Extracts one member of the wheel to `dest/name`, through a temp file.
fn extract_member(wheel: &Path, dest: &Path, member: &str, name: &str) -> Result<(), SchemaError> {
    let fail = |e: String| SchemaError::Provision(e);
    let (file, _) =
        crate::fsio::open_capped(wheel, crate::fsio::limit::ARCHIVE).map_err(|e| fail(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(format!("{WHEEL_FILE}: {e}")))?;
    let entry = zip.by_name(member).map_err(|e| fail(format!("{WHEEL_FILE}: {member}: {e}")))?;
    let mut tmp = crate::fsio::Staged::new_in(dest, ".extract-").map_err(|e| fail(e.to_string()))?;
    let mut capped = io::Read::take(entry, crate::fsio::limit::KUBE_SCHEMA);
    io::copy(&mut capped, tmp.file()).map_err(|e| fail(format!("extracting {name}: {e}")))?;
    tmp.publish(&dest.join(name)).map_err(|e| fail(e.to_string()))
}

/// Writes `dir/name` whole or not at all (a file derived from the wheel: it can be made again).
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    crate::fsio::write_scratch(dir, &dir.join(name), bytes).map_err(|e| e.to_string())
}

/// Extracts one version folder into a temp dir beside it, then renames it into
/// place (over a lazily extracted one, whose files it holds too).
fn extract_version(wheel: &Path, dir: &Path, folder: &str) -> Result<(), SchemaError> {
    let fail = |e: String| SchemaError::Provision(e);
    let (file, _) =
        crate::fsio::open_capped(wheel, crate::fsio::limit::ARCHIVE).map_err(|e| fail(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(format!("{WHEEL_FILE}: {e}")))?;
    let prefix = format!("{WHEEL_PREFIX}{folder}/");
    let tmp =
        tempfile::Builder::new().prefix(".extract-").tempdir_in(dir).map_err(|e| fail(e.to_string()))?;
    let mut count = 0;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| fail(e.to_string()))?;
        let Ok(full) = entry.name().map(|n| n.into_owned()) else { continue };
        let Some(name) = full.strip_prefix(&prefix).map(str::to_owned) else { continue };
        if name.is_empty() || name.contains('/') || name.contains("..") || !name.ends_with(".json") {
            continue;
        }
        let mut out = crate::fsio::create_output(&tmp.path().join(&name)).map_err(|e| fail(e.to_string()))?;
        io::copy(&mut entry, &mut out).map_err(|e| fail(format!("extracting {name}: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(SchemaError::UnknownVersion(folder.trim_start_matches('v').replace("-local-strict", "")));
    }
    let tmp = tmp.keep();
    let dest = dir.join(folder);
    // A lazily extracted folder is replaced whole (a concurrent reader may miss a file once).
    if dest.join(INDEX).exists() {
        let _ = crate::fsio::remove_dir_all_within(dir, &dest);
    }
    if let Err(e) = crate::fsio::rename_within(dir, &tmp, &dest) {
        let _ = crate::fsio::remove_dir_all_within(dir, &tmp);
        // Another run won the race: its copy is as good as ours.
        if !dest.join("_definitions.json").is_file() {
            return Err(fail(format!("cannot move schemas into {}: {e}", dest.display())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Write;

    fn wheel(path: &Path) {
        let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("v1.25.0-local-strict/_definitions.json", "{}"),
            ("v1.25.0-local-strict/service-v1.json", "{\"type\": \"object\"}"),
            ("v1.25.0-local/service-v1.json", "{}"),
            ("v1.37.0-local-strict/_definitions.json", "{}"),
        ] {
            zip.start_file(format!("{WHEEL_PREFIX}{name}"), opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn only_the_asked_version_folder_is_extracted() {
        let tmp = tempfile::tempdir().unwrap();
        let whl = tmp.path().join(WHEEL_FILE);
        wheel(&whl);
        extract_version(&whl, tmp.path(), "v1.25.0-local-strict").unwrap();
        let dir = tmp.path().join("v1.25.0-local-strict");
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["_definitions.json", "service-v1.json"]);
        assert!(!tmp.path().join("v1.37.0-local-strict").exists());
        // No temp folders are left behind.
        assert!(
            fs::read_dir(tmp.path()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
        );
        let err = extract_version(&whl, tmp.path(), "v1.99.0-local-strict").unwrap_err();
        assert!(matches!(err, SchemaError::UnknownVersion(v) if v == "1.99.0"));
    }

    #[test]
    fn lazily_the_definitions_and_the_folder_list_come_first_then_single_kinds() {
        let tmp = tempfile::tempdir().unwrap();
        let whl = tmp.path().join(WHEEL_FILE);
        wheel(&whl);
        extract_definitions(&whl, tmp.path(), "v1.25.0-local-strict").unwrap();
        let dir = tmp.path().join("v1.25.0-local-strict");
        let names = |dir: &Path| {
            let mut n: Vec<String> = fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(&dir), ["_definitions.json", "_index"]);
        assert_eq!(fs::read_to_string(dir.join(INDEX)).unwrap(), "_definitions.json\nservice-v1.json");
        let member = format!("{WHEEL_PREFIX}v1.25.0-local-strict/service-v1.json");
        extract_member(&whl, &dir, &member, "service-v1.json").unwrap();
        assert_eq!(fs::read_to_string(dir.join("service-v1.json")).unwrap(), "{\"type\": \"object\"}");
        assert_eq!(names(&dir), ["_definitions.json", "_index", "service-v1.json"], "no temp file is left");
        let err = extract_definitions(&whl, tmp.path(), "v1.99.0-local-strict").unwrap_err();
        assert!(matches!(err, SchemaError::UnknownVersion(v) if v == "1.99.0"));
        // A whole extraction replaces the lazy folder, list and all.
        extract_version(&whl, tmp.path(), "v1.25.0-local-strict").unwrap();
        assert_eq!(names(&dir), ["_definitions.json", "service-v1.json"]);
    }

    #[test]
    fn an_override_without_the_version_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = SchemaRoot::Override(tmp.path().to_path_buf());
        let err = root.ensure("1.30.0").unwrap_err().to_string();
        assert!(err.contains("v1.30.0-local-strict"), "{err}");
        fs::create_dir_all(tmp.path().join("v1.30.0-local-strict")).unwrap();
        fs::write(tmp.path().join("v1.30.0-local-strict/_definitions.json"), "{}").unwrap();
        assert_eq!(root.ensure("1.30.0").unwrap(), tmp.path().join("v1.30.0-local-strict"));
    }
}
