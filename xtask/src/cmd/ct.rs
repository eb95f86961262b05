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
Pinned node images (.github/tool-versions.env): Kubernetes 1.36 (kind v0.32.0) and 1.25, the \
lowest the charts claim (kind v0.24.0); run the kind release named there. Releases go into \
namespace `nex` (enforce restricted). On failure the resources that never became ready are named, and \
events, describe output, pod logs and kind's logs are saved under --artifacts. Exit 1 when ct \
fails, 2 when a tool is missing or the cluster cannot be created.")]
    Install {
        /// Kubernetes version of the cluster (1.36, v1.25.16, ...)
        #[arg(long, default_value = "1.36")]
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

        /// A local image to load into the cluster before installing (repeatable): an image
        /// this repository builds (images/*), tested before its tag is published
        #[arg(long, value_name = "IMAGE")]
        load_image: Vec<String>,

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
        Action::Install { cluster_name, upgrade, artifacts, selection, load_image, .. } => {
            let artifacts = root.join(artifacts);
            // Charts named explicitly are checked against the cluster's version, as
            // helm would: the matrix runs the lowest version any chart claims.
            let mut charts = selection.charts.clone();
            // Charts no kind cluster can make ready (runtime.yaml: an outside credential).
            let excluded = needing_credentials(&root)?;
            for (name, what) in &excluded {
                println!("skipped {name}: its runtime contract needs {what}; a kind cluster has none");
            }
            charts.retain(|c| {
                let name = std::path::Path::new(c).file_name().map(|n| n.to_string_lossy().into_owned());
                !excluded.iter().any(|(e, _)| Some(e) == name.as_ref())
            });
            if !selection.charts.is_empty() && charts.is_empty() {
                println!("no chart to install");
                return Ok(Exit::Clean);
            }
            if !charts.is_empty()
                && let Some(version) = ct::node_version(&node_image)
            {
                let claims: Vec<(String, Option<String>)> =
                    charts.iter().map(|c| (c.clone(), kube_version(&root.join(c)))).collect();
                let (keep, skipped) = ct::installable(&claims, &version);
                for (chart, why) in &skipped {
                    println!("skipped {chart}: {why}");
                }
                if keep.is_empty() {
                    println!("no chart to install on Kubernetes {version}");
                    return Ok(Exit::Clean);
                }
                charts = keep;
            }
            let plan = ct::InstallPlan {
                cluster: cluster_name.clone(),
                node_image,
                kubeconfig: artifacts.join("kubeconfig"),
                config,
                upgrade: *upgrade,
                all: selection.all,
                charts,
                extra: selection.extra.clone(),
                load_images: load_image.clone(),
                fixtures: nex_harness::kind::load(&root)?.0,
                excluded: excluded.into_iter().map(|(name, _)| name).collect(),
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

/// A chart's `kubeVersion`, if its Chart.yaml states one.
fn kube_version(dir: &std::path::Path) -> Option<String> {
    nex_harness::files::read_chart_meta(dir).kube_version
}

/// The catalog's charts whose runtime contract needs a credential from an outside
/// service (name, what), read from each chart's runtime.yaml.
fn needing_credentials(root: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let config = nex_harness::config::CtConfig::load(root)?;
    let mut out = Vec::new();
    for chart in nex_harness::catalog::discover(root, &config)? {
        let path = chart.dir.join(nex_harness::runtime::FILE_NAME);
        let Ok(text) = nex_harness::fsio::read_text(&path, nex_harness::fsio::limit::CHART_FILE) else {
            continue;
        };
        // A contract that does not parse is lint's to report; it excludes nothing here.
        if let Ok(contract) = nex_harness::runtime::parse(&path, &text)
            && let Some(what) = contract.needs_outside_credential()
        {
            out.push((chart.name.clone(), what.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
    }
    Ok(out)
}
