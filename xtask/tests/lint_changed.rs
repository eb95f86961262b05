//! `cargo xtask lint --changed` against throwaway git repositories: only
//! changed charts are checked, their version must grow, and each way the
//! comparison can be impossible gets its own message saying what to run.

use predicates::prelude::*;
use std::path::{Path, PathBuf};

mod support;
use support::{copy_dir, git, xtask_in as xtask};

fn ok_chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/charts/ok")
}

/// A catalog with charts `a` and `b` (copies of the clean fixture chart).
fn write_catalog(dir: &Path, target_branch: &str) {
    std::fs::write(dir.join("ct.yaml"), format!("chart-dirs:\n  - charts\ntarget-branch: {target_branch}\n"))
        .unwrap();
    std::fs::write(dir.join("harness.yaml"), "profile: catalog\n").unwrap();
    for name in ["a", "b"] {
        let chart = dir.join("charts").join(name);
        copy_dir(&ok_chart(), &chart);
        let p = chart.join("Chart.yaml");
        let text = std::fs::read_to_string(&p).unwrap().replace("name: ok", &format!("name: {name}"));
        std::fs::write(p, text).unwrap();
    }
}

/// An upstream repository on `main`, and a clone of it to work in.
fn upstream_and_clone() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = tmp.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q"]);
    write_catalog(&upstream, "main");
    docs(&upstream);
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-qm", "catalog"]);
    git(tmp.path(), &["clone", "-q", upstream.to_str().unwrap(), "work"]);
    let work = tmp.path().join("work");
    (tmp, work)
}

/// Generates the charts' READMEs (lint requires them up to date).
fn docs(dir: &Path) {
    xtask(dir).arg("docs").assert().success();
}

/// A change to a chart that its README does not show.
fn touch_template(chart: &Path) {
    edit(&chart.join("templates/configmap.yaml"), "\ndata:\n", "\ndata:\n  touched: \"yes\"\n");
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn only_changed_charts_are_checked_and_their_version_must_grow() {
    let (_tmp, work) = upstream_and_clone();
    // Nothing changed: nothing to check.
    xtask(&work).args(["lint", "--changed"]).assert().code(0).stdout(predicate::str::contains("in 0 charts"));

    touch_template(&work.join("charts/a"));
    xtask(&work)
        .args(["lint", "--changed", "--format", "github"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "::error file=charts/a/Chart.yaml,line=5,col=10,title=chart/version-increment (a)::",
        ))
        .stdout(predicate::str::contains("not greater than 0.1.0 on origin/main"))
        .stdout(predicate::str::contains("in 1 chart\n"));

    edit(&work.join("charts/a/Chart.yaml"), "version: 0.1.0", "version: 0.1.1");
    docs(&work);
    xtask(&work)
        .args(["lint", "--changed"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors, 0 warnings in 1 chart"));
}

#[test]
fn a_chart_named_on_the_command_line_keeps_the_version_check() {
    let (_tmp, work) = upstream_and_clone();
    touch_template(&work.join("charts/b"));
    // `a` did not change: it needs no new version.
    xtask(&work)
        .args(["lint", "a"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors, 0 warnings in 1 chart"));
    xtask(&work)
        .args(["lint", "b"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[chart/version-increment]"))
        .stdout(predicate::str::contains("--> charts/b/Chart.yaml:5:10"));
    // A new chart (absent on the target branch) has nothing to be compared with.
    copy_dir(&work.join("charts/b"), &work.join("charts/c"));
    edit(&work.join("charts/c/Chart.yaml"), "name: b", "name: c");
    docs(&work);
    xtask(&work).args(["lint", "--changed"]).assert().stdout(
        predicate::str::contains("chart/version-increment")
            .count(1)
            .and(predicate::str::contains("in 2 charts")),
    );
}

#[test]
fn not_a_git_repository_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    write_catalog(tmp.path(), "main");
    xtask(tmp.path())
        .args(["lint", "--changed"])
        .env("GIT_CEILING_DIRECTORIES", tmp.path().parent().unwrap())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("not a git repository")
                .and(predicate::str::contains("without --changed")),
        );
}

#[test]
fn a_missing_remote_says_what_to_add() {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "-q"]);
    write_catalog(tmp.path(), "main");
    xtask(tmp.path()).args(["lint", "--changed"]).assert().code(2).stderr(
        predicate::str::contains("remote `origin` is not configured")
            .and(predicate::str::contains("git remote add origin")),
    );
}

#[test]
fn a_missing_target_branch_says_what_to_fetch() {
    let (_tmp, work) = upstream_and_clone();
    edit(&work.join("ct.yaml"), "target-branch: main", "target-branch: develop");
    xtask(&work).args(["lint", "--changed"]).assert().code(2).stderr(
        predicate::str::contains("origin/develop").and(predicate::str::contains("git fetch origin develop")),
    );
}

#[test]
fn a_shallow_clone_says_to_unshallow() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = tmp.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q"]);
    write_catalog(&upstream, "main");
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-qm", "base"]);
    git(&upstream, &["checkout", "-qb", "feature"]);
    edit(&upstream.join("charts/a/values.yaml"), "replicas: 1", "replicas: 2");
    git(&upstream, &["commit", "-qam", "feature"]);
    git(&upstream, &["checkout", "-q", "main"]);
    edit(&upstream.join("charts/b/values.yaml"), "replicas: 1", "replicas: 2");
    git(&upstream, &["commit", "-qam", "main moves on"]);
    let url = format!("file://{}", upstream.display());
    git(tmp.path(), &["clone", "-q", "--depth", "1", "--branch", "feature", &url, "work"]);
    let work = tmp.path().join("work");
    git(&work, &["fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main"]);
    xtask(&work).args(["lint", "--changed"]).assert().code(2).stderr(
        predicate::str::contains("shallow clone").and(predicate::str::contains("git fetch --unshallow")),
    );
}
