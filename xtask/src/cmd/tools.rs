use nex_harness::Exit;
use nex_harness::helm::{Helm, Major, Origin};

/// Provision the pinned tools (verifying their sha256) and print what is used.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provision both Helm majors, not only the selected one
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let majors: Vec<Major> = if args.all { vec![Major::V4, Major::V3] } else { vec![major] };
    let cache = nex_harness::provision::cache_root();
    for m in majors {
        let helm = Helm::locate(m, &cache)?;
        let origin = match &helm.origin {
            Origin::Env => "HELM_BIN".to_owned(),
            Origin::Pinned { source, replaced_corrupt } => {
                let sha = m.pin().sha256;
                let fixed = if *replaced_corrupt { ", replaced a corrupt cached copy" } else { "" };
                format!("pinned, sha256 {sha} verified, from {source}{fixed}")
            }
        };
        println!("helm {} {} ({origin})", helm.version, helm.bin.display());
    }
    Ok(Exit::Clean)
}
