use nex_harness::Exit;
use nex_harness::base_tree::{BaseChart, Tree};
use nex_harness::cache::Cache;
use nex_harness::catalog::Chart;
use nex_harness::changed::Baseline;
use nex_harness::diff::report::{self, ChartDiff, Format, Report, ScenarioDiff};
use nex_harness::helm::{Helm, Major};
use nex_harness::manifest::Object;
use nex_harness::render::RenderInputs;
use rayon::prelude::*;
use std::path::PathBuf;

/// Show what this branch changes in the rendered manifests of changed charts
///
/// Every changed chart (or the charts named) × scenario is rendered as it is at
/// `git merge-base <remote>/<target-branch> HEAD` and as it is in the working
/// tree, objects are matched by apiVersion/kind/namespace/name, and each
/// added, removed or changed object is listed with its changed fields (JSON
/// paths, old → new).
///
/// Renders go through the same helm and cache as lint, so a second diff is
/// nearly free. A library chart is diffed through the charts that use it.
/// Breaking changes are not judged here: `cargo xtask lint --changed` does (upgrade/* rules).
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit codes: 0 the diff is complete, 2 a chart could not be rendered \
(the output says which) or git/helm is unusable.")]
pub struct Args {
    /// Chart folders or names to diff (default: the charts changed against ct.yaml's target branch)
    pub charts: Vec<PathBuf>,

    /// Output format: human, or markdown for a pull-request comment
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let root = super::root()?;
    let config = super::config(&root)?;
    let discovery = nex_harness::catalog::discover_all(&root, &config)?;
    let base = Baseline::resolve(&config).map_err(|e| anyhow::anyhow!("diff: {e}"))?;
    let selected: Vec<Chart> = if args.charts.is_empty() {
        discovery.charts.iter().filter(|c| base.touches(&c.dir)).cloned().collect()
    } else {
        nex_harness::catalog::select(discovery.charts.clone(), &args.charts)?
    };
    let plan = plan(&selected, &discovery.charts);
    let tree = Tree::extract(&base, &config.chart_dirs).map_err(|e| anyhow::anyhow!("diff: {e}"))?;
    let helm = super::helm(major)?;
    let cache = Cache::new(&nex_harness::provision::cache_root());

    let results: Vec<(ChartDiff, bool)> = plan
        .par_iter()
        .map(|item| match item {
            Planned::Library { chart, users } => (library(chart, users, &tree, &helm, &cache), true),
            Planned::Chart(chart) => diff_chart(chart, &tree, &helm, &cache),
        })
        .collect();
    let complete = results.iter().all(|(_, ok)| *ok);
    let report = Report { base: tree.label.clone(), charts: results.into_iter().map(|(d, _)| d).collect() };
    print!("{}", report::render(args.format, &report));
    Ok(if complete { Exit::Clean } else { Exit::Failure })
}

enum Planned {
    Chart(Chart),
    /// A library chart: nothing to render; its users are diffed instead.
    Library {
        chart: Chart,
        users: Vec<String>,
    },
}

/// The charts to diff, in order: each selected chart, with a library replaced
/// by a note and the charts using it (`file://` dependencies) added once.
fn plan(selected: &[Chart], catalog: &[Chart]) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    let mut charts: Vec<Chart> = Vec::new();
    for c in selected {
        if is_library(c) {
            let users: Vec<&Chart> = catalog.iter().filter(|u| uses(u, c)).collect();
            out.push(Planned::Library {
                chart: c.clone(),
                users: users.iter().map(|u| u.name.clone()).collect(),
            });
            charts.extend(users.into_iter().cloned());
        } else {
            charts.push(c.clone());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    charts.retain(|c| seen.insert(c.dir.clone()));
    out.extend(charts.into_iter().map(Planned::Chart));
    out
}

fn is_library(chart: &Chart) -> bool {
    let meta: serde_json::Value = std::fs::read_to_string(chart.dir.join("Chart.yaml"))
        .ok()
        .and_then(|t| serde_saphyr::from_str(&t).ok())
        .unwrap_or_default();
    meta.get("type").and_then(|t| t.as_str()) == Some("library")
}

fn uses(user: &Chart, library: &Chart) -> bool {
    let lib = library.dir.canonicalize().unwrap_or_else(|_| library.dir.clone());
    nex_harness::deps::local_dependencies(&user.dir)
        .iter()
        .any(|(_, dir)| dir.canonicalize().is_ok_and(|d| d == lib))
}

fn library(chart: &Chart, users: &[String], tree: &Tree, helm: &Helm, cache: &Cache) -> ChartDiff {
    // A library renders nothing, so loading it at the base only reads its version.
    let base = tree.load(chart, helm, cache, "");
    let note = if users.is_empty() {
        "library chart: renders nothing itself and no chart of the catalog uses it, so there is nothing to diff"
            .to_owned()
    } else {
        format!(
            "library chart: renders nothing itself; diffed through the charts that use it: {}",
            users.join(", ")
        )
    };
    ChartDiff {
        chart: chart.name.clone(),
        old_version: base.version,
        new_version: version_of(chart),
        notes: vec![note],
        scenarios: Vec::new(),
    }
}

fn version_of(chart: &Chart) -> String {
    nex_harness::files::YamlFile::read(&chart.dir.join("Chart.yaml"))
        .ok()
        .and_then(|f| f.root().and_then(|r| r.get("version")).map(|v| v.to_json()))
        .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
        .unwrap_or_default()
}

/// One chart: both sides rendered for the newest Kubernetes version of its
/// matrix, scenario by scenario. The flag is false when a side could not be rendered.
fn diff_chart(chart: &Chart, tree: &Tree, helm: &Helm, cache: &Cache) -> (ChartDiff, bool) {
    let mut out = ChartDiff {
        chart: chart.name.clone(),
        old_version: None,
        new_version: version_of(chart),
        notes: Vec::new(),
        scenarios: Vec::new(),
    };
    let meta: serde_json::Value = std::fs::read_to_string(chart.dir.join("Chart.yaml"))
        .ok()
        .and_then(|t| serde_saphyr::from_str(&t).ok())
        .unwrap_or_default();
    let kube = match nex_harness::kube::versions::matrix(meta.get("kubeVersion").and_then(|v| v.as_str())) {
        Ok(v) => v.last().cloned().unwrap_or_default(),
        Err(e) => {
            out.notes.push(format!("cannot render: {e}"));
            return (out, false);
        }
    };
    let base: BaseChart = tree.load(chart, helm, cache, &kube);
    out.old_version = base.version.clone();
    if base.version.is_none() {
        out.notes.push(format!("new chart: not on {}", tree.label));
    }
    out.notes.push(format!("rendered for Kubernetes {kube}, release `nex` in namespace `nex`"));
    let mut ok = true;
    let new = match nex_harness::deps::ensure(chart, helm) {
        Ok(()) => render_current(chart, helm, cache, &kube),
        Err(e) => chart.scenarios.iter().map(|s| (s.name.clone(), Err(e.clone()))).collect(),
    };
    for (scenario, result) in &new {
        let old = base.renderings.iter().find(|r| &r.scenario == scenario);
        let (changes, note) = match (result, old.map(|o| &o.objects)) {
            (Err(e), _) => {
                ok = false;
                (Vec::new(), Some(format!("cannot be rendered on this branch: {}", first_line(e))))
            }
            (Ok(_), Some(Err(e))) => {
                ok = false;
                (Vec::new(), Some(format!("cannot be rendered on {}: {}", tree.label, first_line(e))))
            }
            (Ok(objs), Some(Ok(old))) => {
                let mut changes = nex_harness::diff::objects(old, objs);
                if let Some((from, to)) =
                    nex_harness::diff::fold_label(&mut changes, nex_harness::diff::CHART_LABEL)
                {
                    let note = format!(
                        "every object's `{}` label: {from} → {to} (not repeated below)",
                        nex_harness::diff::CHART_LABEL
                    );
                    if !out.notes.contains(&note) {
                        out.notes.push(note);
                    }
                }
                (changes, None)
            }
            (Ok(objs), None) => {
                let note = if base.version.is_some() {
                    Some(format!("new scenario (not on {})", tree.label))
                } else {
                    None
                };
                (nex_harness::diff::objects(&[], objs), note)
            }
        };
        out.scenarios.push(ScenarioDiff { scenario: scenario.clone(), changes, note });
    }
    for r in base.renderings.iter().filter(|r| !new.iter().any(|(s, _)| *s == r.scenario)) {
        out.scenarios.push(ScenarioDiff {
            scenario: r.scenario.clone(),
            changes: Vec::new(),
            note: Some("scenario removed on this branch".into()),
        });
    }
    (out, ok)
}

/// This branch's renders, through lint's render path (and so its cache entries).
fn render_current(
    chart: &Chart,
    helm: &Helm,
    cache: &Cache,
    kube: &str,
) -> Vec<(String, Result<Vec<Object>, String>)> {
    let fingerprint = nex_harness::cache::chart_fingerprint(&chart.dir);
    let inputs = RenderInputs { chart_dir: &chart.dir, fingerprint: &fingerprint, helm, cache };
    chart
        .scenarios
        .par_iter()
        .map(|s| {
            let out = nex_harness::render::template(&inputs, s.values_file.as_deref(), Some(kube));
            let objects = out.and_then(|o| {
                if o.success {
                    let (objects, errors) = nex_harness::manifest::split(&o.stdout);
                    match errors.first() {
                        Some(e) => Err(format!("{}: {}", e.source.as_deref().unwrap_or("output"), e.message)),
                        None => Ok(objects),
                    }
                } else {
                    Err(o.stderr)
                }
            });
            (s.name.clone(), objects)
        })
        .collect()
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or("")
}
