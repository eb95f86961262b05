use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::image_contract::{self as images, ImagesError};
use nex_harness::report::{self, Format, Summary};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Check every rendered image against its registry, and the lock (images.lock.yaml) against both
///
/// Renders every chart in every scenario, resolves each image's tag to its digest
/// with the OCI distribution API (anonymous bearer tokens, or the `auths` of
/// ~/.docker/config.json) and reads each platform's image config: entrypoint, cmd,
/// user, exposed ports, healthcheck. Reports where images.lock.yaml, the values'
/// `@sha256:` digests or the artifacthub.io/images annotations differ from the
/// registry, entries not yet confirmed by a registry, tags the registry does not
/// have, and the image/* rules judged on the registry's facts. With --update it
/// rewrites the lock, the digests in values.yaml and the annotations instead
/// (atomically, only files that change, nothing at all when a lookup fails).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 clean, 1 findings, 2 a registry could not be reached or answered something \
unusable (nothing rewritten), or the charts could not be rendered."
)]
pub struct Args {
    /// Chart folders or names (default: the whole catalog; then lock entries no chart renders are stale)
    pub charts: Vec<PathBuf>,

    /// Rewrite images.lock.yaml, the values.yaml digests and the artifacthub.io/images annotations
    #[arg(long)]
    pub update: bool,

    /// A registry spoken to over plain HTTP (HOST:PORT); repeatable
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    pub insecure_registry: Vec<String>,

    /// An image this repository builds (REGISTRY/REPOSITORY:TAG) that may not be published yet:
    /// missing from its registry it is a warning, not an error (a pull request bumping it); repeatable
    #[arg(long, value_name = "IMAGE")]
    pub unpublished: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    let root = super::root()?;
    let config = super::config(&root)?;
    let all = nex_harness::catalog::discover(&root, &config)?;
    let whole = args.charts.is_empty();
    let charts = nex_harness::catalog::select(all, &args.charts)?;
    let helm = super::helm(major)?;
    let cache = nex_harness::cache::Cache::new(&nex_harness::provision::cache_root());
    let opts = images::Options {
        // The working directory is the root: paths in findings stay relative.
        root: std::path::Path::new(""),
        charts: &charts,
        whole,
        helm: &helm,
        cache: &cache,
        insecure: args.insecure_registry.clone(),
        update: args.update,
        unpublished: args.unpublished.clone(),
    };
    let outcome = match images::run(&opts) {
        Ok(o) => o,
        Err(e @ (ImagesError::Unreachable(_) | ImagesError::Unusable(_))) => {
            eprintln!("error[image/registry]: {e}");
            return Ok(Exit::Failure);
        }
        Err(e) => return Err(e.into()),
    };
    for path in &outcome.written {
        eprintln!("wrote {}", path.strip_prefix(&root).unwrap_or(path).display());
    }
    if args.update && outcome.written.is_empty() && outcome.diagnostics.iter().all(|d| !d.is_failing()) {
        eprintln!("{} images checked; every file already up to date", outcome.images);
    }
    let names: Vec<String> = charts.iter().map(|c| c.name.clone()).collect();
    let color = args.format == Format::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    print!("{}", report::render(args.format, &outcome.diagnostics, &names, color));
    Ok(if Summary::of(&outcome.diagnostics, names.len()).errors > 0 { Exit::Findings } else { Exit::Clean })
}
