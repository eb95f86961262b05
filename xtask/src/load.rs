//! Loading: everything the checks need about one chart, gathered at the edge
//! (files read, helm run, objects validated) so that the checks themselves stay pure.

use crate::cache::{self, Cache};
use crate::catalog::{Chart, Scenario};
use crate::helm::Helm;
use crate::kube::Schemas;
use crate::kube::crd::{self, CrdSet};
use crate::render::{self, RenderInputs, Rendering};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A finished process, reduced to what checks read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for ProcOutput {
    fn from(o: std::process::Output) -> Self {
        Self {
            success: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// One `helm lint` run: a chart in one scenario.
#[derive(Debug, Clone)]
pub struct LintRun {
    pub scenario: Scenario,
    /// `Err` when helm could not be run at all.
    pub result: Result<ProcOutput, String>,
}

#[derive(Debug, Clone)]
pub struct LoadedChart {
    pub chart: Chart,
    /// Whether local (`file://`) dependencies could be vendored; helm's message if not.
    pub dependencies: Result<(), String>,
    pub helm_lint: Vec<LintRun>,
    /// Chart.yaml as text and as data (`Value::Null` when unreadable).
    pub chart_yaml: String,
    pub chart_meta: serde_json::Value,
    /// The Kubernetes versions rendered for, or why none could be chosen.
    pub kube_versions: Result<Vec<String>, String>,
    /// Every scenario × Kubernetes version, rendered (empty when not asked for).
    pub renderings: Vec<Rendering>,
    /// Texts of the chart's values.yaml and of each scenario's values file.
    pub values_texts: BTreeMap<String, String>,
    /// Text of every template an object came from, by its path on disk.
    pub templates: BTreeMap<PathBuf, String>,
    /// `file://` dependencies: name and source folder.
    pub local_dependencies: Vec<(String, PathBuf)>,
    /// CRD files of the chart's `crds/` or the catalog's CRD folder that could not be read.
    pub crd_errors: Vec<String>,
}

/// What the loader needs from the run's configuration.
pub struct LoadOptions<'a> {
    pub helm: &'a Helm,
    pub lint_extra_args: Vec<String>,
    pub cache: &'a Cache,
    /// Render every scenario × Kubernetes version and validate against these schemas.
    pub render: Option<&'a Schemas>,
}

pub fn load(chart: &Chart, opts: &LoadOptions<'_>) -> LoadedChart {
    let dependencies = crate::deps::ensure(chart, opts.helm);
    let fingerprint = cache::chart_fingerprint(&chart.dir);
    let inputs =
        RenderInputs { chart_dir: &chart.dir, fingerprint: &fingerprint, helm: opts.helm, cache: opts.cache };
    let chart_yaml = std::fs::read_to_string(chart.dir.join("Chart.yaml")).unwrap_or_default();
    let chart_meta: serde_json::Value = serde_saphyr::from_str(&chart_yaml).unwrap_or_default();
    let kube_versions = crate::kube::versions::matrix(chart_meta.get("kubeVersion").and_then(|v| v.as_str()));
    let (crds, crd_errors) = crd::load_dir(&chart.dir.join("crds"));
    let chart_crds = CrdSet::new(crds);

    let (helm_lint, renderings) = rayon::join(
        || {
            chart
                .scenarios
                .par_iter()
                .map(|scenario| LintRun {
                    scenario: scenario.clone(),
                    result: render::lint(&inputs, scenario.values_file.as_deref(), &opts.lint_extra_args),
                })
                .collect()
        },
        || match (opts.render, &kube_versions) {
            // A library chart renders nothing (helm refuses to): its users' renders check it.
            _ if chart_meta.get("type").and_then(|t| t.as_str()) == Some("library") => Vec::new(),
            (Some(schemas), Ok(versions)) => {
                render::render_all(&inputs, &chart.scenarios, versions, Some((schemas, &chart_crds)))
            }
            _ => Vec::new(),
        },
    );

    let mut values_texts = BTreeMap::new();
    values_texts.insert(
        Scenario::DEFAULT.to_owned(),
        std::fs::read_to_string(chart.dir.join("values.yaml")).unwrap_or_default(),
    );
    for s in chart.scenarios.iter() {
        if let Some(f) = &s.values_file {
            values_texts.insert(s.name.clone(), std::fs::read_to_string(f).unwrap_or_default());
        }
    }
    let local_dependencies = crate::deps::local_dependencies(&chart.dir);
    let mut templates = BTreeMap::new();
    for r in &renderings {
        for o in &r.objects {
            if let Some(path) = o.source.as_deref().and_then(|s| source_path(chart, &local_dependencies, s)) {
                if !templates.contains_key(&path) {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    templates.insert(path, text);
                }
            }
        }
    }
    LoadedChart {
        chart: chart.clone(),
        dependencies,
        helm_lint,
        chart_yaml,
        chart_meta,
        kube_versions,
        renderings,
        values_texts,
        templates,
        local_dependencies,
        crd_errors,
    }
}

/// The file on disk behind a `# Source:` path: `<chart>/templates/x.yaml` is in
/// the chart folder; `<chart>/charts/<dep>/templates/x.yaml` is in the
/// dependency's source folder when it is a local (`file://`) one.
pub fn source_path(chart: &Chart, local_deps: &[(String, PathBuf)], source: &str) -> Option<PathBuf> {
    let rel = source.strip_prefix(&format!("{}/", chart.name))?;
    if let Some(rest) = rel.strip_prefix("charts/") {
        let (dep, inner) = rest.split_once('/')?;
        if let Some((_, dir)) = local_deps.iter().find(|(n, _)| n == dep) {
            return Some(clean(&dir.join(inner)));
        }
    }
    Some(chart.dir.join(rel))
}

/// Removes `..` lexically (`charts/a/../common` → `charts/common`), so paths read well.
fn clean(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}
