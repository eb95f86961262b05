//! The lint pipeline: load each chart (in parallel), run every check, normalise.

use crate::cache::KeyBuilder;
use crate::catalog::Chart;
use crate::checks;
use crate::diag::{self, Diagnostic};
use crate::load::{self, LoadOptions};
use crate::process::ProcOutput;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The most worker threads any run starts, whatever `RAYON_NUM_THREADS` says:
/// each thread waits on at most one helm, and thousands of threads only cost
/// memory (20 000 made rayon's pool fail to start and the harness panic).
pub const MAX_THREADS: usize = 256;

/// The pool size: `RAYON_NUM_THREADS` when it is a positive number (capped at
/// [`MAX_THREADS`]), else three threads per core.
pub fn thread_count(env: Option<&str>, cores: usize) -> usize {
    let wanted = env.and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0).unwrap_or(cores * 3);
    wanted.clamp(1, MAX_THREADS)
}

/// Sizes the thread pool for a run. helm processes spend much of their wall
/// time off the CPU (start-up, the Go runtime, file I/O), so a pool of one
/// thread per core, each blocked waiting on one helm, leaves cores idle; three
/// per core keeps them busy (measured with `cargo xtask bench`). The checks
/// themselves are short and do not mind. `RAYON_NUM_THREADS` still decides
/// when set, within [`MAX_THREADS`]; when the system refuses that many threads
/// the pool is halved until it starts.
pub fn init_thread_pool() {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut n = thread_count(std::env::var("RAYON_NUM_THREADS").ok().as_deref(), cores);
    loop {
        match rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
            // (An error also means a pool already exists: it then serves as it is.)
            Err(_) if n > 1 => n /= 2,
            _ => return,
        }
    }
}

/// Lints charts; every chart is checked whatever the others found.
///
/// Library charts that another chart of the run uses as a `file://`
/// dependency go last: when a user of theirs rendered, their templates are
/// known to parse and `helm lint` need not run for them (see
/// `helmlint::Model::library_doubt`). The others go first, all in parallel.
pub fn run(charts: &[Chart], opts: &LoadOptions<'_>) -> Vec<Diagnostic> {
    let sources = Mutex::new(HashMap::new());
    let used: HashSet<PathBuf> = charts
        .iter()
        .flat_map(|c| crate::files::read_chart_meta(&c.dir).local_dependencies(&c.dir))
        .map(|(_, dir)| load::library_key(&dir))
        .collect();
    // A library with dependencies of its own is never vouched for, and its users
    // vendor it with what its `charts/` holds: it goes first, as before.
    let (later, first): (Vec<&Chart>, Vec<&Chart>) = charts.iter().partition(|c| {
        let meta = crate::files::read_chart_meta(&c.dir);
        meta.is_library() && meta.dependencies.is_empty() && used.contains(&load::library_key(&c.dir))
    });
    let rendered = Mutex::new(HashSet::new());
    let mut diags: Vec<Diagnostic> = first
        .par_iter()
        .flat_map_iter(|chart| {
            let (diags, libraries) = lint_chart(chart, opts, &sources);
            rendered.lock().unwrap_or_else(|p| p.into_inner()).extend(libraries);
            diags
        })
        .collect();
    let rendered = rendered.into_inner().unwrap_or_else(|p| p.into_inner());
    let opts = LoadOptions { rendered_libraries: Some(&rendered), ..opts.clone() };
    let libraries: Vec<Diagnostic> =
        later.par_iter().flat_map_iter(|chart| lint_chart(chart, &opts, &sources).0).collect();
    diags.extend(libraries);
    diag::normalize(diags)
}

/// One chart's findings. Checks are pure functions of what the loader gathers,
/// so the findings are cached under a key over everything the load reads: an
/// unchanged chart costs a warm run one fingerprint and one cache read (no
/// YAML parsed, no schema compiled, no README rendered).
/// One chart's findings, and the library charts (folders, see
/// [`load::library_key`]) it proved to parse by rendering with them.
fn lint_chart(
    chart: &Chart,
    opts: &LoadOptions<'_>,
    sources: &Mutex<HashMap<PathBuf, String>>,
) -> (Vec<Diagnostic>, Vec<PathBuf>) {
    let key = findings_key(chart, opts, sources);
    if let Some(hit) = key.as_ref().and_then(|k| opts.cache.get::<Vec<Diagnostic>>(k)) {
        return (hit, Vec::new());
    }
    let loaded = load::load(chart, opts);
    if std::env::var_os("NEX_DEBUG_LINT_MODEL").is_some() {
        eprintln!(
            "{}: {:?} {:?} runs={}",
            chart.name,
            loaded.lint_doubt,
            loaded.lint_model,
            loaded.helm_lint.len()
        );
    }
    let diags = checks::run_all(&loaded);
    if let Some(k) = key.filter(|_| settled(&loaded)) {
        opts.cache.put(&k, &diags);
    }
    let rendered = loaded.dependencies.is_ok()
        && loaded.renderings.iter().any(|r| r.output.as_ref().is_ok_and(|o| o.success));
    // Only a dependency always enabled was surely part of the render (a
    // `condition` or `tags` may have left it out, and helm then parses none of it).
    let always: Vec<String> = loaded
        .meta
        .value
        .get("dependencies")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|d| d.get("condition").is_none() && d.get("tags").is_none())
        .filter_map(|d| d.get("name").and_then(serde_json::Value::as_str).map(str::to_owned))
        .collect();
    let libraries = if rendered {
        loaded
            .meta
            .local_dependencies(&chart.dir)
            .iter()
            .filter(|(name, _)| always.contains(name))
            .map(|(_, dir)| load::library_key(dir))
            .collect()
    } else {
        Vec::new()
    };
    (diags, libraries)
}

/// The findings' cache key, or `None` (no caching) when the chart's
/// dependencies cannot be vendored (the load then reports why) or when the
/// upgrade checks compare with the target branch (which the key does not cover).
fn findings_key(
    chart: &Chart,
    opts: &LoadOptions<'_>,
    sources: &Mutex<HashMap<PathBuf, String>>,
) -> Option<crate::cache::Key> {
    if opts.base.is_some() {
        return None;
    }
    // Vendoring first: the fingerprint then covers the dependency archives.
    let meta = crate::files::read_chart_meta(&chart.dir);
    match opts.deps {
        Some(deps) => deps.ensure(chart, &meta, opts.helm).ok()?,
        None => crate::deps::ensure(chart, &meta, opts.helm).ok()?,
    }
    let mut k = KeyBuilder::new("chart findings")
        .str(crate::kube::harness_identity())
        .str(&chart.name)
        .str(&chart.dir.to_string_lossy())
        .str(&opts.cache.fingerprint(&chart.dir))
        .str(&format!("{:?}", chart.scenarios))
        .str(&opts.helm.version)
        .str(&opts.lint_extra_args.join("\u{0}"))
        // `NEX_HELM_LINT=always` runs helm lint where the model would prove it silent.
        .opt(std::env::var(crate::helmlint::ENV).ok().as_deref())
        .str(&format!("{:?}", opts.settings))
        .opt(opts.baseline.map(|b| format!("{:?}", b.previous(&chart.dir))).as_deref())
        .opt(opts.render.map(|s| s.identity()).as_deref())
        // The image rules read the lock: its text is part of every chart's findings.
        .opt(opts.images_lock.as_ref().map(|l| l.digest.as_str()))
        // ct/install-ready reads the kind job's fixtures.
        .opt(opts.kind_fixtures.as_ref().map(|f| f.digest.as_str()));
    // Not in the key: whether a user of a library rendered in this run (`run`).
    // It decides whether helm lint runs or is modelled, not what is found: the
    // model is only used where it proves the lint silent, and that the
    // templates parse is a fact of the library's content, which the key holds.
    // Findings quote the templates of local dependencies from their source folders.
    for (name, dir) in meta.local_dependencies(&chart.dir) {
        let print = {
            let mut memo = sources.lock().unwrap_or_else(|p| p.into_inner());
            memo.entry(dir.clone()).or_insert_with(|| opts.cache.fingerprint(&dir)).clone()
        };
        k = k.str(&name).str(&print);
    }
    Some(k.finish())
}

/// `docs/stale` on the catalog table of the README at `root` (whole-catalog
/// runs), for `charts` (every chart `docs` sees). The table is built from the
/// charts' folders alone, and building a row parses the chart's values and
/// schema: the findings are cached under the README's text and the charts'
/// fingerprints, and each row under its chart's, so a changed chart costs one row.
pub fn catalog_table(root: &Path, charts: &[Chart], cache: &crate::cache::Cache) -> Vec<Diagnostic> {
    let readme = root.join(crate::docs::README);
    let id = crate::kube::harness_identity();
    let prints: Vec<String> = charts.iter().map(|c| cache.fingerprint(&c.dir)).collect();
    let mut k = KeyBuilder::new("catalog table").str(id).str(&root.to_string_lossy()).file(&readme);
    for (c, print) in charts.iter().zip(&prints) {
        k = k.str(&c.dir.to_string_lossy()).str(print);
    }
    let compute = || {
        let mut rows = Vec::with_capacity(charts.len());
        for (c, print) in charts.iter().zip(&prints) {
            let key = KeyBuilder::new("catalog table row")
                .str(id)
                .str(&root.to_string_lossy())
                .str(&c.dir.to_string_lossy())
                .str(print)
                .finish();
            let row = cache.get_or(&key, || crate::docs::catalog_entry(root, c).ok(), |_| true);
            // Charts whose docs cannot be built have their own findings; the table is not judged then.
            let Some(row) = row else { return Vec::new() };
            rows.push(row);
        }
        let top = crate::docs::catalog_readme_of(root, &rows).ok().flatten();
        checks::docs::catalog(&readme, top)
    };
    cache.get_or(&k.finish(), compute, |_| true)
}

/// Whether a load's outcome is a result of its inputs alone: every helm run
/// finished by itself (not missing, timed out or crashed) and the schemas were
/// there. Anything else is reported but not cached.
fn settled(loaded: &load::LoadedChart) -> bool {
    let finished = |r: &Result<ProcOutput, String>| r.as_ref().is_ok_and(|o| o.signal.is_none());
    loaded.dependencies.is_ok()
        && loaded.helm_lint.iter().all(|r| finished(&r.result))
        && loaded.renderings.iter().all(|r| {
            finished(&r.output)
                && !r.validation.iter().any(|v| matches!(v, crate::kube::Outcome::Unavailable(_)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_are_capped() {
        assert_eq!(thread_count(Some("20000"), 2), MAX_THREADS);
        assert_eq!(thread_count(Some("4"), 2), 4);
        assert_eq!(thread_count(Some("0"), 2), 6);
        assert_eq!(thread_count(Some("many"), 2), 6);
        assert_eq!(thread_count(None, 1000), MAX_THREADS);
        assert_eq!(thread_count(None, 1), 3);
    }
}
