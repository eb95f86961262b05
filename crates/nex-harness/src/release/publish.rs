//! `cargo xtask publish --oci REF`: pushes every packaged chart (the archives
//! `index.yaml` lists in the package folder) to an OCI registry. A version the
//! registry already holds is pulled and compared: the same bytes are skipped,
//! other bytes are refused (published versions are immutable there too).

use super::index::Index;
use crate::helm::Helm;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0} is not an OCI reference: it must look like oci://HOST[:PORT]/PATH")]
    BadRef(String),
    #[error(
        "{dir} holds no packaged charts (no index.yaml listing archives there); run `cargo xtask package --out {dir}` first"
    )]
    Nothing { dir: PathBuf },
    #[error("{file}: its digest {actual} is not the {listed} index.yaml lists; re-run `cargo xtask package`")]
    Tampered { file: PathBuf, listed: String, actual: String },
    #[error(transparent)]
    Index(#[from] super::index::IndexError),
    #[error(transparent)]
    Helm(#[from] crate::helm::HelmError),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Pushed now; the manifest digest the registry returned (for signing).
    Pushed { manifest: String },
    /// The registry already holds these exact bytes; its manifest digest (for
    /// signing what an earlier, interrupted run pushed but never signed).
    Unchanged { manifest: String },
    /// The registry holds other bytes under this version.
    Conflict { remote: String },
    /// helm failed; its words.
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Published {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub status: Status,
}

/// `oci://host/path` without a trailing slash; anything else is a usage error.
pub fn parse_ref(reference: &str) -> Result<String, PublishError> {
    let rest = reference.strip_prefix("oci://").ok_or_else(|| PublishError::BadRef(reference.into()))?;
    let rest = rest.trim_end_matches('/');
    let (host, _) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['@', '?', '#']) {
        return Err(PublishError::BadRef(reference.into()));
    }
    Ok(format!("oci://{rest}"))
}

/// The archives to push: every `index.yaml` entry whose archive is in `dir`.
pub fn packaged(dir: &Path) -> Result<Vec<(String, String, PathBuf, String)>, PublishError> {
    let index = Index::load(&dir.join(super::index::FILE_NAME))?;
    let mut out = Vec::new();
    for (name, version) in index.versions() {
        // Names come from a file: one that leads out of `dir` (`../`, a link) is refused.
        let file =
            crate::fsio::confine(dir, dir, Path::new(&format!("{name}-{version}.tgz"))).map_err(|e| {
                PublishError::Io {
                    path: dir.join(format!("{name}-{version}.tgz")),
                    source: std::io::Error::other(e),
                }
            })?;
        if !file.is_file() {
            continue; // merged from an earlier release; not built here
        }
        // Streamed: an archive is hashed, never held whole.
        let actual = sha256_file(&file)?;
        let listed = index.digest(&name, &version).unwrap_or_default().to_owned();
        if actual != listed {
            return Err(PublishError::Tampered { file, listed, actual });
        }
        out.push((name, version, file, actual));
    }
    if out.is_empty() {
        return Err(PublishError::Nothing { dir: dir.to_owned() });
    }
    Ok(out)
}

pub fn run(
    helm: &Helm,
    dir: &Path,
    reference: &str,
    plain_http: bool,
) -> Result<Vec<Published>, PublishError> {
    let reference = parse_ref(reference)?;
    let charts = packaged(dir)?;
    let scratch = tempfile::tempdir().map_err(|source| PublishError::Io { path: dir.to_owned(), source })?;
    let mut results = Vec::new();
    for (i, (name, version, file, digest)) in charts.into_iter().enumerate() {
        let pulled = scratch.path().join(i.to_string());
        let status = match remote_digest(helm, &reference, &name, &version, plain_http, &pulled)? {
            Remote::Digest { archive, manifest } if archive == digest => Status::Unchanged { manifest },
            Remote::Digest { archive, .. } => Status::Conflict { remote: archive },
            Remote::Error(e) => Status::Failed(e),
            Remote::Absent => push(helm, &file, &reference, plain_http)?,
        };
        results.push(Published { name, version, digest, status });
    }
    Ok(results)
}

enum Remote {
    Absent,
    /// The archive's sha256 and the manifest digest helm printed on pulling it.
    Digest {
        archive: String,
        manifest: String,
    },
    Error(String),
}

/// Pulls `name:version` back to learn whether (and with which bytes) the registry holds it.
fn remote_digest(
    helm: &Helm,
    reference: &str,
    name: &str,
    version: &str,
    plain_http: bool,
    dest: &Path,
) -> Result<Remote, PublishError> {
    std::fs::create_dir_all(dest).map_err(|source| PublishError::Io { path: dest.to_owned(), source })?;
    let mut cmd = helm.command();
    cmd.args(["pull", &format!("{reference}/{name}"), "--version", version, "--destination"]).arg(dest);
    if plain_http {
        cmd.arg("--plain-http");
    }
    let out = helm.run(cmd)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Ok(if is_absent(&err) { Remote::Absent } else { Remote::Error(err) });
    }
    let file = dest.join(format!("{name}-{version}.tgz"));
    let archive = sha256_file(&file)?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let manifest = manifest_digest(&text).unwrap_or_default();
    Ok(Remote::Digest { archive, manifest })
}

/// The hex sha256 of an archive, streamed and capped.
fn sha256_file(file: &Path) -> Result<String, PublishError> {
    crate::fsio::hash_capped(file, crate::fsio::limit::ARCHIVE)
        .map(|d| crate::cache::hex(&d))
        .map_err(|e| PublishError::Io { path: file.to_owned(), source: e.into() })
}

/// Whether a failed pull means the registry does not hold the chart version.
/// Registries answer an unknown repository or tag with 404 ("not found",
/// "manifest unknown", "name unknown"); some (ghcr.io) deny reading a package
/// that does not exist yet. Pushing is then the right move: if the denial was
/// real, the push fails and says so. Network failures are errors.
pub fn is_absent(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    ["not found", "manifest unknown", "name unknown", "404", "denied", "403", "unauthorized"]
        .iter()
        .any(|m| s.contains(m))
}

fn push(helm: &Helm, file: &Path, reference: &str, plain_http: bool) -> Result<Status, PublishError> {
    let mut cmd = helm.command();
    cmd.arg("push").arg(file).arg(reference);
    if plain_http {
        cmd.arg("--plain-http");
    }
    let out = helm.run(cmd)?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Ok(Status::Failed(text.trim().to_owned()));
    }
    Ok(Status::Pushed { manifest: manifest_digest(&text).unwrap_or_default() })
}

/// `Digest: sha256:…` from helm push's or pull's output (Helm 3 and 4 both print it).
pub fn manifest_digest(output: &str) -> Option<String> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Digest:"))
        .map(|d| d.trim().to_owned())
        .filter(|d| d.starts_with("sha256:") && d.len() == 71)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_references() {
        assert_eq!(parse_ref("oci://127.0.0.1:5000/charts/").unwrap(), "oci://127.0.0.1:5000/charts");
        assert_eq!(parse_ref("oci://ghcr.io/me/charts").unwrap(), "oci://ghcr.io/me/charts");
        for bad in ["ghcr.io/me/charts", "oci://", "oci:///charts", "oci://h/c:1@sha256:x", "https://h/c"] {
            assert!(parse_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tells_an_absent_chart_from_a_broken_registry() {
        assert!(is_absent("Error: 127.0.0.1:5000/charts/hello:0.1.0: not found"));
        assert!(is_absent("Error: failed to authorize: unexpected status from GET request: 403 Forbidden"));
        assert!(!is_absent(
            "Error: Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"
        ));
        assert!(!is_absent("Error: http: server gave HTTP response to HTTPS client"));
    }

    #[test]
    fn archives_the_index_names_outside_the_folder_are_never_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dist = tmp.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(tmp.path().join("secret-1.tgz"), "not a chart").unwrap();
        let digest =
            crate::cache::hex(&crate::fsio::hash_capped(&tmp.path().join("secret-1.tgz"), 100).unwrap());
        let index = |name: &str| {
            std::fs::write(
                dist.join("index.yaml"),
                format!(
                    "apiVersion: v1\nentries:\n  {name}:\n    - version: \"1\"\n      digest: {digest}\n"
                ),
            )
            .unwrap();
        };
        index("\"../secret\"");
        let e = packaged(&dist).unwrap_err().to_string();
        assert!(e.contains("leaves") && e.contains("../secret-1.tgz"), "{e}");
        index("\"/tmp/x\"");
        assert!(packaged(&dist).is_err());
        // A link in the folder leading out of it is refused as well.
        index("app");
        std::os::unix::fs::symlink(tmp.path().join("secret-1.tgz"), dist.join("app-1.tgz")).unwrap();
        let e = packaged(&dist).unwrap_err().to_string();
        assert!(e.contains("is a link to"), "{e}");
        // The archive itself is hashed, streamed, and compared with the index.
        std::fs::remove_file(dist.join("app-1.tgz")).unwrap();
        std::fs::copy(tmp.path().join("secret-1.tgz"), dist.join("app-1.tgz")).unwrap();
        let found = packaged(&dist).unwrap();
        assert_eq!(found, [("app".to_owned(), "1".to_owned(), dist.join("app-1.tgz"), digest)]);
    }

    #[test]
    fn reads_the_pushed_digest() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let out = format!("Pushed: 127.0.0.1:5000/charts/hello:0.1.0\nDigest: {d}\n");
        assert_eq!(manifest_digest(&out), Some(d));
        assert_eq!(manifest_digest("nothing"), None);
        assert_eq!(manifest_digest("Digest: sha256:abc123"), None, "not a digest");
    }

    #[test]
    fn nothing_packaged_is_an_error_naming_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let err = packaged(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("cargo xtask package"), "{err}");
    }
}
