//! Local chart dependencies (`file://` repositories, such as the `common`
//! library) vendored into each chart's `charts/` before helm runs, the way
//! `ct` runs `helm dependency build`. Rebuilt only when the source changed.

use crate::catalog::Chart;
use crate::helm::Helm;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, serde::Deserialize)]
struct ChartDeps {
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

#[derive(Debug, serde::Deserialize)]
struct Dependency {
    name: String,
    #[serde(default)]
    repository: String,
}

/// The `file://` dependency folders a chart declares, resolved against the chart.
pub fn local_dependencies(chart_dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(text) = crate::files::read_text(&chart_dir.join("Chart.yaml")) else {
        return Vec::new();
    };
    let Ok(deps) = serde_saphyr::from_str::<ChartDeps>(&text) else {
        return Vec::new();
    };
    deps.dependencies
        .into_iter()
        .filter_map(|d| d.repository.strip_prefix("file://").map(|p| (d.name, chart_dir.join(p))))
        .collect()
}

/// Vendors a chart's local dependencies when `charts/` is missing one or holds
/// an archive older than the dependency's sources. Returns helm's complaint
/// when it cannot; the caller turns that into a diagnostic.
pub fn ensure(chart: &Chart, helm: &Helm) -> Result<(), String> {
    let deps = local_dependencies(&chart.dir);
    if deps.is_empty() || deps.iter().all(|(name, src)| is_fresh(&chart.dir, name, src)) {
        return Ok(());
    }
    if let Some((path, kind)) = crate::files::scan(&chart.dir).special.first() {
        // helm would block on it (a FIFO) or read it forever (a device).
        return Err(format!("not vendored: {} is {kind}", path.display()));
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
