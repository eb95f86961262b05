//! The lint pipeline: load each chart (in parallel), run every check, normalise.

use crate::catalog::Chart;
use crate::checks;
use crate::diag::{self, Diagnostic};
use crate::load::{self, LoadOptions};
use rayon::prelude::*;

/// Lints charts; every chart is checked whatever the others found.
pub fn run(charts: &[Chart], opts: &LoadOptions<'_>) -> Vec<Diagnostic> {
    let diags: Vec<Diagnostic> =
        charts.par_iter().flat_map_iter(|chart| checks::run_all(&load::load(chart, opts))).collect();
    diag::normalize(diags)
}
