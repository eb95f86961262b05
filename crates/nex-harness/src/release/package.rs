//! `cargo xtask package`: every published chart packaged (library charts too),
//! made reproducible, checked against the index for immutability, then
//! written with the merged `index.yaml`. Nothing is written unless every chart
//! packaged and no published version would change.

use super::archive;
use super::index::{Conflict, Index, Packaged};
use crate::catalog::Chart;
use crate::helm::Helm;
use crate::model::{CHART_YAML, ChartMeta};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Chart.yaml annotation that keeps a chart out of the repository (the library's test chart, say).
pub const PUBLISH_ANNOTATION: &str = "nex-charts/publish";

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("cannot prepare {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// `--merge` names an index that cannot be read as one: merging with
    /// nothing would switch the immutability check off, so it is an error.
    #[error("--merge {path}: {message}")]
    Merge { path: PathBuf, message: String },
    /// `--url` or `--dependency-repo` is not a URL (it is written into the
    /// archives' Chart.yaml and the index: a newline would add keys there).
    #[error("{flag} {value:?}: {message}")]
    Url { flag: &'static str, value: String, message: String },
    #[error(transparent)]
    Index(#[from] super::index::IndexError),
    #[error(transparent)]
    Helm(#[from] crate::helm::HelmError),
    #[error(transparent)]
    Sign(#[from] super::provenance::SignError),
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Where archives and `index.yaml` go.
    pub out: PathBuf,
    /// Index to merge with and check against; default `<out>/index.yaml`.
    pub merge: Option<PathBuf>,
    /// Base URL written into new entries' `urls` (relative file names otherwise).
    pub url: Option<String>,
    /// The published repository written over `file://` dependencies in the
    /// archives (default: `url`), so a pulled chart can rebuild its dependencies.
    pub dependency_repo: Option<String>,
    /// Sign the archives (Helm provenance, `<archive>.prov`) with this gpg key.
    pub sign: Option<super::provenance::Signer>,
    /// The owner written over `ghcr.io/nex-charts/<image>` for the images this
    /// repository builds (`--image-owner`; validated by the caller).
    pub image_owner: Option<super::image_owner::ImageOwner>,
}

/// What a run did, or why it wrote nothing.
#[derive(Debug)]
pub enum Outcome {
    Written {
        packaged: Vec<Packaged>,
        added: Vec<Packaged>,
        skipped: Vec<String>,
        index: PathBuf,
    },
    /// Charts helm could not package: (chart, helm's complaint).
    Failed(Vec<(String, String)>),
    Conflicts(Vec<Conflict>),
}

/// Whether Chart.yaml opts the chart out of publishing (`nex-charts/publish: "false"`).
pub fn is_published(chart_dir: &Path) -> bool {
    // An unreadable Chart.yaml counts as published: packaging then reports it.
    let meta = crate::files::read_chart_meta(chart_dir);
    match meta.value.get("annotations").and_then(|a| a.get(PUBLISH_ANNOTATION)) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim() != "false",
        _ => true,
    }
}

pub fn run(charts: &[Chart], helm: &Helm, opts: &Options) -> Result<Outcome, PackageError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PackageError::Io { path, source }
    };
    if let Some(merge) = &opts.merge {
        check_merge(merge)?;
    }
    for (flag, value) in [("--url", &opts.url), ("--dependency-repo", &opts.dependency_repo)] {
        if let Some(value) = value {
            check_url(value).map_err(|message| PackageError::Url { flag, value: value.clone(), message })?;
        }
    }
    let (publish, skipped): (Vec<&Chart>, Vec<&Chart>) = charts.iter().partition(|c| is_published(&c.dir));
    // helm package copies what a link points at into the archive: a link out of
    // the chart (to /proc/self/environ, a key, a shared folder) is refused
    // before anything is written or helm runs.
    let refused: Vec<(String, String)> =
        publish.iter().filter_map(|c| links_leaving(c).map(|why| (c.name.clone(), why))).collect();
    if !refused.is_empty() {
        return Ok(Outcome::Failed(refused));
    }
    std::fs::create_dir_all(&opts.out).map_err(io(&opts.out))?;
    // Staging inside `out` so the final moves are same-filesystem renames.
    let staging =
        tempfile::Builder::new().prefix(".package-").tempdir_in(&opts.out).map_err(io(&opts.out))?;

    let mut packaged = Vec::new();
    let mut failed = Vec::new();
    for (i, chart) in publish.iter().enumerate() {
        let dest = staging.path().join(i.to_string());
        std::fs::create_dir_all(&dest).map_err(io(&dest))?;
        let repo = opts.dependency_repo.as_deref().or(opts.url.as_deref());
        match package_one(chart, helm, &dest, repo, opts.image_owner.as_ref()) {
            Ok(p) => packaged.push((p, dest)),
            Err(message) => failed.push((chart.name.clone(), message)),
        }
    }
    if !failed.is_empty() {
        return Ok(Outcome::Failed(failed));
    }

    let index_path = opts.out.join(super::index::FILE_NAME);
    let mut index = Index::load(opts.merge.as_deref().unwrap_or(&index_path))?;
    let list: Vec<Packaged> = packaged.iter().map(|(p, _)| p.clone()).collect();
    let conflicts = index.conflicts(&list);
    if !conflicts.is_empty() {
        return Ok(Outcome::Conflicts(conflicts));
    }
    // A version signed now names its key (artifacthub.io/signKey) for Artifact Hub and
    // users; checked before anything is written. Published versions are not rewritten.
    if let Some(signer) = &opts.sign {
        let fingerprint = super::provenance::fingerprint(signer)?;
        let unnamed: Vec<(String, String)> = list
            .iter()
            .filter(|p| index.digest(&p.name, &p.version).is_none())
            .filter_map(|p| {
                super::provenance::sign_key_problem(p.metadata.get("annotations"), &fingerprint)
                    .map(|why| (p.name.clone(), why))
            })
            .collect();
        if !unnamed.is_empty() {
            return Ok(Outcome::Failed(unnamed));
        }
    } else {
        // The other way round: a version that names a key is signed, or not published.
        let claimed: Vec<(String, String)> = list
            .iter()
            .filter(|p| index.digest(&p.name, &p.version).is_none())
            .filter(|p| {
                p.metadata
                    .get("annotations")
                    .and_then(|a| a.get(super::provenance::SIGN_KEY_ANNOTATION))
                    .is_some()
            })
            .map(|p| {
                (
                    p.name.clone(),
                    format!(
                        "Chart.yaml names a signing key ({}) but the chart is packaged unsigned: pass --sign with that key",
                        super::provenance::SIGN_KEY_ANNOTATION
                    ),
                )
            })
            .collect();
        if !claimed.is_empty() {
            return Ok(Outcome::Failed(claimed));
        }
    }

    for (p, dest) in &packaged {
        let target = opts.out.join(&p.file_name);
        let unchanged = archive::sha256_file(&target).is_ok_and(|d| d == p.digest);
        if !unchanged {
            crate::fsio::rename_within(&opts.out, &dest.join(&p.file_name), &target)
                .map_err(|e| PackageError::Io { path: target.clone(), source: e.into() })?;
        }
        // A rewritten archive gets a new signature; an unchanged one keeps its own.
        let prov = opts.out.join(format!("{}.prov", p.file_name));
        if let Some(signer) = &opts.sign
            && (!unchanged || !prov.is_file())
        {
            let chart_yaml = archive::chart_yaml_in_file(&target).map_err(|e| PackageError::Io {
                path: target.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
            super::provenance::sign(&target, &chart_yaml, &p.digest, signer)?;
        }
    }
    let now = super::index::timestamp();
    let added = index.merge(&list, opts.url.as_deref(), &now);
    // An index that gains nothing is left as it is (its `generated` date too).
    let same_source = opts.merge.as_deref().is_none_or(|m| m == index_path);
    if !added.is_empty() || !same_source || !index_path.is_file() {
        index.write(&index_path, &now)?;
    }
    Ok(Outcome::Written {
        packaged: list,
        added,
        skipped: skipped.iter().map(|c| c.name.clone()).collect(),
        index: index_path,
    })
}

/// The links of a chart (and of the local dependencies helm vendors into it)
/// that leave the chart folder, or special files helm would block on, in words.
fn links_leaving(chart: &Chart) -> Option<String> {
    let meta = crate::files::read_chart_meta(&chart.dir);
    let mut dirs = vec![chart.dir.clone()];
    dirs.extend(meta.local_dependencies(&chart.dir).into_iter().map(|(_, dir)| dir));
    let mut found = Vec::new();
    for dir in &dirs {
        let scan = crate::files::scan(dir);
        for (link, target) in scan.links_leaving_chart() {
            found.push(format!(
                "{} is a link to {}, outside the chart folder",
                link.display(),
                target.display()
            ));
        }
        for (path, kind) in &scan.special {
            found.push(format!("{} is {kind}", path.display()));
        }
        for path in crate::catalog::symlink_loops(dir) {
            found.push(format!("{} is a link that loops back into its own folder", path.display()));
        }
    }
    (!found.is_empty()).then(|| {
        format!(
            "not packaged: {}; helm would copy what a link points at into the archive (a special file would block it): a chart ships only regular files of its own",
            found.join("; ")
        )
    })
}

/// A chart repository URL: `http://`, `https://` or `oci://`, a host, and only
/// characters a URL may hold unescaped (no white space, no control character,
/// no quote), so it can be written into YAML as it is.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = ["https://", "http://", "oci://"]
        .iter()
        .find_map(|s| url.strip_prefix(s))
        .ok_or("must start with https://, http:// or oci://")?;
    if let Some(c) = url.chars().find(|c| !c.is_ascii_graphic() || "\"'<>\\^`{|}".contains(*c)) {
        return Err(format!("holds {c:?}, which a URL cannot hold unescaped"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err("names no host".into());
    }
    if rest.contains(['?', '#']) {
        return Err("holds a query or fragment; a repository URL is a base path".into());
    }
    Ok(())
}

/// An index named by `--merge` must be a local file that exists (the default
/// `<out>/index.yaml` may be missing: the first release has none).
fn check_merge(path: &Path) -> Result<(), PackageError> {
    let err = |message: &str| PackageError::Merge { path: path.to_owned(), message: message.to_owned() };
    if path.to_string_lossy().contains("://") {
        return Err(err("is a URL; download the published index.yaml first and pass the file"));
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(err("is not a regular file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(err(
            "does not exist; an index to merge with must be there (leave --merge out for a first release)",
        )),
        Err(e) => Err(err(&e.to_string())),
    }
}

/// Vendors the chart's library dependencies, `helm package`s it into `dest`
/// and rewrites the archive reproducibly. Errors are helm's words, for the user.
fn package_one(
    chart: &Chart,
    helm: &Helm,
    dest: &Path,
    repo: Option<&str>,
    owner: Option<&super::image_owner::ImageOwner>,
) -> Result<Packaged, String> {
    let meta = crate::files::read_chart_meta(&chart.dir);
    crate::deps::ensure(chart, &meta, helm).map_err(|e| format!("cannot vendor dependencies: {e}"))?;
    let mut cmd = helm.command();
    cmd.arg("package").arg(&chart.dir).arg("--destination").arg(dest);
    let out = helm.run(cmd).map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("helm package failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let file = std::fs::read_dir(dest)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("helm package wrote no archive")?;
    let raw = crate::fsio::read_capped(&file, crate::fsio::limit::ARCHIVE)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let mut entries = archive::read_entries(&raw).map_err(|e| format!("{}: {e}", file.display()))?;
    if let Some(repo) = repo {
        super::published_deps::rewrite_entries(&mut entries, repo)
            .map_err(|e| format!("cannot name the published repository: {e}"))?;
    }
    if let Some(owner) = owner {
        super::image_owner::rewrite_entries(&mut entries, owner).map_err(|e| e.to_string())?;
    }
    let bytes = archive::build(entries).map_err(|e| format!("{}: {e}", file.display()))?;
    let metadata = chart_metadata(&bytes)?;
    let field = |k: &str| metadata.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (name, version) = (field("name"), field("version"));
    let file_name = format!("{name}-{version}.tgz");
    let digest = archive::sha256(&bytes);
    crate::fsio::remove_file_within(dest, &file).map_err(|e| e.to_string())?;
    archive::write_atomic(&dest.join(&file_name), &bytes).map_err(|e| e.to_string())?;
    Ok(Packaged { name, version, file_name, digest, metadata })
}

fn chart_metadata(tgz: &[u8]) -> Result<Map<String, Value>, String> {
    let text = archive::chart_yaml(tgz).map_err(|e| e.to_string())?;
    let meta = ChartMeta::parse(Path::new(CHART_YAML), &text);
    match meta.value {
        _ if meta.error.is_some() => {
            Err(format!("the packaged Chart.yaml does not parse: {}", meta.error.unwrap_or_default()))
        }
        Value::Object(m) if m.get("name").is_some_and(Value::is_string) => Ok(m),
        _ => Err("the packaged Chart.yaml has no name".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_must_name_an_existing_local_index() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = check_merge(&tmp.path().join("index.yaml")).unwrap_err().to_string();
        assert!(missing.contains("does not exist"), "{missing}");
        let url = check_merge(Path::new("https://example.org/index.yaml")).unwrap_err().to_string();
        assert!(url.contains("is a URL"), "{url}");
        assert!(check_merge(tmp.path()).unwrap_err().to_string().contains("not a regular file"));
        std::fs::write(tmp.path().join("index.yaml"), "apiVersion: v1\nentries: {}\n").unwrap();
        assert!(check_merge(&tmp.path().join("index.yaml")).is_ok());
    }

    #[test]
    fn repository_urls_are_urls() {
        for good in ["https://charts.example.org", "http://127.0.0.1:8080/charts/", "oci://ghcr.io/o/charts"]
        {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("https://x.org\nname: evil", "\\n"),
            ("https://x.org/a b", "' '"),
            ("ftp://x.org", "must start"),
            ("x.org", "must start"),
            ("https://", "no host"),
            ("https:///path", "no host"),
            ("https://:80/", "no host"),
            ("https://x.org/\"q", "'\"'"),
            ("https://x.org/?a=b", "query"),
            ("https://x.org/é", "'é'"),
            ("https://x.org/\t", "\\t"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn the_publish_annotation_opts_out() {
        let tmp = tempfile::tempdir().unwrap();
        let write = |text: &str| std::fs::write(tmp.path().join("Chart.yaml"), text).unwrap();
        write("name: a\nannotations:\n  nex-charts/publish: \"false\"\n");
        assert!(!is_published(tmp.path()));
        write("name: a\nannotations:\n  nex-charts/publish: \"true\"\n");
        assert!(is_published(tmp.path()));
        write("name: a\nannotations:\n  nex-charts/publish: false\n");
        assert!(!is_published(tmp.path()));
        write("name: a\n");
        assert!(is_published(tmp.path()));
    }
}
