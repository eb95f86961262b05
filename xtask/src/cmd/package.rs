use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::release::package::{self, Options, Outcome};
use std::path::PathBuf;

/// Package every chart (the `common` library too) into a chart repository:
/// reproducible archives plus a merged `index.yaml`
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Library dependencies (`file://../common`) are vendored first; in the archives they then name \
the published repository (--dependency-repo, default --url), so a pulled chart can run \
`helm dependency build`. Archives are rewritten with fixed \
timestamps, so the same chart content always has the same digest. A chart opts out with the \
Chart.yaml annotation `nex-charts/publish: \"false\"`.

Published versions are immutable: when the index to merge with already lists a chart version \
with another digest, nothing is written and the run exits 1 naming the chart, the version and \
both digests. Archives and index.yaml are written through temp files and renames.

--image-owner names the GitHub owner the release pushed the catalog's own images under (images/<name>, as ghcr.io/OWNER/<name>); a chart pinning a digest of the nex-charts image is refused for any other owner (exit 1), since that digest is not in OWNER's registry.

A chart holding a symbolic link that leaves its folder (or a FIFO or device) is not packaged: \
helm would copy what the link points at into the archive. --url and --dependency-repo must be \
http(s):// or oci:// URLs.")]
pub struct Args {
    /// Output folder for the archives and index.yaml
    #[arg(long, default_value = "dist")]
    pub out: PathBuf,

    /// An existing index.yaml to merge with and check against (default: OUT/index.yaml)
    #[arg(long, value_name = "INDEX")]
    pub merge: Option<PathBuf>,

    /// Base URL written into new entries' `urls` (default: archive file names, relative to the index)
    #[arg(long)]
    pub url: Option<String>,

    /// Repository URL written over `file://` dependencies in the archives, so a pulled chart
    /// rebuilds them with `helm dependency build` (default: --url)
    #[arg(long, value_name = "URL")]
    pub dependency_repo: Option<String>,

    /// Sign each archive written (Helm provenance, ARCHIVE.prov, for `helm verify` and
    /// `helm pull --verify`) with this gpg secret key (id, fingerprint or user id; GNUPGHOME)
    #[arg(long, value_name = "KEY")]
    pub sign: Option<String>,

    /// File holding the signing key's passphrase (gpg --passphrase-file)
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub passphrase_file: Option<PathBuf>,

    /// GitHub owner the images this repository builds (images/<name>) are published under:
    /// `ghcr.io/nex-charts/<name>` becomes `ghcr.io/OWNER/<name>` in the archives' values.yaml,
    /// Chart.yaml and README.md (lower case, as ghcr.io names are; default: as in git)
    #[arg(long, value_name = "OWNER")]
    pub image_owner: Option<String>,

    /// Also write the file names of the archives new to the index here, one a line
    /// (what a release job uploads)
    #[arg(long, value_name = "FILE")]
    pub list_new: Option<PathBuf>,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let root = super::root()?;
    let config = super::config(&root)?;
    let charts = nex_harness::catalog::discover(&root, &config)?;
    let image_owner = match &args.image_owner {
        Some(owner) => {
            nex_harness::release::image_owner::validate(owner)
                .map_err(|e| anyhow::anyhow!("--image-owner: {e}"))?;
            Some(nex_harness::release::image_owner::ImageOwner {
                owner: owner.clone(),
                images: nex_harness::release::image_owner::catalog_images(&root),
            })
        }
        None => None,
    };
    let helm = super::helm(major)?;
    let opts = Options {
        image_owner,
        out: args.out.clone(),
        merge: args.merge.clone(),
        url: args.url.clone(),
        dependency_repo: args.dependency_repo.clone(),
        sign: args.sign.clone().map(|key| nex_harness::release::provenance::Signer {
            key,
            passphrase_file: args.passphrase_file.clone(),
        }),
    };
    match package::run(&charts, &helm, &opts)? {
        Outcome::Written { packaged, added, skipped, index } => {
            for p in &packaged {
                let state =
                    if added.iter().any(|a| a.file_name == p.file_name) { "new" } else { "unchanged" };
                println!("{:<24} {:<12} sha256:{}  {state}", p.name, p.version, p.digest);
            }
            if let Some(file) = &args.list_new {
                let names: String = added.iter().map(|a| format!("{}\n", a.file_name)).collect();
                nex_harness::release::archive::write_atomic(file, names.as_bytes())?;
            }
            for s in &skipped {
                println!("{s:<24} skipped ({}: \"false\")", package::PUBLISH_ANNOTATION);
            }
            println!(
                "{} charts packaged ({} new) into {}; index {}",
                packaged.len(),
                added.len(),
                args.out.display(),
                index.display()
            );
            Ok(Exit::Clean)
        }
        Outcome::Failed(failed) => {
            for (chart, why) in &failed {
                eprintln!("error[release/package]: {chart}: {why}");
            }
            eprintln!("{} of the charts could not be packaged; nothing was written", failed.len());
            Ok(Exit::Findings)
        }
        Outcome::Conflicts(conflicts) => {
            for c in &conflicts {
                eprintln!("error[release/immutable]: {c}");
            }
            eprintln!("{} published chart versions would change; nothing was written", conflicts.len());
            Ok(Exit::Findings)
        }
    }
}
