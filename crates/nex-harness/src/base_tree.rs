//! The catalog as it is at the merge base with the target branch: the chart
//! folders extracted from git into a temporary folder, and each chart there
//! read and rendered through the same helm and cache as lint. An edge: it
//! runs git and helm and touches files.
//!
//! `git archive` rather than `git worktree add`: nothing is registered in the
//! repository, only the chart folders are written, and the temporary folder is
//! removed when the [`Tree`] is dropped — on every return path, errors and
//! panics included — with no `git worktree prune` left to do after a crash.

use crate::cache::{self, Cache, KeyBuilder};
use crate::catalog::{self, Chart};
use crate::changed::{Baseline, GitError};
use crate::helm::Helm;
use crate::manifest::{self, Object};
use crate::model::ChartMeta;
use crate::process::ProcOutput;
use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The chart folders at the merge base, in a temporary folder.
pub struct Tree {
    dir: tempfile::TempDir,
    /// `origin/main`, for messages.
    pub label: String,
    pub commit: String,
}

/// One chart at the merge base, rendered in the scenarios it had there.
#[derive(Debug, Clone, Default)]
pub struct BaseChart {
    /// `origin/main`.
    pub label: String,
    /// Chart.yaml `version` there; `None` when the chart did not exist.
    pub version: Option<String>,
    /// Whether it was a library chart (nothing to render).
    pub library: bool,
    /// values.yaml and values.schema.json as data (`None` when absent or unreadable).
    pub values: Option<Value>,
    pub schema: Option<Value>,
    /// Every scenario it had, rendered for one Kubernetes version.
    pub renderings: Vec<BaseRendering>,
}

#[derive(Debug, Clone)]
pub struct BaseRendering {
    pub scenario: String,
    /// A scenario of this branch (its ci file) the target branch did not have:
    /// the old chart rendered with the new values file.
    pub borrowed: bool,
    pub kube_version: String,
    /// The objects, or why helm could not render them.
    pub objects: Result<Vec<Object>, String>,
}

impl Tree {
    /// Extracts `chart_dirs` (relative to the working directory) at the merge base.
    pub fn extract(base: &Baseline, chart_dirs: &[PathBuf]) -> Result<Self, GitError> {
        let dir = tempfile::Builder::new()
            .prefix("nex-base-")
            .tempdir()
            .map_err(|e| GitError::Failed { command: "archive".into(), stderr: e.to_string() })?;
        base.archive(chart_dirs, dir.path())?;
        Ok(Self { dir, label: base.label.clone(), commit: base.commit.clone() })
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Where a working-tree chart folder is in the extracted tree (`None` for
    /// a folder outside the working directory, which git did not extract).
    pub fn path_of(&self, chart_dir: &Path) -> Option<PathBuf> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let rel = chart_dir.strip_prefix(&cwd).unwrap_or(chart_dir);
        let inside = rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
        inside.then(|| self.root().join(rel))
    }

    /// The chart at the merge base (`None` when it did not exist there).
    pub fn chart(&self, chart: &Chart) -> Option<Chart> {
        let dir = self.path_of(&chart.dir)?;
        dir.join("Chart.yaml").is_file().then(|| catalog::load(&dir))
    }

    /// Reads and renders `chart` as it was at the merge base, every scenario it
    /// had there and every scenario of this branch it lacked (with this
    /// branch's ci file), for `kube_version` (nothing is rendered when it is empty).
    pub fn load(&self, chart: &Chart, helm: &Helm, cache: &Cache, kube_version: &str) -> BaseChart {
        let mut out = BaseChart { label: self.label.clone(), ..BaseChart::default() };
        let Some(old) = self.chart(chart) else { return out };
        let meta = crate::files::read_chart_meta(&old.dir);
        out.version = Some(meta.version.clone().unwrap_or_default());
        out.library = meta.is_library();
        out.values = crate::files::YamlFile::read(&old.dir.join("values.yaml"))
            .ok()
            .and_then(|f| f.root().map(|r| r.to_json()));
        out.schema =
            crate::files::JsonFile::read(&old.dir.join("values.schema.json")).ok().and_then(|f| f.value.ok());
        // No Kubernetes version: only the chart's files are wanted.
        if !out.library && !kube_version.is_empty() {
            let borrowed: Vec<catalog::Scenario> = chart
                .scenarios
                .iter()
                .filter(|s| s.values_file.is_some() && !old.scenarios.iter().any(|o| o.name == s.name))
                .cloned()
                .collect();
            out.renderings = render(&old, &meta, &borrowed, helm, cache, kube_version);
        }
        out
    }
}

/// Renders every scenario of a chart in the extracted tree, and the borrowed ones.
fn render(
    chart: &Chart,
    meta: &ChartMeta,
    borrowed: &[catalog::Scenario],
    helm: &Helm,
    cache: &Cache,
    kube_version: &str,
) -> Vec<BaseRendering> {
    let fingerprint = source_fingerprint(&chart.dir);
    // Vendoring runs helm; a warm cache needs no vendored dependencies at all.
    let vendored = std::sync::OnceLock::new();
    let vendor = || crate::deps::ensure(chart, meta, helm);
    let all: Vec<(&catalog::Scenario, bool)> =
        chart.scenarios.iter().map(|s| (s, false)).chain(borrowed.iter().map(|s| (s, true))).collect();
    all.par_iter()
        .map(|(s, borrowed)| {
            // The values file by its name in the chart and its content, wherever it is.
            let rel = s
                .values_file
                .as_deref()
                .and_then(|v| v.strip_prefix(&chart.dir).ok().or(v.file_name().map(Path::new)));
            let mut key = KeyBuilder::new("base template")
                .str(&fingerprint)
                .str(&chart.name)
                .str(&helm.version)
                .str(&helm.release)
                .str(&helm.namespace)
                .str(kube_version);
            key = match (rel, &s.values_file) {
                (Some(rel), Some(file)) => key.str(&rel.to_string_lossy()).file(file),
                _ => key.str("no values file"),
            };
            let key = key.finish();
            let output: Result<ProcOutput, String> = match cache.get(&key) {
                Some(hit) => Ok(hit),
                None => vendored.get_or_init(vendor).clone().and_then(|()| {
                    let out: ProcOutput = helm
                        .template(&chart.dir, s.values_file.as_deref(), Some(kube_version), &[])
                        .map_err(|e| e.to_string())?
                        .into();
                    cache.put(&key, &out);
                    Ok(out)
                }),
            };
            let objects = output.and_then(|o| {
                if o.success { Ok(manifest::split(&o.stdout).0) } else { Err(o.stderr.trim().to_owned()) }
            });
            BaseRendering {
                scenario: s.name.clone(),
                borrowed: *borrowed,
                kube_version: kube_version.to_owned(),
                objects,
            }
        })
        .collect()
}

/// A fingerprint of what a chart renders from that does not depend on where
/// the folder is or when its dependencies were vendored: its own files
/// (vendored `file://` archives left out) and the sources of those dependencies.
pub fn source_fingerprint(dir: &Path) -> String {
    let deps = crate::deps::local_dependencies(dir);
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && (e.file_name() == "snapshots" || e.file_name() == "charts")))
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    // Archives of remote dependencies and unpacked subcharts (`charts/<dep>/`)
    // are sources too; local ones are rebuilt from their folders.
    files.extend(
        walkdir::WalkDir::new(dir.join("charts"))
            .min_depth(1)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| {
                let top = p.parent().is_some_and(|d| d == dir.join("charts"));
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                !(top
                    && deps.iter().any(|(d, _)| name.starts_with(&format!("{d}-")) && name.ends_with(".tgz")))
            }),
    );
    files.sort();
    let mut k = KeyBuilder::new("chart sources");
    for f in files {
        let rel = f.strip_prefix(dir).unwrap_or(&f);
        k = k.str(&rel.to_string_lossy()).file(&f);
    }
    for (name, src) in deps {
        k = k.str(&name).str(&cache::chart_fingerprint(&src));
    }
    k.finish().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_fingerprint_ignores_vendored_local_archives_and_follows_their_sources() {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("app");
        let lib = tmp.path().join("common");
        std::fs::create_dir_all(app.join("charts")).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(
            app.join("Chart.yaml"),
            "name: app\ndependencies:\n  - name: common\n    repository: file://../common\n",
        )
        .unwrap();
        std::fs::write(lib.join("Chart.yaml"), "name: common\n").unwrap();
        let a = source_fingerprint(&app);
        std::fs::write(app.join("charts/common-0.1.0.tgz"), "archive built now").unwrap();
        assert_eq!(a, source_fingerprint(&app), "a re-vendored archive changes nothing");
        std::fs::write(app.join("charts/redis-1.0.0.tgz"), "remote").unwrap();
        let b = source_fingerprint(&app);
        assert_ne!(a, b, "a remote dependency's archive is a source");
        std::fs::write(lib.join("values.yaml"), "x: 1\n").unwrap();
        let c = source_fingerprint(&app);
        assert_ne!(b, c, "the library's sources count");
        std::fs::create_dir_all(app.join("charts/sub/templates")).unwrap();
        std::fs::write(app.join("charts/sub/templates/a.yaml"), "a: 1\n").unwrap();
        let d = source_fingerprint(&app);
        assert_ne!(c, d, "an unpacked subchart is a source");
        std::fs::write(app.join("charts/sub/templates/a.yaml"), "a: 2\n").unwrap();
        assert_ne!(d, source_fingerprint(&app), "and so is every file in it");
    }
}
