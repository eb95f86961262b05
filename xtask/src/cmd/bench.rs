use anyhow::Context;
use nex_harness::Exit;
use nex_harness::bench::{self, Options, measure::LintCommand, report::Report};
use nex_harness::helm::Major;
use std::path::PathBuf;

/// Measure `xtask lint` against a ct-style pipeline (helm lint, yamllint, yamale,
/// kubernetes-validate, serially per chart) and a plain serial helm loop on the same
/// charts: one chart, the real catalog, then 50 and 200 copies of its charts (3
/// scenarios each), in a temp dir; or any chart repository with --repo.
///
/// Cold, warm and one-chart-changed lints are each run --runs times (median and
/// spread), with the lint process's peak memory. The baseline's Python tools are
/// installed with pip, pinned, into a venv under the cache dir (target/nex-cache/bench-venv).
/// Prints a table and writes JSON; the last two lines are the speedup over the
/// baseline and the overhead over the helm floor. Exits 1 when a target is missed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The real catalog only (a fast check)
    #[arg(long)]
    pub quick: bool,

    /// Measurements of each kind per catalog
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,

    /// Catalogs to measure: `real` and numbers of application charts (ignored with --quick)
    #[arg(long, value_delimiter = ',', default_value = "1,real,50,200")]
    pub sizes: Vec<String>,

    /// Measure this chart repository instead (its ct.yaml, its charts as git has them), against the same baselines
    #[arg(long, value_name = "PATH", conflicts_with_all = ["quick", "sizes"])]
    pub repo: Option<PathBuf>,

    /// Where the JSON record goes
    #[arg(long, default_value = "target/bench/bench.json")]
    pub out: PathBuf,

    /// Numbers of values.yaml keys for the keys case (one chart, cold lint each); the flag alone to skip
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "10000,20000,40000")]
    pub values_keys: Vec<usize>,

    /// Measure only the values-keys case (no catalogs, no baseline)
    #[arg(long)]
    pub only_values_keys: bool,

    /// Charts of each synthetic catalog put through the serial baseline (scaled to the catalog)
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..))]
    pub baseline_sample: u32,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let root = super::root()?;
    let config = super::config(&root)?;
    let real_charts = nex_harness::catalog::discover(&root, &config)?;
    let helm = super::helm(major)?;
    let cache_root = nex_harness::provision::cache_root();
    let work = tempfile::Builder::new().prefix("nex-bench-").tempdir().context("cannot create a temp dir")?;
    let progress = |m: &str| eprintln!("bench: {m}");
    let opts = Options {
        source_root: root.clone(),
        real_charts,
        sizes: if args.quick { vec![None] } else { sizes(&args.sizes)? },
        repo: match &args.repo {
            Some(p) => Some(p.canonicalize().with_context(|| format!("--repo {}", p.display()))?),
            None => None,
        },
        runs: args.runs as usize,
        baseline_sample: args.baseline_sample as usize,
        lint: LintCommand {
            xtask: std::env::current_exe().context("cannot locate the xtask binary")?,
            helm_major: if major == Major::V3 { "3" } else { "4" }.to_owned(),
        },
        helm: &helm,
        venv: cache_root.join("bench-venv"),
        cache_root,
        work: work.path().to_path_buf(),
        progress: &progress,
    };
    let machine = bench::machine::Machine::detect(&helm.version);
    // Lint time against values.yaml keys: linear, not quadratic (issue 16).
    let keys = bench::measure_values_keys(&opts, if opts.repo.is_some() { &[] } else { &args.values_keys })?;
    if !keys.is_empty() {
        print!("{}", bench::values_keys_text(&keys));
    }
    if args.only_values_keys {
        return Ok(Exit::Clean);
    }
    let results = bench::run(&opts)?;
    let report = Report::new(machine, opts.runs, results);
    let out = if args.out.is_absolute() { args.out.clone() } else { root.join(&args.out) };
    let json = serde_json::to_vec_pretty(&report)?;
    write_atomic(&out, &json).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("bench: wrote {}", out.display());
    print!("{}", report.text());
    let missed = report.missed();
    if !missed.is_empty() {
        let names: Vec<&str> = missed.iter().map(|t| t.name.as_str()).collect();
        eprintln!("bench: {} target(s) missed: {}", missed.len(), names.join("; "));
        return Ok(Exit::Findings);
    }
    Ok(Exit::Clean)
}

fn sizes(list: &[String]) -> anyhow::Result<Vec<Option<usize>>> {
    list.iter()
        .map(|s| match s.trim() {
            "real" => Ok(None),
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(anyhow::anyhow!("--sizes: {n:?} is neither `real` nor a number of charts")),
            },
        })
        .collect()
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    Ok(nex_harness::fsio::write_atomic(path, bytes)?)
}
