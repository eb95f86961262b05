use std::io::IsTerminal;
use std::path::PathBuf;
use xtask::Exit;
use xtask::helm::Major;
use xtask::load::LoadOptions;
use xtask::report::{self, Format, Summary};

/// Check charts: helm lint --strict with the chart's values and each ci/*-values.yaml.
///
/// Charts are found under the `chart-dirs` of ct.yaml (nested folders too);
/// every chart is checked even when another fails.
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
    let opts = LoadOptions { helm: &helm, lint_extra_args: config.lint_extra_args() };
    let mut diags = xtask::lint::run(&charts, &opts);
    if args.charts.is_empty() {
        // Charts whose docs cannot be built have their own findings; the table is not judged then.
        let top = xtask::docs::catalog_readme(&root, &charts).ok().flatten();
        let stale = xtask::checks::docs::catalog(&root.join(xtask::docs::README), top);
        diags = xtask::diag::normalize([diags, stale].concat());
    }
    let names: Vec<String> = charts.iter().map(|c| c.name.clone()).collect();
    let color = args.format == Format::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    print!("{}", report::render(args.format, &diags, &names, color));
    Ok(if Summary::of(&diags, names.len()).errors > 0 { Exit::Findings } else { Exit::Clean })
}
