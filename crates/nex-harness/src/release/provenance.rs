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

/// Where a signed chart names its key for Artifact Hub and users: `fingerprint` and
/// `url` (mandatory) of the public key (artifacthub/hub v1.22.0 docs/helm_annotations.md,
/// internal/tracker/source/helm/helm.go).
pub const SIGN_KEY_ANNOTATION: &str = "artifacthub.io/signKey";

/// The fingerprint of the signer's secret key, as gpg lists it (upper-case hex).
pub fn fingerprint(signer: &Signer) -> Result<String, SignError> {
    let archive = PathBuf::from(format!("(key {})", signer.key));
    let out = Command::new("gpg")
        .args(["--batch", "--with-colons", "--list-secret-keys", &signer.key])
        .output()
        .map_err(|source| SignError::Spawn { archive: archive.clone(), source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The primary key's `fpr` record is the first one after its `sec` record.
    let fpr = text
        .lines()
        .skip_while(|l| !l.starts_with("sec:"))
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .filter(|f| !f.is_empty());
    match fpr {
        Some(f) if out.status.success() => Ok(f.to_uppercase()),
        _ => Err(SignError::Gpg {
            archive,
            key: signer.key.clone(),
            stderr: format!("no such secret key: {}", String::from_utf8_lossy(&out.stderr).trim()),
        }),
    }
}

/// Why a chart signed with the key `fingerprint` does not name it in
/// `artifacthub.io/signKey` (the annotation of its Chart.yaml fields), if it does not.
pub fn sign_key_problem(annotations: Option<&serde_json::Value>, fingerprint: &str) -> Option<String> {
    let example = format!(
        "`{SIGN_KEY_ANNOTATION}: |` with `fingerprint: {fingerprint}` and `url: <where the public key is published>`"
    );
    let Some(text) = annotations.and_then(|a| a.get(SIGN_KEY_ANNOTATION)).and_then(|v| v.as_str()) else {
        return Some(format!(
            "signed with key {fingerprint}, but Chart.yaml names no key: add {example} (Artifact Hub shows it; users fetch the key there to verify)"
        ));
    };
    let parsed: Result<serde_json::Value, _> = serde_saphyr::from_str(text);
    let Ok(value) = parsed else {
        return Some(format!("{SIGN_KEY_ANNOTATION} is not YAML: write {example}"));
    };
    let named = value.get("fingerprint").and_then(|f| f.as_str()).unwrap_or_default();
    let named: String = named.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if named != fingerprint {
        return Some(format!(
            "{SIGN_KEY_ANNOTATION} names fingerprint {named:?}; the signing key is {fingerprint}"
        ));
    }
    if value.get("url").and_then(|u| u.as_str()).is_none_or(str::is_empty) {
        return Some(format!(
            "{SIGN_KEY_ANNOTATION} has no url (Artifact Hub requires one): write {example}"
        ));
    }
    None
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
    fn a_signed_chart_names_its_key_for_artifact_hub() {
        let fpr = "C874011F0AB405110D02105534365D9472D7468F";
        let with = |text: &str| serde_json::json!({SIGN_KEY_ANNOTATION: text});
        let good = with(
            "fingerprint: c874 011f 0ab4 0511 0d02 1055 3436 5d94 72d7 468f\nurl: https://x/pubkey.asc\n",
        );
        assert_eq!(sign_key_problem(Some(&good), fpr), None);
        assert!(sign_key_problem(None, fpr).unwrap().contains("names no key"));
        let other = with("fingerprint: AAAA\nurl: https://x\n");
        assert!(sign_key_problem(Some(&other), fpr).unwrap().contains("names fingerprint \"AAAA\""));
        let no_url = with(&format!("fingerprint: {fpr}\n"));
        assert!(sign_key_problem(Some(&no_url), fpr).unwrap().contains("has no url"));
    }

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
