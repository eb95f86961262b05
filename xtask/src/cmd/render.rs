use anyhow::bail;
use nex_harness::Exit;
use nex_harness::helm::{Major, NAMESPACE, RELEASE};
use std::io::Write;
use std::path::PathBuf;

/// Print what `helm template` renders for a chart, with the fixed release name
/// and namespace the checks use.
#[derive(Debug, clap::Args)]
#[command(after_help = "The release is named `nex` in namespace `nex`, as in every check.")]
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
    let config = super::config(&root)?;
    let all = nex_harness::catalog::discover(&root, &config).unwrap_or_default();
    let chart = nex_harness::catalog::select(all, std::slice::from_ref(&args.chart))?.remove(0);
    let helm = super::helm(major)?;
    nex_harness::deps::ensure(&chart, &helm)
        .map_err(|e| anyhow::anyhow!("{}: cannot vendor dependencies: {e}", chart.dir.display()))?;
    let out = helm.template(&chart.dir, args.values.as_deref(), args.kube_version.as_deref(), &[])?;
    std::io::stdout().write_all(&out.stdout)?;
    if !out.status.success() {
        std::io::stderr().write_all(&out.stderr)?;
        bail!("helm template of {} (release {RELEASE}, namespace {NAMESPACE}) failed", chart.dir.display());
    }
    Ok(Exit::Clean)
}
