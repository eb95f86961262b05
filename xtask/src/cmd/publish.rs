use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::release::publish::{self, Status};
use std::io::Write;
use std::path::PathBuf;

/// Push every packaged chart to an OCI registry
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Pushes the archives that DIR/index.yaml lists (run `cargo xtask package` first). A version the \
registry already holds is pulled back and compared: identical bytes are skipped, other bytes are \
refused (exit 1). Registry credentials come from `helm registry login`; set HELM_REGISTRY_CONFIG \
to the file that login wrote, since the harness runs helm with its own config home.

Example: cargo xtask publish --oci oci://ghcr.io/OWNER/charts")]
pub struct Args {
    /// Registry and path, as in oci://HOST[:PORT]/PATH
    #[arg(long, value_name = "REF")]
    pub oci: String,

    /// Talk plain HTTP to the registry (a local test registry)
    #[arg(long)]
    pub plain_http: bool,

    /// Folder holding the packaged charts and index.yaml
    #[arg(long, default_value = "dist")]
    pub dir: PathBuf,

    /// Also write each pushed `HOST/PATH/CHART@sha256:…` here, one a line (for signing)
    #[arg(long, value_name = "FILE")]
    pub refs_out: Option<PathBuf>,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let helm = super::helm(major)?;
    let results = match publish::run(&helm, &args.dir, &args.oci, args.plain_http) {
        Ok(r) => r,
        Err(e @ publish::PublishError::Tampered { .. }) => {
            eprintln!("error[release/publish]: {e}");
            return Ok(Exit::Findings);
        }
        Err(e) => return Err(e.into()),
    };
    let base = publish::parse_ref(&args.oci)?;
    let mut refs = String::new();
    let mut exit = Exit::Clean;
    for r in &results {
        let what = format!("{}/{}:{}", base, r.name, r.version);
        match &r.status {
            Status::Pushed { manifest } => {
                println!("pushed    {what} {manifest}");
                if !manifest.is_empty() {
                    refs.push_str(&format!("{}/{}@{manifest}\n", base.trim_start_matches("oci://"), r.name));
                }
            }
            Status::Unchanged => println!("unchanged {what} (the registry holds the same archive)"),
            Status::Conflict { remote } => {
                eprintln!(
                    "error[release/immutable]: {what} is already in the registry with digest {remote}, \
                     but the packaged chart has digest {}; bump the chart version",
                    r.digest
                );
                exit = Exit::Findings;
            }
            Status::Failed(why) => {
                eprintln!("error[release/publish]: {what}: {why}");
                exit = Exit::Failure;
            }
        }
    }
    if let Some(file) = &args.refs_out {
        nex_harness::release::archive::write_atomic(file, refs.as_bytes())?;
    }
    std::io::stdout().flush()?;
    Ok(exit)
}
