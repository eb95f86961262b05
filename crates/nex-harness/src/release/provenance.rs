//! Helm provenance (`<archive>.prov`) for the HTTP repository.
//!
//! `helm package --sign` signs the archive it writes, but the harness rewrites
//! archives afterwards (reproducible bytes), which would void that signature.
//! So the provenance is made here, over the final bytes, in Helm's format
//! (helm `pkg/provenance/sign.go`): the chart's Chart.yaml, a `...` line, then
//! `files: {<archive>: sha256:<hex>}`, clear-signed with OpenPGP (gpg).
//! `helm verify` and `helm pull --verify` check the signature and the sum.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The text that gets signed. `helm verify` reads the sums after the `...`
/// line; the metadata before it is informational.
pub fn message_block(chart_yaml: &str, file_name: &str, sha256_hex: &str) -> String {
    // A `...` line inside the metadata would end it early; Chart.yaml never
    // needs one, but a stray one must not make the sums unreadable.
    let metadata: String =
        chart_yaml.lines().filter(|l| l.trim_end() != "...").map(|l| format!("{l}\n")).collect();
    format!("{}\n...\nfiles:\n  {file_name}: sha256:{sha256_hex}\n", metadata.trim_end_matches('\n'))
}

/// How to sign: a gpg secret key (id, fingerprint or user id) in `GNUPGHOME`
/// (or gpg's default home), and optionally a file holding its passphrase.
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: String,
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot run gpg to sign {archive}: {source} (install gnupg)")]
    Spawn { archive: PathBuf, source: std::io::Error },
    #[error("gpg could not sign {archive} with key {key}: {stderr}")]
    Gpg { archive: PathBuf, key: String, stderr: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// `gpg` arguments for a clear signature by `signer` (SHA-512, as Helm signs).
pub fn gpg_args(signer: &Signer) -> Vec<String> {
    let mut a: Vec<String> =
        ["--batch", "--yes", "--armor", "--digest-algo", "SHA512", "--local-user", &signer.key]
            .iter()
            .map(|s| s.to_string())
            .collect();
    if let Some(p) = &signer.passphrase_file {
        a.extend(["--pinentry-mode".into(), "loopback".into(), "--passphrase-file".into()]);
        a.push(p.display().to_string());
    }
    a.push("--clearsign".into());
    a
}

/// Writes `<archive>.prov` beside the archive.
pub fn sign(
    archive: &Path,
    chart_yaml: &str,
    sha256_hex: &str,
    signer: &Signer,
) -> Result<PathBuf, SignError> {
    use std::io::Write;
    let name = archive.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let block = message_block(chart_yaml, &name, sha256_hex);
    let spawn = |source| SignError::Spawn { archive: archive.to_owned(), source };
    let mut child = Command::new("gpg")
        .args(gpg_args(signer))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    child.stdin.take().map(|mut s| s.write_all(block.as_bytes())).transpose().map_err(spawn)?;
    let out = child.wait_with_output().map_err(spawn)?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(SignError::Gpg {
            archive: archive.to_owned(),
            key: signer.key.clone(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let mut prov = archive.as_os_str().to_owned();
    prov.push(".prov");
    let prov = PathBuf::from(prov);
    super::archive::write_atomic(&prov, &out.stdout)
        .map_err(|source| SignError::Write { path: prov.clone(), source })?;
    Ok(prov)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_block_is_helms() {
        let b = message_block("apiVersion: v2\nname: x\nversion: 1.0.0\n", "x-1.0.0.tgz", "ab12");
        assert_eq!(b, "apiVersion: v2\nname: x\nversion: 1.0.0\n...\nfiles:\n  x-1.0.0.tgz: sha256:ab12\n");
        // The sums stay the second part even when the metadata holds a `...` line.
        let b = message_block("name: x\n...\n", "x.tgz", "00");
        assert_eq!(b.split("\n...\n").nth(1), Some("files:\n  x.tgz: sha256:00\n"));
    }

    #[test]
    fn gpg_signs_with_the_named_key_in_batch() {
        let a = gpg_args(&Signer { key: "ABCD".into(), passphrase_file: Some("/run/p".into()) });
        assert!(a.windows(2).any(|w| w == ["--local-user", "ABCD"]));
        assert!(a.windows(2).any(|w| w == ["--passphrase-file", "/run/p"]));
        assert!(a.windows(2).any(|w| w == ["--digest-algo", "SHA512"]));
        assert_eq!(a.last().unwrap(), "--clearsign");
        assert!(
            !gpg_args(&Signer { key: "k".into(), passphrase_file: None }).contains(&"--pinentry-mode".into())
        );
    }
}
