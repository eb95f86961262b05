//! The lint pipeline: load each chart (in parallel), run every check, normalise.

use crate::catalog::Chart;
use crate::checks;
use crate::diag::{self, Diagnostic};
use crate::load::{self, LoadOptions};
use rayon::prelude::*;

/// Sizes the thread pool for a lint run. helm processes spend much of their wall
/// time off the CPU (start-up, the Go runtime, file I/O), so a pool of one
/// thread per core, each blocked waiting on one helm, leaves cores idle; three
/// per core keeps them busy (measured with `cargo xtask bench`). The checks
/// themselves are short and do not mind. `RAYON_NUM_THREADS` still decides when set.
pub fn init_thread_pool() {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // Fails only when a pool already exists, which then serves as it is.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(cores * 3).build_global();
}

/// Lints charts; every chart is checked whatever the others found.
pub fn run(charts: &[Chart], opts: &LoadOptions<'_>) -> Vec<Diagnostic> {
    let diags: Vec<Diagnostic> =
        charts.par_iter().flat_map_iter(|chart| checks::run_all(&load::load(chart, opts))).collect();
    diag::normalize(diags)
}
