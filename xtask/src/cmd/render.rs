use anyhow::bail;
use nex_harness::Exit;
use nex_harness::helm::Major;
use std::io::Write;
use std::path::PathBuf;

/// Print what `helm template` renders for a chart, with the release name and
/// namespace the checks use.
#[derive(Debug, clap::Args)]
#[command(after_help = "The release is named `nex` in namespace `nex` (harness.yaml's `release` and \
`namespace` when set), as in every check.")]
pub struct Args {
    /// Chart folder or chart name
    pub chart: PathBuf,

    /// A values file merged over the chart's values.yaml (for example ci/tls-values.yaml)
    #[arg(long, short = 'f')]
    pub values: Option<PathBuf>,

    /// Kubernetes version to render for (`--kube-version`)
    #[arg(long)]
    pub kube_version: Option<String>,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let root = super::root()?;
    let settings = super::settings(&root)?;
    let all = nex_harness::catalog::discover(&root, &settings.ct).unwrap_or_default();
    let chart = nex_harness::catalog::select(all, std::slice::from_ref(&args.chart))?.remove(0);
    // helm would block on a FIFO and read /dev/zero forever: refused before it runs.
    if let Some(values) = &args.values {
        nex_harness::fsio::open_capped(values, nex_harness::fsio::limit::CHART_FILE)
            .map_err(|e| anyhow::anyhow!("--values {}: {e}", values.display()))?;
    }
    let scan = nex_harness::files::scan(&chart.dir);
    if let Some((path, kind)) = scan.special.first() {
        bail!("{} is {kind}, not a regular file; helm would block on it", path.display());
    }
    if let Some((path, target)) = scan.leaving_repo.first() {
        bail!(
            "{} is a link to {}, outside the repository; helm would read it",
            path.display(),
            target.display()
        );
    }
    let helm = super::helm(major)?.with_release(&settings.release, &settings.namespace);
    let meta = nex_harness::files::read_chart_meta(&chart.dir);
    nex_harness::deps::ensure(&chart, &meta, &helm)
        .map_err(|e| anyhow::anyhow!("{}: cannot vendor dependencies: {e}", chart.dir.display()))?;
    let out = helm.template(&chart.dir, args.values.as_deref(), args.kube_version.as_deref(), &[])?;
    std::io::stdout().write_all(&out.stdout)?;
    if !out.status.success() {
        std::io::stderr().write_all(&out.stderr)?;
        bail!(
            "helm template of {} (release {}, namespace {}) failed",
            chart.dir.display(),
            helm.release,
            helm.namespace
        );
    }
    Ok(Exit::Clean)
}
