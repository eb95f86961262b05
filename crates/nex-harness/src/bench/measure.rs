//! Timing a `xtask lint` child: wall time and peak memory (the child's
//! `VmHWM` from /proc, read until it exits: the high-water mark only grows,
//! so the last reading is the peak, helm's own processes not included).

use super::BenchError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One lint run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub seconds: f64,
    /// Peak resident memory of the lint process, in MiB (None where /proc is missing).
    pub peak_rss_mib: Option<f64>,
    pub exit_code: Option<i32>,
}

/// How to run the lint under test.
#[derive(Debug, Clone)]
pub struct LintCommand {
    pub xtask: PathBuf,
    /// `3` or `4`.
    pub helm_major: String,
}

impl LintCommand {
    /// `xtask docs` over a catalog (writes every chart's README).
    pub fn docs(&self, catalog: &Path) -> Result<(), BenchError> {
        let out = Command::new(&self.xtask)
            .arg("docs")
            .current_dir(catalog)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| BenchError::io(&self.xtask, e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(BenchError::Setup(format!(
                "xtask docs in {}: {}",
                catalog.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Runs `xtask lint` over `catalog` with `cache` as NEX_CACHE_DIR. Exit 0 and 1
    /// are runs that worked (the synthetic charts have findings); 2 is a failure.
    pub fn run(&self, catalog: &Path, cache: &Path) -> Result<Sample, BenchError> {
        self.run_charts(catalog, cache, &[])
    }

    /// [`LintCommand::run`] of the charts named by their folders (relative to `catalog`).
    pub fn run_charts(&self, catalog: &Path, cache: &Path, charts: &[&Path]) -> Result<Sample, BenchError> {
        let mut cmd = Command::new(&self.xtask);
        cmd.args(["--helm", &self.helm_major, "lint", "--format", "json"])
            .args(charts)
            .current_dir(catalog)
            .env("NEX_CACHE_DIR", cache)
            .env_remove("NEX_NO_CACHE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(|e| BenchError::io(&self.xtask, e))?;
        let pid = child.id();
        let done = AtomicBool::new(false);
        let peak_kib = AtomicU64::new(0);
        let (status, stderr) = std::thread::scope(|s| {
            s.spawn(|| {
                let status = PathBuf::from(format!("/proc/{pid}/status"));
                while !done.load(Ordering::Relaxed) {
                    if let Some(k) = vm_hwm_kib(&status) {
                        peak_kib.fetch_max(k, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
            let status = child.wait();
            done.store(true, Ordering::Relaxed);
            (status, stderr)
        });
        let seconds = start.elapsed().as_secs_f64();
        let status = status.map_err(|e| BenchError::io(&self.xtask, e))?;
        if status.code().is_none_or(|c| c > 1) {
            return Err(BenchError::Lint(format!(
                "lint of {} exited with {status}: {}",
                catalog.display(),
                stderr.trim()
            )));
        }
        let kib = peak_kib.load(Ordering::Relaxed);
        Ok(Sample { seconds, peak_rss_mib: (kib > 0).then(|| kib as f64 / 1024.0), exit_code: status.code() })
    }
}

fn vm_hwm_kib(status: &Path) -> Option<u64> {
    let text = crate::fsio::read_text(status, crate::fsio::limit::STAMP).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Median and spread of repeated measurements.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let mid = s.len() / 2;
        let median = if s.len().is_multiple_of(2) { (s[mid - 1] + s[mid]) / 2.0 } else { s[mid] };
        Some(Self { median, min: s[0], max: s[s.len() - 1], samples: samples.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Stats::of(&[1.0, 4.0]).unwrap().median, 2.5);
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn reads_this_process_high_water_mark() {
        let k = vm_hwm_kib(Path::new("/proc/self/status"));
        assert!(k.is_some_and(|k| k > 0), "{k:?}");
    }
}
