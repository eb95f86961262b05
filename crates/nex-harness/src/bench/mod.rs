//! `cargo xtask bench`: the harness against a ct-style pipeline on the same
//! charts, at the size of the real catalog and at 50 and 200 charts.
//!
//! Every lint measured is the real `xtask lint` binary run as a child process
//! over a synthetic catalog in a temp dir. A cold run gets a fresh, empty
//! NEX_CACHE_DIR in which only the pinned helm and the Kubernetes schemas are
//! present (symbolic links to the usual cache), so provisioning downloads are
//! not measured but every helm run and every validation is.

pub mod baseline;
pub mod catalog;
pub mod machine;
pub mod measure;
pub mod report;

use crate::catalog::Chart;
use crate::helm::Helm;
use measure::{LintCommand, Sample, Stats};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Setup(String),
    #[error("{0}")]
    Lint(String),
}

impl BenchError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// What to measure, and with what.
pub struct Options<'a> {
    /// The catalog whose charts are copied (the working directory).
    pub source_root: PathBuf,
    pub real_charts: Vec<Chart>,
    /// `None` is the real catalog; `Some(n)`: n application charts.
    pub sizes: Vec<Option<usize>>,
    /// Another repository to measure as it is (`--repo`), instead of the sizes.
    pub repo: Option<PathBuf>,
    pub runs: usize,
    /// Application charts per synthetic catalog put through the (slow, serial,
    /// linear in N) baseline; its total is scaled to the catalog.
    pub baseline_sample: usize,
    pub lint: LintCommand,
    pub helm: &'a Helm,
    /// The usual cache, where the pinned helm and the schemas are.
    pub cache_root: PathBuf,
    pub venv: PathBuf,
    /// Temp dir for catalogs and cold caches.
    pub work: PathBuf,
    pub progress: &'a dyn Fn(&str),
}

/// Results for one catalog size.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogResult {
    /// `real`, or the number of application charts.
    pub catalog: String,
    pub charts: usize,
    pub scenarios: usize,
    pub cold: Stats,
    pub warm: Stats,
    /// Warm lint of one application chart named by its folder (`lint charts/<app>`).
    pub named: Stats,
    pub changed: Stats,
    /// Peak resident memory of the lint process over every run, MiB.
    pub peak_rss_mib: Option<Stats>,
    pub baseline: BaselineResult,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineResult {
    /// The whole catalog through the ct-style pipeline, serially (scaled when sampled).
    pub seconds: f64,
    /// The plain serial helm loop over the catalog (`helm dependency build`,
    /// `helm lint` + `helm template` per scenario), scaled alike.
    pub helm_loop_seconds: f64,
    /// Sum of the helm processes' wall times (scaled when sampled).
    pub helm_seconds: f64,
    /// `helm_seconds / cores`: the floor for anything that runs these helm processes.
    pub floor_seconds: f64,
    pub charts_measured: usize,
    /// Whether `seconds` was scaled up from a sample of the catalog's charts.
    pub scaled: bool,
    pub per_chart: Vec<baseline::ChartTimes>,
}

/// Measures every requested catalog size.
pub fn run(opts: &Options<'_>) -> Result<Vec<CatalogResult>, BenchError> {
    let tools = baseline::Tools::ensure(&opts.venv)?;
    seed_schemas(opts, &opts.real_charts)?;
    if let Some(repo) = &opts.repo {
        (opts.progress)(&format!("repository {}: copying", repo.display()));
        let dir = opts.work.join("repo");
        let g = catalog::copy_repo(repo, &dir)?;
        let charts: Vec<Chart> = g.apps.iter().chain(&g.libraries).map(|d| crate::catalog::load(d)).collect();
        seed_schemas(opts, &charts)?;
        let result = measure_catalog(opts, &tools, &g, "repo")?;
        let _ = crate::fsio::remove_dir_all_within(&opts.work, &dir);
        return Ok(vec![result]);
    }
    let mut out = Vec::new();
    for size in &opts.sizes {
        let label = size.map_or_else(|| "real".to_owned(), |n| n.to_string());
        (opts.progress)(&format!("catalog {label}: generating"));
        let dir = opts.work.join(format!("catalog-{label}"));
        let g = catalog::generate(&opts.source_root, &opts.real_charts, &dir, *size)?;
        // The copies' READMEs name the original charts; regenerate them so the
        // catalog lints the way a maintained one does (not timed).
        opts.lint.docs(&g.root)?;
        let result = measure_catalog(opts, &tools, &g, &label)?;
        let _ = crate::fsio::remove_dir_all_within(&opts.work, &dir);
        out.push(result);
    }
    Ok(out)
}

/// Extracts the schema versions the charts need into the usual cache, so cold runs find them there.
fn seed_schemas(opts: &Options<'_>, charts: &[Chart]) -> Result<(), BenchError> {
    let root = crate::kube::provision::SchemaRoot::from_env(&opts.cache_root);
    for c in charts {
        let meta = crate::files::read_chart_meta(&c.dir);
        for v in crate::kube::versions::matrix(meta.kube_version.as_deref()).unwrap_or_default() {
            root.ensure(&v).map_err(|e| BenchError::Setup(e.to_string()))?;
        }
    }
    Ok(())
}

/// A fresh cache dir holding only links to the provisioned tools and schemas.
fn fresh_cache(opts: &Options<'_>, name: &str) -> Result<PathBuf, BenchError> {
    let dir = opts.work.join(name);
    let _ = crate::fsio::remove_dir_all_within(&opts.work, &dir);
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::io(&dir, e))?;
    for sub in ["tools", "kube-schemas"] {
        let from = opts.cache_root.join(sub);
        if from.is_dir() {
            crate::fsio::symlink(&from, &dir.join(sub)).map_err(|e| BenchError::io(&dir, e.into()))?;
        }
    }
    Ok(dir)
}

fn measure_catalog(
    opts: &Options<'_>,
    tools: &baseline::Tools,
    g: &catalog::Generated,
    label: &str,
) -> Result<CatalogResult, BenchError> {
    let runs = opts.runs.max(1);
    let mut peaks = Vec::new();
    let record = |s: &Sample, peaks: &mut Vec<f64>| peaks.extend(s.peak_rss_mib);
    let mut cold = Vec::new();
    let mut cache = PathBuf::new();
    for r in 0..runs {
        (opts.progress)(&format!("catalog {label}: cold lint {}/{runs}", r + 1));
        g.clear_vendored()?;
        if r > 0 {
            let _ = crate::fsio::remove_dir_all_within(&opts.work, &cache);
        }
        cache = fresh_cache(opts, &format!("cache-{label}-{r}"))?;
        let s = opts.lint.run(&g.root, &cache)?;
        record(&s, &mut peaks);
        cold.push(s.seconds);
    }
    let mut warm = Vec::new();
    for r in 0..runs {
        (opts.progress)(&format!("catalog {label}: warm lint {}/{runs}", r + 1));
        let s = opts.lint.run(&g.root, &cache)?;
        record(&s, &mut peaks);
        warm.push(s.seconds);
    }
    let mut named = Vec::new();
    let first = g.apps[0].strip_prefix(&g.root).unwrap_or(&g.apps[0]).to_path_buf();
    for r in 0..runs {
        (opts.progress)(&format!("catalog {label}: warm lint of {} {}/{runs}", first.display(), r + 1));
        let s = opts.lint.run_charts(&g.root, &cache, &[&first])?;
        record(&s, &mut peaks);
        named.push(s.seconds);
    }
    let mut changed = Vec::new();
    // The first application chart's values.yaml (its Chart.yaml when it has none).
    let values = Some(g.apps[0].join("values.yaml"))
        .filter(|v| v.is_file())
        .unwrap_or_else(|| g.apps[0].join("Chart.yaml"));
    for r in 0..runs {
        (opts.progress)(&format!("catalog {label}: lint after one chart changed {}/{runs}", r + 1));
        let mut text = crate::files::read_text(&values).map_err(|e| BenchError::io(&values, e.into()))?;
        text.push_str(&format!("# bench edit {r}\n"));
        crate::fsio::write_atomic(&values, text.as_bytes()).map_err(|e| BenchError::io(&values, e.into()))?;
        let s = opts.lint.run(&g.root, &cache)?;
        record(&s, &mut peaks);
        changed.push(s.seconds);
    }
    let _ = crate::fsio::remove_dir_all_within(&opts.work, &cache);
    let baseline = run_baseline(opts, tools, g, label)?;
    let stats = |v: &[f64]| Stats::of(v).ok_or_else(|| BenchError::Setup("no measurement".into()));
    Ok(CatalogResult {
        catalog: label.to_owned(),
        charts: g.charts(),
        scenarios: g.scenarios,
        cold: stats(&cold)?,
        warm: stats(&warm)?,
        named: stats(&named)?,
        changed: stats(&changed)?,
        peak_rss_mib: Stats::of(&peaks),
        baseline,
    })
}

fn run_baseline(
    opts: &Options<'_>,
    tools: &baseline::Tools,
    g: &catalog::Generated,
    label: &str,
) -> Result<BaselineResult, BenchError> {
    let whole = label == "real" || label == "repo";
    let sample = if whole { g.apps.len() } else { opts.baseline_sample.clamp(1, g.apps.len()) };
    let config = crate::config::CtConfig::load(&g.root).unwrap_or_default();
    let layout = baseline::Layout::of(&g.root, &config, &opts.source_root.join("schemas/chart.ct.yaml"));
    let mut per_chart = Vec::new();
    let (mut app_s, mut app_h, mut app_l, mut lib_s, mut lib_h, mut lib_l) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, dir) in g.apps.iter().take(sample).enumerate() {
        (opts.progress)(&format!("catalog {label}: baseline chart {}/{sample}", i + 1));
        let t = baseline::chart(tools, opts.helm, &g.root, &layout, &g.chart(dir), true)?;
        app_s += t.seconds;
        app_h += t.helm_seconds;
        app_l += t.helm_loop_seconds;
        per_chart.push(t);
    }
    for dir in &g.libraries {
        let t = baseline::chart(tools, opts.helm, &g.root, &layout, &g.chart(dir), false)?;
        lib_s += t.seconds;
        lib_h += t.helm_seconds;
        lib_l += t.helm_loop_seconds;
        per_chart.push(t);
    }
    // ct works chart by chart, so its time is the sum over charts; a sample of
    // copies of the same charts (taken round-robin) scales linearly.
    let scale = g.apps.len() as f64 / sample as f64;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let helm_seconds = app_h * scale + lib_h;
    Ok(BaselineResult {
        seconds: app_s * scale + lib_s,
        helm_loop_seconds: app_l * scale + lib_l,
        helm_seconds,
        floor_seconds: helm_seconds / cores,
        charts_measured: per_chart.len(),
        scaled: sample < g.apps.len(),
        per_chart,
    })
}

/// Lint time of one chart against the number of keys in its values.yaml
/// (issue 16: it grew with the square of the keys). Cold runs, fresh cache.
#[derive(Debug, Clone, Serialize)]
pub struct KeysPoint {
    pub keys: usize,
    pub seconds: f64,
    /// Seconds per 1 000 keys; flat when lint is linear in the keys.
    pub seconds_per_1000_keys: f64,
}

/// Writes a one-chart catalog whose values.yaml holds `keys` top-level keys.
pub fn values_keys_catalog(dir: &Path, keys: usize) -> Result<PathBuf, BenchError> {
    let chart = dir.join("charts/keys");
    let write = |path: PathBuf, text: String| -> Result<(), BenchError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BenchError::io(parent, e))?;
        }
        crate::fsio::write_atomic(&path, text.as_bytes()).map_err(|e| BenchError::io(&path, e.into()))
    };
    write(dir.join("ct.yaml"), "chart-dirs: [charts]\ntarget-branch: main\n".into())?;
    write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: keys\ndescription: Many values keys.\ntype: application\nversion: 0.1.0\nkubeVersion: \">=1.25.0-0\"\n".into(),
    )?;
    let mut values = String::with_capacity(keys * 16);
    for i in 0..keys {
        values.push_str(&format!("key{i}: {i}\n"));
    }
    write(chart.join("values.yaml"), values)?;
    write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  n: {{ len .Values | quote }}\n".into(),
    )?;
    Ok(dir.to_path_buf())
}

/// Measures [`KeysPoint`]s, one cold lint each.
pub fn measure_values_keys(opts: &Options<'_>, sizes: &[usize]) -> Result<Vec<KeysPoint>, BenchError> {
    let mut out = Vec::new();
    for &keys in sizes {
        (opts.progress)(&format!("values keys {keys}: cold lint"));
        let dir = opts.work.join(format!("keys-{keys}"));
        let _ = crate::fsio::remove_dir_all_within(&opts.work, &dir);
        let root = values_keys_catalog(&dir, keys)?;
        let cache = fresh_cache(opts, &format!("cache-keys-{keys}"))?;
        let s = opts.lint.run(&root, &cache)?;
        let _ = crate::fsio::remove_dir_all_within(&opts.work, &dir);
        let _ = crate::fsio::remove_dir_all_within(&opts.work, &cache);
        out.push(KeysPoint {
            keys,
            seconds: s.seconds,
            seconds_per_1000_keys: s.seconds / (keys.max(1) as f64 / 1000.0),
        });
    }
    Ok(out)
}

/// The values-keys table; the last line compares the largest and smallest
/// runs' time per key (about 1 when linear, the size ratio when quadratic).
pub fn values_keys_text(points: &[KeysPoint]) -> String {
    use std::fmt::Write;
    let mut s = String::from("values keys | lint s | s per 1000 keys\n");
    for p in points {
        let _ = writeln!(s, "{:>11} | {:>6.2} | {:>15.3}", p.keys, p.seconds, p.seconds_per_1000_keys);
    }
    if let (Some(a), Some(b)) = (points.first(), points.last()) {
        let _ = writeln!(
            s,
            "time per key, {} vs {} keys: x{:.2} (linear: about 1; quadratic: x{:.1})",
            b.keys,
            a.keys,
            b.seconds_per_1000_keys / a.seconds_per_1000_keys,
            b.keys as f64 / a.keys.max(1) as f64
        );
    }
    s
}
