//! Kubernetes JSON schemas in kubeconform's layout
//! (`v{VERSION}-local-strict/{kind}-{group}-{version}.json`), provisioned like helm:
//! `KUBE_SCHEMA_DIR` overrides; else the cache; else the pinned, sha256-verified
//! `kubernetes-validate` wheel from PyPI (fetched with `pip download`), from
//! which only the version folders a run needs are extracted, atomically.

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

    /// The `v{version}-local-strict` folder, extracted first if needed.
    pub fn ensure(&self, version: &str) -> Result<PathBuf, SchemaError> {
        let folder = format!("v{version}-local-strict");
        match self {
            SchemaRoot::Override(dir) => {
                let p = dir.join(&folder);
                if p.join("_definitions.json").is_file() {
                    Ok(p)
                } else {
                    Err(SchemaError::MissingInOverride { dir: dir.clone(), folder })
                }
            }
            SchemaRoot::Cache(dir) => {
                let p = dir.join(&folder);
                if p.join("_definitions.json").is_file() {
                    return Ok(p);
                }
                // Charts are loaded in parallel: one thread fetches, the others wait for it.
                static FETCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());
                let _guard = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
                if p.join("_definitions.json").is_file() {
                    return Ok(p);
                }
                let wheel = ensure_wheel(dir).map_err(SchemaError::Provision)?;
                extract_version(&wheel, dir, &folder)?;
                Ok(p)
            }
        }
    }
}

/// The verified wheel in the cache, downloaded with pip when missing or corrupt.
fn ensure_wheel(dir: &Path) -> Result<PathBuf, String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let wheel = dir.join(WHEEL_FILE);
    if wheel.is_file() {
        if sha256_file(&wheel).is_ok_and(|s| s == WHEEL_SHA256) {
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

/// Extracts one version folder into a temp dir beside it, then renames it into place.
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
