use nex_harness::Exit;
use nex_harness::cache::{Cache, MAX_CACHE_BYTES};
use nex_harness::helm::Major;

/// Manage the results cache (target/nex-cache/results, or NEX_CACHE_DIR/results)
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Remove the least recently used results until the cache fits the bound
    Prune {
        /// The bound in bytes (default: the limit every run keeps, 1 GiB)
        #[arg(long, default_value_t = MAX_CACHE_BYTES)]
        max_bytes: u64,
    },
}

pub fn run(args: &Args, _major: Major) -> anyhow::Result<Exit> {
    match args.command {
        Command::Prune { max_bytes } => {
            let cache = Cache::new(&nex_harness::provision::cache_root());
            let p = cache.prune(max_bytes);
            println!(
                "removed {} entries ({} bytes); {} of {} bytes kept (bound {max_bytes})",
                p.entries,
                p.bytes_removed,
                p.bytes_before - p.bytes_removed,
                p.bytes_before
            );
            Ok(Exit::Clean)
        }
    }
}
