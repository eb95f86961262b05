//! `cargo xtask release doctor`: the repository settings a release needs, checked
//! before anything is published, each missing one named with its one-time fix.

use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::release::doctor::{self, Plan, Status};
use std::time::Duration;

/// What a release needs from the repository
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check (and with --fix create) what a release needs before it publishes anything:
    /// the gh-pages branch, GitHub Pages serving it, public OCI packages
    #[command(after_help = "\
Exit codes: 0 ready, 1 something is missing (each printed with its one-time fix; nothing was \
published), 2 a check could not run (git missing, a registry unreachable).

Example (the release workflow): cargo xtask release doctor --fix \\
  --pages-url https://OWNER.github.io/REPO --oci oci://ghcr.io/OWNER/charts")]
    Doctor(DoctorArgs),
}

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The git remote the release pushes gh-pages to: a remote name or URL (a URL may
    /// carry a token: it is never printed)
    #[arg(long, env = "NEX_RELEASE_REMOTE", default_value = "origin", hide_env_values = true)]
    pub remote: String,
    /// Create what can be created: an orphan gh-pages branch with an empty index.yaml
    #[arg(long)]
    pub fix: bool,
    /// Where GitHub Pages serves gh-pages; its index.yaml must be the branch's
    #[arg(long, value_name = "URL")]
    pub pages_url: Option<String>,
    /// Seconds to wait for Pages to serve the branch's index (a Pages build takes a while)
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub pages_wait: u64,
    /// owner/repo on GitHub, to link its settings pages
    #[arg(long, env = "GITHUB_REPOSITORY", value_name = "OWNER/REPO")]
    pub github_repository: Option<String>,
    /// The OCI repository the charts are pushed to (oci://HOST/PATH): every published
    /// chart must be pullable anonymously there
    #[arg(long, value_name = "REF")]
    pub oci: Option<String>,
    /// An image this repository publishes (HOST/PATH[:TAG]) that must be pullable anonymously too
    #[arg(long, value_name = "REF")]
    pub image: Vec<String>,
    /// Talk plain HTTP to the registries of --oci and --image (local test registries)
    #[arg(long)]
    pub plain_http: bool,
    /// A package nobody can pull anonymously is missing (after the push), not a note
    #[arg(long)]
    pub require_public: bool,
}

pub fn run(args: &Args, _major: Major) -> anyhow::Result<Exit> {
    match &args.command {
        Command::Doctor(a) => doctor_cmd(a),
    }
}

fn doctor_cmd(a: &DoctorArgs) -> anyhow::Result<Exit> {
    let mut packages = Vec::new();
    let mut insecure = Vec::new();
    if let Some(oci) = &a.oci {
        nex_harness::release::publish::parse_ref(oci)?;
        let base = oci.trim_start_matches("oci://").trim_end_matches('/').to_owned();
        let root = super::root()?;
        let config = super::config(&root)?;
        for chart in nex_harness::catalog::discover(&root, &config)? {
            let meta = nex_harness::files::read_chart_meta(&chart.dir);
            if nex_harness::release::package::is_published(&chart.dir) && !meta.is_library() {
                packages.push(format!("{base}/{}", chart.name));
            }
        }
    }
    for image in &a.image {
        // The repository, not one tag: a package is public or not as a whole.
        let r = nex_harness::images::reference::ImageRef::parse(image)?;
        packages.push(format!("{}/{}", r.registry, r.repository));
    }
    if a.plain_http {
        // --plain-http speaks HTTP to every registry named (local test registries).
        for p in &packages {
            insecure.push(p.split('/').next().unwrap_or_default().to_owned());
        }
    }
    let plan = Plan {
        remote: a.remote.clone(),
        fix: a.fix,
        pages_url: a.pages_url.clone(),
        pages_wait: Duration::from_secs(a.pages_wait),
        github_repository: a.github_repository.clone(),
        packages,
        insecure,
        require_public: a.require_public,
    };
    let report = doctor::run(&plan)?;
    for c in &report.checks {
        let tag = match c.status {
            Status::Ok => "ok     ",
            Status::Created => "created",
            Status::Note => "note   ",
            Status::Missing => "MISSING",
        };
        println!("{tag} {}: {}", c.subject, c.detail);
        if let Some(fix) = &c.fix {
            println!("        fix: {fix}");
        }
    }
    let missing = report.missing();
    if missing > 0 {
        println!(
            "{missing} setting(s) missing: the release stops here, before publishing anything; fix them once and re-run"
        );
        return Ok(Exit::Findings);
    }
    println!("ready to release");
    Ok(Exit::Clean)
}
