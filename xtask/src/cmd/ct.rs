use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::release::{cluster, ct};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// Run chart-testing (`ct`): lint, or install and test on a throwaway kind cluster
#[derive(Debug, clap::Args)]
#[command(after_help = "\
ct runs the harness's pinned helm (the --helm major), with ct.yaml passed explicitly. \
Without --all or --charts, ct picks the charts changed against ct.yaml's target branch. \
Missing tools (docker, kind, kubectl, ct, git; yamllint and yamale for lint) exit 2 naming each \
and how to get it. This needs a container runtime: on the project's development machines it \
runs in GitHub Actions only.")]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Args)]
pub struct Selection {
    /// Every chart, not only the changed ones
    #[arg(long, conflicts_with = "charts")]
    pub all: bool,

    /// Only these charts (folders, such as charts/glance)
    #[arg(long, value_delimiter = ',')]
    pub charts: Vec<String>,

    /// Extra arguments passed to ct as they are (after `--`)
    #[arg(last = true)]
    pub extra: Vec<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// `ct lint --config ct.yaml`
    Lint(Selection),
    /// Create a kind cluster, label the test namespace for Pod Security "restricted",
    /// `ct install --config ct.yaml` (helm tests included), always delete the cluster
    #[command(after_help = "\
Pinned node images (kind v0.33.0): Kubernetes 1.34, 1.35, 1.36, 1.37. Releases go into namespace \
`nex` (enforce restricted). On failure the resources that never became ready are named, and \
events, describe output, pod logs and kind's logs are saved under --artifacts. Exit 1 when ct \
fails, 2 when a tool is missing or the cluster cannot be created.")]
    Install {
        /// Kubernetes version of the cluster (1.37, v1.35.8, ...)
        #[arg(long, default_value = "1.37")]
        kubernetes_version: String,

        /// kind cluster name
        #[arg(long, default_value = "nex-ct")]
        cluster_name: String,

        /// Also test an upgrade from the target branch's chart revision (ct --upgrade)
        #[arg(long)]
        upgrade: bool,

        /// Where the evidence of a failure goes
        #[arg(long, default_value = "target/ct-artifacts")]
        artifacts: PathBuf,

        #[command(flatten)]
        selection: Selection,
    },
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let path = std::env::var_os("PATH");
    let tools = match &args.action {
        Action::Lint(_) => ct::LINT_TOOLS,
        Action::Install { .. } => ct::INSTALL_TOOLS,
    };
    let missing = ct::missing(tools, path.as_ref());
    if !missing.is_empty() {
        eprintln!("error: {}", ct::missing_message(&missing));
        return Ok(Exit::Failure);
    }
    // Usage errors before anything is provisioned.
    let node_image = match &args.action {
        Action::Install { kubernetes_version, .. } => match ct::node_image(kubernetes_version) {
            Ok(i) => i.to_owned(),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(Exit::Failure);
            }
        },
        Action::Lint(_) => String::new(),
    };
    let root = super::root()?;
    let config = root.join(nex_harness::config::FILE_NAME);
    let helm = super::helm(major)?;
    let path: OsString = ct::path_with_helm(&helm.bin, path.as_ref());
    match &args.action {
        Action::Lint(sel) => {
            let status = Command::new("ct")
                .args(ct::ct_lint_args(&config, sel.all, &sel.charts, &sel.extra))
                .env("PATH", &path)
                .status()?;
            Ok(if status.success() { Exit::Clean } else { Exit::Findings })
        }
        Action::Install { cluster_name, upgrade, artifacts, selection, .. } => {
            let artifacts = root.join(artifacts);
            let plan = ct::InstallPlan {
                cluster: cluster_name.clone(),
                node_image,
                kubeconfig: artifacts.join("kubeconfig"),
                config,
                upgrade: *upgrade,
                all: selection.all,
                charts: selection.charts.clone(),
                extra: selection.extra.clone(),
            };
            match cluster::install(&plan, &path, &artifacts) {
                Ok(true) => Ok(Exit::Clean),
                Ok(false) => Ok(Exit::Findings),
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(Exit::Failure)
                }
            }
        }
    }
}
