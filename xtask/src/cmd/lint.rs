use std::io::IsTerminal;
use std::path::PathBuf;
use xtask::Exit;
use xtask::diag::Diagnostic;
use xtask::helm::Major;
use xtask::kube::Schemas;
use xtask::load::LoadOptions;

/// CRDs configured for the whole catalog (custom resources charts may render).
const CATALOG_CRDS: &str = "schemas/crds";
use xtask::report::{self, Format, Summary};

/// Check charts: helm lint --strict, then render every scenario (values.yaml and
/// each ci/*-values.yaml) for each Kubernetes version of the chart's matrix, validate
/// every object against the Kubernetes JSON schemas (strict) and apply the Pod
/// Security "restricted" and catalog policies.
///
/// Charts are found under the `chart-dirs` of ct.yaml (nested folders too);
/// every chart is checked even when another fails. helm runs are cached by
/// content under target/nex-cache, so an unchanged chart is not rendered again.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Chart folders or names to check (default: the whole catalog)
    pub charts: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let root = super::root()?;
    let config = super::config(&root)?;
    let charts = xtask::catalog::select(xtask::catalog::discover(&root, &config)?, &args.charts)?;
    let helm = super::helm(major)?;
    let cache_root = xtask::provision::cache_root();
    let cache = xtask::cache::Cache::new(&cache_root);
    let (schemas, crd_errors) = Schemas::from_env(&cache_root, Some(root.join(CATALOG_CRDS)));
    let opts = LoadOptions {
        helm: &helm,
        lint_extra_args: config.lint_extra_args(),
        cache: &cache,
        render: Some(&schemas),
    };
    let mut diags = xtask::lint::run(&charts, &opts);
    for e in crd_errors {
        diags.push(Diagnostic::error(
            xtask::checks::kube_schema::CRD,
            "",
            format!("cannot read CRD file {e}"),
        ));
    }
    let names: Vec<String> = charts.iter().map(|c| c.name.clone()).collect();
    let color = args.format == Format::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    print!("{}", report::render(args.format, &diags, &names, color));
    // Missing Kubernetes schemas are a tooling failure, not a finding about the charts.
    if diags.iter().any(|d| d.rule == xtask::checks::kube_schema::UNAVAILABLE) {
        return Ok(Exit::Failure);
    }
    Ok(if Summary::of(&diags, names.len()).errors > 0 { Exit::Findings } else { Exit::Clean })
}
