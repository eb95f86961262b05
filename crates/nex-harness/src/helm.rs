//! The helm binary: located (HELM_BIN) or provisioned (pinned), and run.
//!
//! This is an edge of the harness: it spawns processes. It returns their raw
//! output; turning output into diagnostics is the checks' job.

use crate::provision::{self, Pin, Provisioned};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The release name and namespace every rendering uses, so output is reproducible.
pub use crate::model::{NAMESPACE, RELEASE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Major {
    /// Helm 3 (v3.17.2); lint's default under profile ct (ct's own image runs helm 3)
    #[value(name = "3")]
    V3,
    /// Helm 4 (v4.1.4); the default otherwise
    #[default]
    #[value(name = "4")]
    V4,
}

impl Major {
    pub fn pin(self) -> &'static Pin {
        match self {
            Major::V3 => &provision::HELM_3,
            Major::V4 => &provision::HELM_4,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error(
        "HELM_BIN={0} is not an executable file; point HELM_BIN at a helm binary, \
         or unset it to let the harness provision its pinned helm (`cargo xtask tools`)"
    )]
    BadHelmBin(PathBuf),
    #[error("HELM_BIN={path}: `helm version` failed: {message}")]
    VersionFailed { path: PathBuf, message: String },
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    #[error("cannot run {bin}: {source}")]
    Spawn { bin: PathBuf, source: std::io::Error },
    #[error("{bin}: {source}")]
    TimedOut { bin: PathBuf, source: crate::process::RunError },
    #[error("{0}")]
    BadTimeout(String),
}

/// How the helm in use was obtained, for `cargo xtask tools`.
#[derive(Debug, Clone)]
pub enum Origin {
    Env,
    Pinned { source: provision::Source, replaced_corrupt: bool },
}

#[derive(Debug, Clone)]
pub struct Helm {
    pub bin: PathBuf,
    /// `v4.1.4` and the like; part of every render cache key.
    pub version: String,
    pub origin: Origin,
    /// Private HELM_*_HOME dirs: no user repos or plugins leak into results.
    home: PathBuf,
    /// How long one helm run may take before it is killed (`NEX_HELM_TIMEOUT`).
    pub timeout: Duration,
    /// Release name and namespace of `helm template` (harness.yaml; default `nex`).
    pub release: String,
    pub namespace: String,
    /// [`schemas_reach_out`] by chart folder, asked once per command: a chart
    /// is run through helm a dozen times, and the walk decompresses its archives.
    reach_out: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, bool>>>,
}

impl Helm {
    /// HELM_BIN when set, otherwise the pinned helm of the chosen major.
    pub fn locate(major: Major, cache: &Path) -> Result<Self, HelmError> {
        let home = cache.join("helm-home");
        let timeout = crate::process::helm_timeout().map_err(HelmError::BadTimeout)?;
        if let Some(bin) = std::env::var_os("HELM_BIN").filter(|v| !v.is_empty()) {
            let bin = PathBuf::from(bin);
            if !is_executable(&bin) {
                return Err(HelmError::BadHelmBin(bin));
            }
            let version = cached_version(&bin, cache, timeout)?;
            return Ok(Self {
                bin,
                version,
                origin: Origin::Env,
                home,
                timeout,
                release: RELEASE.into(),
                namespace: NAMESPACE.into(),
                reach_out: Default::default(),
            });
        }
        let pin = major.pin();
        let Provisioned { path, source, replaced_corrupt } = provision::ensure(pin, cache)?;
        Ok(Self {
            bin: path,
            version: pin.version.to_owned(),
            origin: Origin::Pinned { source, replaced_corrupt },
            home,
            timeout,
            release: RELEASE.into(),
            namespace: NAMESPACE.into(),
            reach_out: Default::default(),
        })
    }

    /// The same helm, rendering under another release name and namespace.
    pub fn with_release(mut self, release: &str, namespace: &str) -> Self {
        self.release = release.to_owned();
        self.namespace = namespace.to_owned();
        self
    }

    /// The major version in use (from the version string, so HELM_BIN counts too).
    pub fn major(&self) -> u32 {
        self.version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        let home = self.home.join(format!("v{}", self.major()));
        cmd.env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT");
        cmd
    }

    /// Runs a helm command, killed after [`Helm::timeout`].
    pub fn run(&self, cmd: Command) -> Result<Output, HelmError> {
        crate::process::output(cmd, self.timeout).map_err(|e| match e {
            crate::process::RunError::Spawn(source) => HelmError::Spawn { bin: self.bin.clone(), source },
            e => HelmError::TimedOut { bin: self.bin.clone(), source: e },
        })
    }

    /// `helm lint` of one chart with one optional values file; `extra` is ct.yaml's
    /// `helm-lint-extra-args` (`--strict` only when it says so, as with ct).
    pub fn lint(&self, chart: &Path, values: Option<&Path>, extra: &[String]) -> Result<Output, HelmError> {
        let mut cmd = self.command();
        cmd.arg("lint").arg(chart);
        self.offline(&mut cmd, chart);
        if let Some(v) = values {
            cmd.arg("--values").arg(v);
        }
        cmd.args(extra);
        self.run(cmd)
    }

    /// `helm template` of a named release in a namespace, with values files
    /// merged in order (a stack's release).
    pub fn template_release(
        &self,
        chart: &Path,
        release: &str,
        namespace: &str,
        values: &[&Path],
        kube_version: Option<&str>,
    ) -> Result<Output, HelmError> {
        let mut cmd = self.command();
        cmd.arg("template").arg(release).arg(chart).arg("--namespace").arg(namespace);
        for v in values {
            cmd.arg("--values").arg(v);
        }
        if let Some(k) = kube_version {
            cmd.arg("--kube-version").arg(k);
        }
        self.run(cmd)
    }

    /// `helm template` with the run's release name and namespace.
    pub fn template(
        &self,
        chart: &Path,
        values: Option<&Path>,
        kube_version: Option<&str>,
        extra: &[String],
    ) -> Result<Output, HelmError> {
        let mut cmd = self.command();
        cmd.arg("template").arg(&self.release).arg(chart).arg("--namespace").arg(&self.namespace);
        self.offline(&mut cmd, chart);
        if let Some(v) = values {
            cmd.arg("--values").arg(v);
        }
        if let Some(k) = kube_version {
            cmd.arg("--kube-version").arg(k);
        }
        cmd.args(extra);
        self.run(cmd)
    }
}

/// `helm version` of a HELM_BIN, remembered per binary (path, size, mtime) so
/// that a warm run spawns no helm at all.
fn cached_version(bin: &Path, cache: &Path, timeout: Duration) -> Result<String, HelmError> {
    let meta = std::fs::metadata(bin).ok();
    let stamp = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let key = crate::cache::KeyBuilder::new("helm version")
        .str(&bin.canonicalize().unwrap_or_else(|_| bin.to_owned()).to_string_lossy())
        .str(&format!("{:?} {stamp:?}", meta.map(|m| m.len())))
        .finish();
    let store = crate::cache::Cache::new(cache);
    if let Some(v) = store.get::<String>(&key) {
        return Ok(v);
    }
    let v = query_version(bin, timeout)?;
    store.put(&key, &v);
    Ok(v)
}

fn query_version(bin: &Path, timeout: Duration) -> Result<String, HelmError> {
    let mut cmd = Command::new(bin);
    cmd.args(["version", "--template", "{{.Version}}"]);
    let out = crate::process::output(cmd, timeout)
        .map_err(|e| HelmError::VersionFailed { path: bin.to_owned(), message: e.to_string() })?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !version.starts_with('v') {
        let message = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(HelmError::VersionFailed { path: bin.to_owned(), message });
    }
    Ok(version)
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

impl Helm {
    /// helm validates values against every `values.schema.json` of a chart and
    /// fetches what their references name, network included (and waits on a
    /// server that never answers). When any schema the chart carries could reach
    /// out, helm's own validation is switched off (`--skip-schema-validation`);
    /// the harness validates values itself (`values/schema`) and reports the
    /// reference (`schema/ref`), so nothing is lost and no run touches the network.
    /// (Charts do not change while a command runs: their dependencies are
    /// vendored before helm renders them.)
    fn offline(&self, cmd: &mut Command, chart: &Path) {
        let known = self.reach_out.lock().unwrap_or_else(|p| p.into_inner()).get(chart).copied();
        let reach = known.unwrap_or_else(|| {
            let found = schemas_reach_out(chart);
            self.reach_out.lock().unwrap_or_else(|p| p.into_inner()).insert(chart.to_owned(), found);
            found
        });
        if reach {
            cmd.arg("--skip-schema-validation");
        }
    }
}

/// Whether any schema helm would read for `chart` (its own, its subcharts'
/// folders and archives, its `file://` dependencies' sources) names something
/// outside itself.
pub fn schemas_reach_out(chart: &Path) -> bool {
    fn dir(d: &Path, depth: usize) -> bool {
        if depth > 4 {
            return true;
        }
        let walk = walkdir::WalkDir::new(d)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| !(e.depth() == 1 && e.file_name() == "snapshots"))
            .flatten()
            .filter(|e| e.file_type().is_file());
        for e in walk {
            let name = e.file_name().to_string_lossy();
            let found = if name == "values.schema.json" {
                crate::files::read_text(e.path()).is_ok_and(|t| text_reaches_out(&t))
            } else if name.ends_with(".tgz") {
                archive_reaches_out(e.path())
            } else {
                false
            };
            if found {
                return true;
            }
        }
        crate::files::read_chart_meta(d).local_dependencies(d).iter().any(|(_, src)| dir(src, depth + 1))
    }
    dir(chart, 0)
}

/// Schemas inside a chart archive (a vendored subchart).
fn archive_reaches_out(path: &Path) -> bool {
    use std::io::Read;
    let Ok((file, _)) = crate::fsio::open_capped(path, crate::fsio::limit::ARCHIVE) else { return false };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file.take(crate::fsio::limit::ARCHIVE)));
    let Ok(entries) = archive.entries() else { return true };
    for entry in entries {
        let Ok(entry) = entry else { return true };
        if entry.path().is_ok_and(|p| p.ends_with("values.schema.json")) {
            let mut text = String::new();
            if entry.take(crate::files::MAX_FILE_BYTES).read_to_string(&mut text).is_err()
                || text_reaches_out(&text)
            {
                return true;
            }
        }
    }
    false
}

/// A schema text with a `$ref` (or `$dynamicRef`, `$recursiveRef`) that is
/// not a fragment of the same document, or a `$schema` that is not one of
/// the drafts validators carry. Text that is not JSON reaches nothing (helm
/// stops at the syntax error).
pub fn text_reaches_out(text: &str) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| match (k.as_str(), v) {
                ("$ref" | "$dynamicRef" | "$recursiveRef", serde_json::Value::String(r)) => {
                    !r.starts_with('#')
                }
                ("$schema", serde_json::Value::String(s)) => !known_draft(s),
                _ => walk(v),
            }),
            serde_json::Value::Array(items) => items.iter().any(walk),
            _ => false,
        }
    }
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| walk(&v))
}

fn known_draft(uri: &str) -> bool {
    let bare = uri.trim_end_matches('#').trim_start_matches("https://").trim_start_matches("http://");
    matches!(
        bare,
        "json-schema.org/draft-04/schema"
            | "json-schema.org/draft-06/schema"
            | "json-schema.org/draft-07/schema"
            | "json-schema.org/draft/2019-09/schema"
            | "json-schema.org/draft/2020-12/schema"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_reaching_out_are_found() {
        assert!(!text_reaches_out(
            r##"{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"a": {}}, "properties": {"x": {"$ref": "#/definitions/a"}}}"##
        ));
        assert!(text_reaches_out(r#"{"properties": {"x": {"$ref": "http://127.0.0.1:1/x.json"}}}"#));
        assert!(text_reaches_out(r#"{"items": [{"$ref": "other.json#/a"}]}"#));
        assert!(text_reaches_out(r#"{"$schema": "http://127.0.0.1:1/meta"}"#));
        assert!(!text_reaches_out("not json"));
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("c");
        std::fs::create_dir_all(chart.join("charts/sub")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: c\n").unwrap();
        std::fs::write(chart.join("values.schema.json"), r#"{"type": "object"}"#).unwrap();
        assert!(!schemas_reach_out(&chart));
        std::fs::write(chart.join("charts/sub/values.schema.json"), r#"{"$ref": "https://example.org/s"}"#)
            .unwrap();
        assert!(schemas_reach_out(&chart), "a subchart's schema");
    }
}
