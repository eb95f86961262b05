//! Loading: everything the checks need about one chart, gathered at the edge
//! (files read, helm run) so that the checks themselves stay pure.

use crate::catalog::{Chart, Scenario};
use crate::changed::Baseline;
use crate::files::{FileError, JsonFile, YamlFile};
use crate::helm::Helm;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

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
    /// The chart's source files, read and parsed once.
    pub files: ChartFiles,
    /// Which of ct's validations are on.
    pub settings: Settings,
    /// The chart as it was on the target branch, when versions are compared.
    pub previous: Option<Previous>,
}

/// ct's switches for the checks (from `ct.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `validate-chart-schema`: Chart.yaml against `schemas/chart.schema.json`.
    pub validate_chart_schema: bool,
    /// `validate-yaml`: the YAML hygiene rules.
    pub validate_yaml: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { validate_chart_schema: true, validate_yaml: true }
    }
}

/// A file of the chart: where it is and what reading it gave.
#[derive(Debug, Clone)]
pub struct Source<T> {
    pub path: PathBuf,
    pub content: Result<T, FileError>,
}

#[derive(Debug, Clone)]
pub struct ChartFiles {
    pub chart_yaml: Source<YamlFile>,
    /// `None` when the chart has no values.yaml.
    pub values: Option<Source<YamlFile>>,
    /// `ci/*-values.yaml`, in scenario order, with the scenario name.
    pub ci: Vec<(String, Source<YamlFile>)>,
    /// Files under `ci/` that ct would skip (not named `*-values.yaml`).
    pub ci_ignored: Vec<PathBuf>,
    /// `None` when the chart has no values.schema.json.
    pub values_schema: Option<Source<JsonFile>>,
    /// Symbolic links inside the chart folder that lead back into themselves.
    pub symlink_loops: Vec<PathBuf>,
}

/// Chart.yaml on the target branch (`--changed`, or charts named explicitly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    /// What the chart was compared with (`origin/main`).
    pub base: String,
    /// `version` there; `None` when the chart is new on this branch.
    pub version: Option<String>,
}

/// What the loader needs from the run's configuration.
pub struct LoadOptions<'a> {
    pub helm: &'a Helm,
    pub lint_extra_args: Vec<String>,
    pub settings: Settings,
    /// Set when versions are compared with the target branch.
    pub baseline: Option<&'a Baseline>,
}

impl<'a> LoadOptions<'a> {
    pub fn new(helm: &'a Helm, lint_extra_args: Vec<String>) -> Self {
        Self { helm, lint_extra_args, settings: Settings::default(), baseline: None }
    }
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
    let files = read_files(chart);
    let previous = opts.baseline.and_then(|b| b.previous(&chart.dir));
    LoadedChart { chart: chart.clone(), dependencies, helm_lint, files, settings: opts.settings, previous }
}

fn source<T>(path: PathBuf, read: fn(&Path) -> Result<T, FileError>) -> Source<T> {
    let content = read(&path);
    Source { path, content }
}

fn optional<T>(path: PathBuf, read: fn(&Path) -> Result<T, FileError>) -> Option<Source<T>> {
    let s = source(path, read);
    if matches!(s.content, Err(FileError::Missing)) { None } else { Some(s) }
}

/// Reads every source file of a chart (no helm involved).
pub fn read_files(chart: &Chart) -> ChartFiles {
    let dir = &chart.dir;
    let ci = chart
        .scenarios
        .iter()
        .filter_map(|s| s.values_file.as_ref().map(|f| (s.name.clone(), source(f.clone(), YamlFile::read))))
        .collect();
    let mut ci_ignored: Vec<PathBuf> = std::fs::read_dir(dir.join("ci"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| !crate::catalog::is_ci_values(p))
        .collect();
    ci_ignored.sort();
    ChartFiles {
        chart_yaml: source(dir.join("Chart.yaml"), YamlFile::read),
        values: optional(dir.join("values.yaml"), YamlFile::read),
        ci,
        ci_ignored,
        values_schema: optional(dir.join("values.schema.json"), JsonFile::read),
        symlink_loops: crate::catalog::symlink_loops(dir),
    }
}
