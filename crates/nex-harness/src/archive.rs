//! Chart archives made reproducible: the same chart content always gives the
//! same bytes, hence the same digest, whatever the files' mtimes in this clone.
//!
//! `helm package` stamps each tar entry with the source file's mtime (and Helm 3
//! with the packaging time), so two clones of one commit would publish two
//! digests for one chart version. Rewriting the archive with fixed metadata
//! makes the digest a function of content alone, which is what the
//! immutability check compares.

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// The mtime written into every entry and the gzip header.
const EPOCH: u64 = 0;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a gzipped tar archive: {0}")]
    Read(#[source] io::Error),
    #[error("archive entry {path}: unsupported type (only regular files are packaged)")]
    EntryType { path: String },
    #[error("no {0} in the archive")]
    Missing(String),
    #[error("the archive unpacks to more than {limit} bytes", limit = crate::fsio::limit::ARCHIVE)]
    TooLarge,
}

/// A regular file inside a chart archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub data: Vec<u8>,
}

/// Reads every regular file of a `.tgz`, in archive order.
/// What it unpacks to is bounded ([`crate::fsio::limit::ARCHIVE`] bytes in all).
pub fn read_entries(tgz: &[u8]) -> Result<Vec<Entry>, ArchiveError> {
    let limit = crate::fsio::limit::ARCHIVE;
    let mut archive = tar::Archive::new(GzDecoder::new(tgz).take(limit));
    let mut out = Vec::new();
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(ArchiveError::Read)?;
        let path = entry.path().map_err(ArchiveError::Read)?.to_string_lossy().into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            // Helm writes files only; directories carry nothing to keep.
            tar::EntryType::Directory => continue,
            _ => return Err(ArchiveError::EntryType { path }),
        }
        total = total.saturating_add(entry.size());
        if total >= limit {
            return Err(ArchiveError::TooLarge);
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut data).map_err(ArchiveError::Read)?;
        out.push(Entry { path, data });
    }
    Ok(out)
}

/// Rewrites a chart archive with fixed metadata (mtime, owner, mode, gzip
/// header). Nested chart archives (vendored dependencies under `charts/`) are
/// normalised too, since their bytes are part of the outer content.
pub fn normalize(tgz: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    build(read_entries(tgz)?)
}

/// Writes entries as a chart archive with the fixed metadata of [`normalize`].
pub fn build(entries: Vec<Entry>) -> Result<Vec<u8>, ArchiveError> {
    build_at(entries, Compression::best())
}

/// [`build`] for an archive that is only read back on this machine (a
/// dependency vendored before helm runs): compressed for speed, not size.
pub fn build_local(entries: Vec<Entry>) -> Result<Vec<u8>, ArchiveError> {
    build_at(entries, Compression::fast())
}

fn build_at(entries: Vec<Entry>, level: Compression) -> Result<Vec<u8>, ArchiveError> {
    let mut gz = GzEncoder::new(Vec::new(), level);
    {
        let mut builder = tar::Builder::new(&mut gz);
        builder.mode(tar::HeaderMode::Deterministic);
        for Entry { path, data } in entries {
            let data = if is_nested_chart(&path) { normalize(&data)? } else { data };
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(EPOCH);
            builder.append_data(&mut header, &path, data.as_slice()).map_err(ArchiveError::Read)?;
        }
        builder.finish().map_err(ArchiveError::Read)?;
    }
    // flate2 writes a zero mtime and no file name unless told otherwise.
    gz.finish().map_err(ArchiveError::Read)
}

fn is_nested_chart(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.len() == 3 && parts[1] == "charts" && parts[2].ends_with(".tgz")
}

/// `<name>/Chart.yaml` of a chart archive, as text.
pub fn chart_yaml(tgz: &[u8]) -> Result<String, ArchiveError> {
    read_entries(tgz)?
        .into_iter()
        .find(|e| e.path.matches('/').count() == 1 && e.path.ends_with("/Chart.yaml"))
        .map(|e| String::from_utf8_lossy(&e.data).into_owned())
        .ok_or_else(|| ArchiveError::Missing("Chart.yaml".into()))
}

/// `<name>/Chart.yaml` of a chart archive on disk, streamed: only that entry is held.
pub fn chart_yaml_in_file(path: &std::path::Path) -> Result<String, ArchiveError> {
    let (file, _) = crate::fsio::open_capped(path, crate::fsio::limit::ARCHIVE)
        .map_err(|e| ArchiveError::Read(e.into()))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file).take(crate::fsio::limit::ARCHIVE));
    for entry in archive.entries().map_err(ArchiveError::Read)? {
        let entry = entry.map_err(ArchiveError::Read)?;
        let name = entry.path().map_err(ArchiveError::Read)?.to_string_lossy().into_owned();
        if name.matches('/').count() == 1 && name.ends_with("/Chart.yaml") {
            let mut text = Vec::new();
            entry.take(crate::fsio::limit::CHART_FILE).read_to_end(&mut text).map_err(ArchiveError::Read)?;
            return Ok(String::from_utf8_lossy(&text).into_owned());
        }
    }
    Err(ArchiveError::Missing("Chart.yaml".into()))
}

/// The hex sha256 of an archive on disk, streamed (never held whole).
pub fn sha256_file(path: &std::path::Path) -> io::Result<String> {
    Ok(crate::cache::hex(&crate::fsio::hash_capped(path, crate::fsio::limit::ARCHIVE)?))
}

/// Lower-case hex sha256, the form `index.yaml` digests take.
pub fn sha256(bytes: &[u8]) -> String {
    crate::cache::hex(&Sha256::digest(bytes))
}

/// Writes bytes to `path` through a temp file in the same folder and a rename,
/// so a reader never sees half a file.
/// Never through a link out of its folder, never over a FIFO (see [`crate::fsio::write_atomic`]).
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    Ok(crate::fsio::write_atomic(path, bytes)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A gzipped tar with the given files and mtime, the way a packager might write it.
    pub fn tgz(files: &[(&str, &[u8])], mtime: u64) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        {
            let mut b = tar::Builder::new(&mut gz);
            for (path, data) in files {
                let mut h = tar::Header::new_ustar();
                h.set_size(data.len() as u64);
                h.set_mode(0o600);
                h.set_mtime(mtime);
                h.set_uid(1000);
                b.append_data(&mut h, path, *data).unwrap();
            }
            b.finish().unwrap();
        }
        gz.finish().unwrap()
    }

    #[test]
    fn same_content_same_bytes_whatever_the_mtimes() {
        let inner_a = tgz(&[("common/Chart.yaml", b"name: common\n")], 100);
        let inner_b = tgz(&[("common/Chart.yaml", b"name: common\n")], 999);
        let a = tgz(&[("x/Chart.yaml", b"name: x\n"), ("x/charts/common-0.1.0.tgz", &inner_a)], 1);
        let b = tgz(&[("x/Chart.yaml", b"name: x\n"), ("x/charts/common-0.1.0.tgz", &inner_b)], 2);
        assert_ne!(sha256(&a), sha256(&b));
        let (na, nb) = (normalize(&a).unwrap(), normalize(&b).unwrap());
        assert_eq!(sha256(&na), sha256(&nb));
        // Idempotent, and the content survives.
        assert_eq!(normalize(&na).unwrap(), na);
        let entries = read_entries(&na).unwrap();
        assert_eq!(entries[0], Entry { path: "x/Chart.yaml".into(), data: b"name: x\n".to_vec() });
        assert_eq!(read_entries(&entries[1].data).unwrap()[0].data, b"name: common\n");
    }

    #[test]
    fn archives_on_disk_are_streamed_to_the_same_answers() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tgz(&[("x/charts/dep/Chart.yaml", b"name: dep\n"), ("x/Chart.yaml", b"name: x\n")], 1);
        let path = tmp.path().join("x-0.1.0.tgz");
        std::fs::write(&path, &t).unwrap();
        assert_eq!(chart_yaml_in_file(&path).unwrap(), "name: x\n");
        assert_eq!(sha256_file(&path).unwrap(), sha256(&t));
        std::fs::write(&path, tgz(&[("x/values.yaml", b"")], 1)).unwrap();
        assert!(matches!(chart_yaml_in_file(&path), Err(ArchiveError::Missing(_))));
        assert!(chart_yaml_in_file(&tmp.path().join("none.tgz")).is_err());
    }

    #[test]
    fn different_content_different_digest() {
        let a = normalize(&tgz(&[("x/Chart.yaml", b"version: 1.0.0\n")], 1)).unwrap();
        let b = normalize(&tgz(&[("x/Chart.yaml", b"version: 1.0.1\n")], 1)).unwrap();
        assert_ne!(sha256(&a), sha256(&b));
    }

    #[test]
    fn reads_the_top_chart_yaml_not_a_dependency_one() {
        let t = tgz(&[("x/charts/dep/Chart.yaml", b"name: dep\n"), ("x/Chart.yaml", b"name: x\n")], 1);
        assert_eq!(chart_yaml(&t).unwrap(), "name: x\n");
        assert!(matches!(chart_yaml(&tgz(&[("x/values.yaml", b"")], 1)), Err(ArchiveError::Missing(_))));
        assert!(matches!(read_entries(b"not gzip"), Err(ArchiveError::Read(_))));
    }
}
