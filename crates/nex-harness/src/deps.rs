//! Chart dependencies vendored into each chart's `charts/` before helm runs,
//! the way `ct` runs `helm dependency build`: local ones (`file://`, such as
//! the `common` library) rebuilt only when their sources changed; remote ones
//! (chart repositories, OCI) built once and kept in the harness cache, keyed by
//! Chart.yaml, Chart.lock and the local sources. An edge: it spawns helm.

use crate::catalog::Chart;
use crate::helm::Helm;
use crate::model::ChartMeta;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

#[derive(Debug, Clone)]
struct Dependency {
    name: String,
    /// A constraint; written as a number now and then.
    version: Option<serde_json::Value>,
    repository: String,
}

impl Dependency {
    fn version(&self) -> String {
        match &self.version {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "*".into(),
        }
    }

    /// Fetched from a repository (not `file://`, not an in-tree `charts/<name>/`).
    fn is_remote(&self) -> bool {
        !self.repository.is_empty() && !self.repository.starts_with("file://")
    }
}

/// Why a chart's dependencies could not be vendored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepsError {
    /// helm could not vendor the chart's own (local) dependencies; helm's message.
    #[error("{0}")]
    Local(String),
    /// Remote dependencies could not be fetched (offline, unknown repository, …).
    #[error("cannot fetch {}: {reason}", missing.join(", "))]
    Unavailable {
        /// `name version (repository)` of each dependency missing from `charts/`.
        missing: Vec<String>,
        /// helm's first complaint.
        reason: String,
        /// When the fetch failed (seconds since the epoch), when this is that
        /// failure remembered ([`UNAVAILABLE_FOR`]) rather than a new attempt.
        remembered: Option<u64>,
    },
}

/// What remote dependencies need: ct.yaml's `chart-repos` and where built
/// dependencies are kept. One per run; each chart is vendored once per run.
#[derive(Debug, Default)]
pub struct Deps {
    /// `name=url` entries of ct.yaml's `chart-repos`, added to helm before a build.
    pub chart_repos: Vec<String>,
    /// Built archives by key (`None`: not kept).
    pub cache_dir: Option<PathBuf>,
    /// ct's `helm-repo-extra-args`: `name=args` appended to that repository's `helm repo add`.
    pub repo_extra_args: Vec<String>,
    /// ct's `helm-dependency-extra-args`, appended to `helm dependency build`.
    pub dependency_extra_args: Vec<String>,
    /// What `helm repo add` said for each `chart-repos` entry it could not add.
    repos_added: OnceLock<Vec<String>>,
    done: Mutex<HashMap<PathBuf, Result<(), DepsError>>>,
}

impl Deps {
    pub fn new(chart_repos: Vec<String>, cache_root: &Path) -> Self {
        Self { chart_repos, cache_dir: Some(cache_root.join("deps")), ..Self::default() }
    }

    /// Vendors every dependency of `chart` into its `charts/` (once per run).
    pub fn ensure(&self, chart: &Chart, meta: &ChartMeta, helm: &Helm) -> Result<(), DepsError> {
        if let Some(done) = self.done.lock().unwrap_or_else(|p| p.into_inner()).get(&chart.dir) {
            return done.clone();
        }
        let result = self.vendor(chart, meta, helm);
        self.done.lock().unwrap_or_else(|p| p.into_inner()).insert(chart.dir.clone(), result.clone());
        result
    }

    fn vendor(&self, chart: &Chart, meta: &ChartMeta, helm: &Helm) -> Result<(), DepsError> {
        let declared = declared(meta);
        if !declared.iter().any(Dependency::is_remote) {
            return ensure_local(chart, meta, helm).map_err(DepsError::Local);
        }
        let missing: Vec<&Dependency> =
            declared.iter().filter(|d| d.is_remote() && !vendored(&chart.dir, &d.name)).collect();
        // helm builds local and remote dependencies together: a stale local one
        // means a whole build (served from the cache when it was built before).
        let local_fresh =
            meta.local_dependencies(&chart.dir).iter().all(|(n, src)| is_fresh(&chart.dir, n, src));
        if missing.is_empty() && local_fresh {
            return Ok(());
        }
        let describe = || {
            let shown = if missing.is_empty() {
                declared.iter().filter(|d| d.is_remote()).collect()
            } else {
                missing.clone()
            };
            // A chart used twice under two aliases is one archive to fetch: named once.
            let mut names: Vec<String> =
                shown.iter().map(|d| format!("{} {} ({})", d.name, d.version(), d.repository)).collect();
            let mut seen = std::collections::HashSet::new();
            names.retain(|n| seen.insert(n.clone()));
            names
        };
        let key = build_key(&chart.dir, meta, helm);
        let kept = self.cache_dir.as_ref().map(|d| d.join(&key.0));
        if let Some(kept) = kept.as_ref().filter(|k| k.join(COMPLETE).is_file())
            && restore(kept, &chart.dir.join("charts")).is_ok()
        {
            return Ok(());
        }
        // A fetch that failed lately is not tried again on every run.
        let failed =
            self.cache_dir.as_ref().map(|d| d.join(format!("{}.unavailable", self.failure_key(&key).0)));
        if let Some(f) = failed.as_ref().and_then(|f| Failure::recent(f, now(), recheck())) {
            return Err(DepsError::Unavailable {
                missing: f.missing,
                reason: f.reason,
                remembered: Some(f.at),
            });
        }
        let repo_failures = self.add_repos(helm);
        let mut cmd = helm.command();
        cmd.args(["dependency", "build"]).arg(&chart.dir).args(&self.dependency_extra_args);
        let out = helm.run(cmd).map_err(|e| DepsError::Unavailable {
            missing: describe(),
            reason: e.to_string(),
            remembered: None,
        })?;
        if !out.status.success() {
            let said =
                format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            // helm then only says it has no definition for the repository: say why.
            let mut reason = first_complaint(&said);
            if !repo_failures.is_empty() && reason.contains("no repository definition") {
                reason = repo_failures.join("; ");
            }
            let failure = Failure { missing: describe(), reason, at: now() };
            if let Some(f) = &failed {
                failure.keep(f);
            }
            return Err(DepsError::Unavailable {
                missing: failure.missing,
                reason: failure.reason,
                remembered: None,
            });
        }
        if let (Some(f), Some(dir)) = (&failed, &self.cache_dir) {
            let _ = crate::fsio::remove_file_within(dir, f);
        }
        if let Some(kept) = kept {
            keep(&chart.dir.join("charts"), &declared, &kept);
            // The build may have written Chart.lock: the next run's key reads it.
            let after = build_key(&chart.dir, meta, helm);
            if after != key
                && let Some(dir) = &self.cache_dir
            {
                keep(&chart.dir.join("charts"), &declared, &dir.join(&after.0));
            }
        }
        Ok(())
    }

    /// What a failed fetch is remembered under: the build's inputs and the repositories configured.
    fn failure_key(&self, build: &crate::cache::Key) -> crate::cache::Key {
        crate::cache::KeyBuilder::new("dependency fetch failed")
            .str(&build.0)
            .str(&self.chart_repos.join("\n"))
            .finish()
    }

    /// `helm repo add` for each `chart-repos` entry, once per run; returns
    /// what failed, for the build that needed the repository to say.
    fn add_repos(&self, helm: &Helm) -> &[String] {
        self.repos_added.get_or_init(|| {
            let mut failed = Vec::new();
            for entry in &self.chart_repos {
                let Some((name, url)) = entry.split_once('=') else { continue };
                let (name, url) = (name.trim(), url.trim());
                let extra: Vec<&str> = self
                    .repo_extra_args
                    .iter()
                    .filter_map(|e| e.split_once('='))
                    .filter(|(n, _)| n.trim() == name)
                    .flat_map(|(_, args)| args.split_whitespace())
                    .collect();
                let mut cmd = helm.command();
                // As ct: an OCI registry is logged in to (with its extra args), not added.
                if let Some(registry) = url.strip_prefix("oci://") {
                    if extra.is_empty() {
                        continue;
                    }
                    cmd.args(["registry", "login", registry]).args(&extra);
                } else {
                    cmd.args(["repo", "add", "--force-update", name, url]).args(&extra);
                }
                let why = match helm.run(cmd) {
                    Ok(out) if out.status.success() => continue,
                    Ok(out) => first_complaint(&String::from_utf8_lossy(&out.stderr)),
                    Err(e) => e.to_string(),
                };
                failed.push(format!("helm repo add {name} {url}: {why}"));
            }
            failed
        })
    }
}

/// How long a failed fetch of remote dependencies is remembered: runs in that
/// time report it again without asking the repositories (`NEX_RECHECK_DEPS=1`
/// asks them now; any change to Chart.yaml, Chart.lock or `chart-repos` too).
pub const UNAVAILABLE_FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// The environment variable that retries remembered failed fetches.
pub const RECHECK: &str = "NEX_RECHECK_DEPS";

fn recheck() -> bool {
    std::env::var_os(RECHECK).is_some_and(|v| !v.is_empty() && v != "0")
}

fn now() -> u64 {
    SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A failed fetch, as remembered in the dependency cache.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Failure {
    missing: Vec<String>,
    reason: String,
    /// When it failed (seconds since the epoch).
    at: u64,
}

impl Failure {
    /// The failure remembered at `path` if it is younger than [`UNAVAILABLE_FOR`] (and not `recheck`).
    fn recent(path: &Path, now: u64, recheck: bool) -> Option<Self> {
        if recheck {
            return None;
        }
        let bytes = crate::fsio::read_capped(path, crate::fsio::limit::STAMP).ok()?;
        let f: Failure = serde_json::from_slice(&bytes).ok()?;
        (f.at <= now && now - f.at < UNAVAILABLE_FOR.as_secs()).then_some(f)
    }

    /// Best effort: without it the next run only asks again.
    fn keep(&self, path: &Path) {
        let (Some(dir), Ok(bytes)) = (path.parent(), serde_json::to_vec(self)) else { return };
        if std::fs::create_dir_all(dir).is_ok() {
            let _ = crate::fsio::write_scratch(dir, path, &bytes);
        }
    }
}

/// Marks a kept build as whole (written last).
const COMPLETE: &str = ".complete";

/// What a build depends on: Chart.yaml, Chart.lock, the local dependencies'
/// sources, and helm.
fn build_key(chart_dir: &Path, meta: &ChartMeta, helm: &Helm) -> crate::cache::Key {
    let mut k = crate::cache::KeyBuilder::new("dependency build")
        .str(&meta.text)
        .file(&chart_dir.join("Chart.lock"))
        // A Chart API v1 chart's dependencies and lock.
        .file(&chart_dir.join("requirements.yaml"))
        .file(&chart_dir.join("requirements.lock"))
        .str(&helm.version);
    for (name, dir) in meta.local_dependencies(chart_dir) {
        k = k.str(&name).str(&crate::cache::chart_fingerprint(&dir));
    }
    k.finish()
}

/// The dependency archives helm built, copied to the cache.
fn keep(charts: &Path, declared: &[Dependency], kept: &Path) {
    let Ok(()) = std::fs::create_dir_all(kept) else { return };
    for archive in archives(charts) {
        let name = archive.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if declared.iter().any(|d| name.starts_with(&format!("{}-", d.name)))
            && crate::fsio::copy_capped(&archive, &kept.join(name), crate::fsio::limit::ARCHIVE).is_err()
        {
            return;
        }
    }
    let _ = crate::fsio::write_atomic(&kept.join(COMPLETE), b"");
}

fn restore(kept: &Path, charts: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(charts)?;
    for archive in archives(kept) {
        if let Some(name) = archive.file_name() {
            crate::fsio::copy_capped(&archive, &charts.join(name), crate::fsio::limit::ARCHIVE)?;
        }
    }
    Ok(())
}

fn archives(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .collect()
}

/// Why helm could not build: the repository's own error when one was
/// unreachable (helm's final `Error:` then only names its cache), else helm's
/// first `Error:` line, else its last line.
fn first_complaint(output: &str) -> String {
    let lines: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if let Some(i) = lines.iter().position(|l| l.contains("Unable to get an update from")) {
        let detail = lines.get(i + 1).copied().unwrap_or_default();
        return format!("{} {detail}", lines[i].trim_start_matches('.')).trim().to_owned();
    }
    let line =
        lines.iter().find(|l| l.starts_with("Error:")).or(lines.last()).copied().unwrap_or("helm failed");
    line.trim_start_matches("Error:").trim().to_owned()
}

/// Whether `charts/` holds the dependency: an archive `<name>-<version>.tgz`
/// or an unpacked folder `charts/<name>/`.
fn vendored(chart_dir: &Path, name: &str) -> bool {
    let charts = chart_dir.join("charts");
    charts.join(name).join("Chart.yaml").is_file()
        || archives(&charts).iter().any(|a| {
            a.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&format!("{name}-")))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == 'v'))
        })
}

fn declared(meta: &ChartMeta) -> Vec<Dependency> {
    meta.dependencies
        .iter()
        .map(|d| Dependency {
            name: d.name.clone(),
            version: (!d.version.is_empty()).then(|| serde_json::Value::String(d.version.clone())),
            repository: d.repository.clone(),
        })
        .collect()
}

/// The remote dependencies a chart declares (`name`, repository).
pub fn remote_dependencies(chart_dir: &Path) -> Vec<(String, String)> {
    declared(&crate::files::read_chart_meta(chart_dir))
        .into_iter()
        .filter(Dependency::is_remote)
        .map(|d| (d.name, d.repository))
        .collect()
}

/// The `file://` dependency folders a chart declares, resolved against the chart.
pub fn local_dependencies(chart_dir: &Path) -> Vec<(String, PathBuf)> {
    crate::files::read_chart_meta(chart_dir).local_dependencies(chart_dir)
}

/// Vendors a chart's dependencies (remote ones without a cache or `chart-repos`).
/// Returns helm's complaint when it cannot; the caller turns that into a diagnostic.
pub fn ensure(chart: &Chart, meta: &ChartMeta, helm: &Helm) -> Result<(), String> {
    Deps::default().ensure(chart, meta, helm).map_err(|e| e.to_string())
}

/// Vendors a chart's local dependencies when `charts/` is missing one or holds
/// an archive older than the dependency's sources.
fn ensure_local(chart: &Chart, meta: &ChartMeta, helm: &Helm) -> Result<(), String> {
    let deps = meta.local_dependencies(&chart.dir);
    if deps.is_empty() || deps.iter().all(|(name, src)| is_fresh(&chart.dir, name, src)) {
        return Ok(());
    }
    let scan = crate::files::scan(&chart.dir);
    if let Some((path, kind)) = scan.special.first() {
        // helm would block on it (a FIFO) or read it forever (a device).
        return Err(format!("not vendored: {} is {kind}", path.display()));
    }
    if let Some((path, target)) = scan.leaving_repo.first() {
        return Err(format!(
            "not vendored: {} is a link to {}, outside the repository",
            path.display(),
            target.display()
        ));
    }
    // The plain case is packed here, without a helm process (a cold run's
    // longest wait before the first render); anything else is helm's.
    if let Some(done) = crate::vendor::local(&chart.dir, meta, &deps, helm.version.starts_with("v3.")) {
        return done;
    }
    let mut cmd = helm.command();
    cmd.args(["dependency", "update", "--skip-refresh"]).arg(&chart.dir);
    let out = helm.run(cmd).map_err(|e| e.to_string())?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()) }
}

/// The chart's `charts/` folder cannot be written, so its local dependencies
/// cannot be vendored: a tooling failure (a read-only checkout), not a finding.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {error}; local dependencies are vendored there before helm runs (is the checkout read-only?)", path.display())]
pub struct Unwritable {
    pub path: PathBuf,
    pub error: String,
}

/// Checks, before any helm run, that a chart whose local dependencies need
/// vendoring can have them written (a temp file is made and removed).
pub fn writable(chart: &Chart) -> Result<(), Unwritable> {
    let deps = local_dependencies(&chart.dir);
    if deps.is_empty() || deps.iter().all(|(name, src)| is_fresh(&chart.dir, name, src)) {
        return Ok(());
    }
    let dir = chart.dir.join("charts");
    let probe = std::fs::create_dir_all(&dir).and_then(|()| tempfile::tempfile_in(&dir).map(drop));
    probe.map_err(|e| {
        // Name the folder that exists (a missing `charts/` under a read-only chart is the chart's fault).
        let path = if dir.is_dir() { dir.clone() } else { chart.dir.clone() };
        Unwritable { path, error: e.to_string() }
    })
}

fn is_fresh(chart_dir: &Path, name: &str, source: &Path) -> bool {
    let prefix = format!("{name}-");
    let archive =
        std::fs::read_dir(chart_dir.join("charts")).into_iter().flatten().flatten().map(|e| e.path()).find(
            |p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".tgz"))
            },
        );
    let Some(built) = archive.and_then(|a| modified(&a)) else {
        return false;
    };
    newest(source).is_some_and(|src| src <= built)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn newest(dir: &Path) -> Option<SystemTime> {
    walkdir::WalkDir::new(dir).into_iter().flatten().filter_map(|e| modified(e.path())).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_file_dependencies_only() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("Chart.yaml"),
            "apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: ~0.1.0\n    repository: file://../common\n  - name: redis\n    version: ^1\n    repository: oci://example.org/charts\n",
        )
        .unwrap();
        let deps = local_dependencies(tmp.path());
        assert_eq!(deps, vec![("common".to_owned(), tmp.path().join("../common"))]);
    }

    #[test]
    fn failed_fetches_are_remembered_for_a_while_unless_rechecked() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.unavailable");
        let f = Failure {
            missing: vec!["redis 1.0.0 (oci://example.org)".into()],
            reason: "timeout".into(),
            at: 1000,
        };
        f.keep(&path);
        assert_eq!(Failure::recent(&path, 1000 + 60, false), Some(f.clone()));
        assert_eq!(Failure::recent(&path, 1000 + 60, true), None, "rechecked on demand");
        assert_eq!(Failure::recent(&path, 1000 + UNAVAILABLE_FOR.as_secs(), false), None, "expired");
        assert_eq!(Failure::recent(&path, 999, false), None, "a clock set back asks again");
    }

    #[test]
    fn stale_when_sources_are_newer() {
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("a");
        let lib = tmp.path().join("common");
        std::fs::create_dir_all(chart.join("charts")).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        assert!(!is_fresh(&chart, "common", &lib), "missing archive is stale");
        std::fs::write(lib.join("Chart.yaml"), "x").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(chart.join("charts/common-0.1.0.tgz"), "x").unwrap();
        assert!(is_fresh(&chart, "common", &lib));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(lib.join("values.yaml"), "y").unwrap();
        assert!(!is_fresh(&chart, "common", &lib));
    }
}
