//! The baseline: what a `ct lint` pipeline with kubeconform does, chart by
//! chart, serially: `helm dependency build`, yamale on Chart.yaml, yamllint on
//! Chart.yaml and every values file, `helm lint` once per scenario, and
//! `helm template` + `kubernetes-validate --strict` for each scenario ×
//! Kubernetes version. The helm processes' wall times are kept apart: their
//! sum over the cores is the floor no harness that runs helm can beat.

use super::BenchError;
use crate::catalog::Chart;
use crate::helm::{Helm, NAMESPACE, RELEASE};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The Python tools, pinned; installed with pip into a venv under target/ on first use.
pub const PINS: &[(&str, &str)] = &[
    ("yamllint", "1.38.0"),
    ("yamale", "6.1.0"),
    (crate::kube::provision::WHEEL_PACKAGE, crate::kube::provision::WHEEL_VERSION),
];

/// The venv holding the pinned tools.
pub struct Tools {
    bin: PathBuf,
}

impl Tools {
    /// `<target>/bench-venv`, created and filled with pip when missing or
    /// holding other versions (a marker file records the pins installed).
    pub fn ensure(venv: &Path) -> Result<Self, BenchError> {
        let specs: Vec<String> = PINS.iter().map(|(n, v)| format!("{n}=={v}")).collect();
        let marker = venv.join("nex-pins.txt");
        let bin = venv.join("bin");
        let wanted = specs.join("\n");
        if crate::fsio::read_text(&marker, crate::fsio::limit::STAMP).is_ok_and(|m| m == wanted) {
            return Ok(Self { bin });
        }
        let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        run_setup(Command::new(&python).arg("-m").arg("venv").arg(venv), "python3 -m venv")?;
        run_setup(
            Command::new(bin.join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(&specs),
            "pip install",
        )?;
        crate::fsio::write_atomic(&marker, wanted.as_bytes())
            .map_err(|e| BenchError::io(&marker, e.into()))?;
        Ok(Self { bin })
    }

    fn tool(&self, name: &str) -> Command {
        let mut c = Command::new(self.bin.join(name));
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        c
    }
}

fn run_setup(cmd: &mut Command, what: &str) -> Result<(), BenchError> {
    let out = cmd.output().map_err(|e| BenchError::Setup(format!("cannot run {what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BenchError::Setup(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim())))
    }
}

/// One chart through the baseline pipeline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChartTimes {
    pub chart: String,
    /// Wall time of the whole pipeline for this chart.
    pub seconds: f64,
    /// Sum of the helm processes' wall times.
    pub helm_seconds: f64,
    pub helm_runs: usize,
    /// The wall time of a plain serial loop over the same chart: `helm dependency
    /// build` (when it has dependencies), then `helm lint` and `helm template` per
    /// scenario (one Kubernetes version), as a shell script would run them.
    pub helm_loop_seconds: f64,
    pub tool_runs: usize,
    /// Processes that exited non-zero (findings; the time counts all the same).
    pub failed_runs: usize,
}

/// The files ct reads at a repository's root: its Chart.yaml schema and yamllint configuration.
#[derive(Debug, Clone)]
pub struct Layout {
    pub chart_schema: PathBuf,
    /// `None`: yamllint's defaults.
    pub lint_conf: Option<PathBuf>,
}

impl Layout {
    /// ct.yaml's `chart-yaml-schema` and `lint-conf` when set, else the files
    /// at the root ct looks for, else ct's own Chart.yaml shape (this
    /// project's `schemas/chart.ct.yaml`) and yamllint's defaults.
    pub fn of(root: &Path, config: &crate::config::CtConfig, ct_shape: &Path) -> Self {
        let named = |s: &str| (!s.is_empty()).then(|| root.join(s)).filter(|p| p.is_file());
        Self {
            chart_schema: named(&config.chart_yaml_schema)
                .or_else(|| named("chart_schema.yaml"))
                .unwrap_or_else(|| ct_shape.to_path_buf()),
            lint_conf: named(&config.lint_conf).or_else(|| named("lintconf.yaml")),
        }
    }
}

/// Runs the baseline for one chart; `root` is the catalog root (ct's working directory).
pub fn chart(
    tools: &Tools,
    helm: &Helm,
    root: &Path,
    layout: &Layout,
    chart: &Chart,
    render: bool,
) -> Result<ChartTimes, BenchError> {
    let start = Instant::now();
    let mut t = ChartTimes { chart: chart.name.clone(), ..Default::default() };
    // `in_loop`: the run is one the plain helm loop makes too.
    let helm_run =
        |t: &mut ChartTimes, mut cmd: Command, out: Option<&Path>, in_loop: bool| -> Result<(), BenchError> {
            cmd.current_dir(root).stdin(Stdio::null()).stderr(Stdio::null());
            match out {
                Some(path) => {
                    cmd.stdout(crate::fsio::create_output(path).map_err(|e| BenchError::io(path, e.into()))?)
                }
                None => cmd.stdout(Stdio::null()),
            };
            let s = Instant::now();
            let status = cmd.status().map_err(|e| BenchError::io(&helm.bin, e))?;
            let took = s.elapsed().as_secs_f64();
            t.helm_seconds += took;
            if in_loop {
                t.helm_loop_seconds += took;
            }
            t.helm_runs += 1;
            t.failed_runs += usize::from(!status.success());
            Ok(())
        };
    let tool_run = |t: &mut ChartTimes, mut cmd: Command| -> Result<(), BenchError> {
        let status =
            cmd.current_dir(root).status().map_err(|e| BenchError::Setup(format!("baseline tool: {e}")))?;
        t.tool_runs += 1;
        t.failed_runs += usize::from(!status.success());
        Ok(())
    };
    let dir = &chart.dir;
    if !crate::deps::local_dependencies(dir).is_empty() {
        let mut cmd = helm.command();
        cmd.args(["dependency", "build"]).arg(dir);
        helm_run(&mut t, cmd, None, true)?;
    }
    let mut yamale = tools.tool("yamale");
    yamale.arg("--schema").arg(&layout.chart_schema).arg(dir.join("Chart.yaml"));
    tool_run(&mut t, yamale)?;
    let mut yaml_files = vec![dir.join("Chart.yaml"), dir.join("values.yaml")];
    yaml_files.extend(chart.scenarios.iter().filter_map(|s| s.values_file.clone()));
    for f in yaml_files {
        let mut yamllint = tools.tool("yamllint");
        if let Some(conf) = &layout.lint_conf {
            yamllint.arg("--config-file").arg(conf);
        }
        yamllint.arg(f);
        tool_run(&mut t, yamllint)?;
    }
    for s in &chart.scenarios {
        let mut cmd = helm.command();
        cmd.arg("lint").arg("--strict").arg(dir);
        if let Some(v) = &s.values_file {
            cmd.arg("--values").arg(v);
        }
        helm_run(&mut t, cmd, None, true)?;
    }
    if render {
        let meta = crate::files::read_chart_meta(dir);
        let versions = crate::kube::versions::matrix(meta.kube_version.as_deref()).unwrap_or_default();
        let tmp = tempfile::tempdir().map_err(|e| BenchError::Setup(e.to_string()))?;
        for s in &chart.scenarios {
            for (i, v) in versions.iter().enumerate() {
                let mut cmd = helm.command();
                cmd.arg("template").arg(RELEASE).arg(dir).arg("--namespace").arg(NAMESPACE);
                if let Some(f) = &s.values_file {
                    cmd.arg("--values").arg(f);
                }
                cmd.arg("--kube-version").arg(v);
                let out = tmp.path().join(format!("{}-{v}.yaml", s.name));
                helm_run(&mut t, cmd, Some(&out), i == 0)?;
                let mut validate = tools.tool("kubernetes-validate");
                validate.args(["--strict", "--quiet", "-k", v]).arg(&out);
                tool_run(&mut t, validate)?;
            }
        }
    }
    t.seconds = start.elapsed().as_secs_f64();
    Ok(t)
}
