//! Findings the harness once got wrong on charts written the way other chart
//! repositories write them (issue 15): one fixture chart per case under
//! tests/fixtures/findings, linted once; each test asserts what must (and
//! must not) be reported for its chart.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod support;
use support::{copy_dir, xtask_in as xtask};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/findings")
}

struct Run {
    dir: tempfile::TempDir,
    json: Value,
    github: String,
}

/// The fixture catalog, copied and linted once (json and github formats).
fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture(), dir.path());
        let out = |format: &str| {
            let o = xtask(dir.path()).args(["lint", "--format", format]).output().unwrap();
            assert!(
                matches!(o.status.code(), Some(0 | 1)),
                "{format}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            String::from_utf8(o.stdout).unwrap()
        };
        let json = serde_json::from_str(&out("json")).expect("json report");
        let github = out("github");
        Run { dir, json, github }
    })
}

/// Every finding about `chart`.
fn findings(chart: &str) -> Vec<&'static Value> {
    run().json["diagnostics"].as_array().unwrap().iter().filter(|d| d["chart"] == chart).collect()
}

fn rules(chart: &str) -> Vec<String> {
    findings(chart).iter().map(|d| format!("{} {}", d["rule"].as_str().unwrap(), d["message"])).collect()
}

#[test]
fn a_ci_default_values_file_is_its_own_scenario() {
    // Its values once replaced the defaults' own: every image looked hard-coded.
    assert_eq!(rules("ci-default"), Vec::<String>::new());
}
