//! The machine a benchmark ran on, recorded beside its numbers.

use serde::Serialize;
use std::process::Command;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_mib: Option<u64>,
    pub cpu_model: Option<String>,
    pub os: String,
    pub kernel: Option<String>,
    /// 1-minute load average when the run started: other work on the machine skews every number.
    pub load_average: Option<f64>,
    pub versions: Versions,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub xtask: String,
    pub helm: String,
    pub rustc: Option<String>,
    pub python: Option<String>,
    /// The baseline's pinned PyPI tools.
    pub baseline_tools: Vec<String>,
}

impl Machine {
    pub fn detect(helm_version: &str) -> Self {
        let read =
            |p: &str| crate::fsio::read_text(std::path::Path::new(p), crate::fsio::limit::STAMP * 16).ok();
        let memory_mib = read("/proc/meminfo").and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|k| k / 1024)
        });
        let cpu_model = read("/proc/cpuinfo").and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        });
        let os = read("/etc/os-release")
            .and_then(|r| {
                r.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned()))
            })
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        Self {
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            memory_mib,
            cpu_model,
            os,
            kernel: read("/proc/sys/kernel/osrelease").map(|k| k.trim().to_owned()),
            load_average: read("/proc/loadavg").and_then(|l| l.split_whitespace().next()?.parse().ok()),
            versions: Versions {
                xtask: env!("CARGO_PKG_VERSION").to_owned(),
                helm: helm_version.to_owned(),
                rustc: first_line(Command::new("rustc").arg("--version")),
                python: first_line(Command::new("python3").arg("--version")),
                baseline_tools: super::baseline::PINS.iter().map(|(n, v)| format!("{n}=={v}")).collect(),
            },
        }
    }
}

fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_owned)
}
