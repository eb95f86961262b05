//! `cargo xtask bench` on the command line (the measurements themselves run
//! with `cargo xtask bench`, never in tests: no timing is asserted here).

use assert_cmd::Command;
use predicates::prelude::*;

fn xtask() -> Command {
    let mut cmd = Command::cargo_bin("xtask").expect("xtask binary");
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn bench_has_help_naming_its_baseline() {
    xtask()
        .args(["bench", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: cargo xtask bench"))
        .stdout(predicate::str::contains("kubernetes-validate"));
}

#[test]
fn bad_bench_arguments_are_usage_errors() {
    xtask().args(["bench", "--runs", "0"]).assert().code(2);
    xtask()
        .args(["bench", "--sizes", "real,lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"lots\" is neither `real` nor a number"));
}

#[test]
fn bench_repo_is_its_own_measurement() {
    xtask().args(["bench", "--repo", ".", "--quick"]).assert().code(2);
    xtask()
        .args(["bench", "--repo", "no/such/folder"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--repo no/such/folder"));
}
