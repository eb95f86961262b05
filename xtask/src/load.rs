//! Loading: everything the checks need about one chart, gathered at the edge
//! (files read, helm run) so that the checks themselves stay pure.

use crate::catalog::{Chart, Scenario};
use crate::helm::Helm;
use rayon::prelude::*;

/// A finished process, reduced to what checks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for ProcOutput {
    fn from(o: std::process::Output) -> Self {
        Self {
            success: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// One `helm lint` run: a chart in one scenario.
#[derive(Debug, Clone)]
pub struct LintRun {
    pub scenario: Scenario,
    /// `Err` when helm could not be run at all.
    pub result: Result<ProcOutput, String>,
}

#[derive(Debug, Clone)]
pub struct LoadedChart {
    pub chart: Chart,
    /// Whether local (`file://`) dependencies could be vendored; helm's message if not.
    pub dependencies: Result<(), String>,
    pub helm_lint: Vec<LintRun>,
    /// The README and the files it is generated from.
    pub docs: crate::docs::Loaded,
}

/// What the loader needs from the run's configuration.
pub struct LoadOptions<'a> {
    pub helm: &'a Helm,
    pub lint_extra_args: Vec<String>,
}

pub fn load(chart: &Chart, opts: &LoadOptions<'_>) -> LoadedChart {
    let dependencies = crate::deps::ensure(chart, opts.helm);
    let helm_lint = chart
        .scenarios
        .par_iter()
        .map(|scenario| LintRun {
            scenario: scenario.clone(),
            result: opts
                .helm
                .lint(&chart.dir, scenario.values_file.as_deref(), &opts.lint_extra_args)
                .map(ProcOutput::from)
                .map_err(|e| e.to_string()),
        })
        .collect();
    let docs = crate::docs::Loaded::load(chart);
    LoadedChart { chart: chart.clone(), dependencies, helm_lint, docs }
}
