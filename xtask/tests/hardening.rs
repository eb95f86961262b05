//! Hardening: `cargo xtask lint` over bad inputs never panics or hangs. Each
//! case gives a clear diagnostic (exit 1) or a tooling failure (exit 2), and
//! no half-written file is left behind.
//!
//! The corpus (tests/fixtures/hardening, one chart per case, its expected rule in
//! expect.txt) is linted in one run; the cases that need the file system or a
//! broken helm (huge and binary files, symlinks, an unwritable or corrupt cache,
//! a missing, crashing or hanging helm) are made at run time.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

mod support;
use support::copy_dir;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hardening")
}

fn xtask(dir: &Path) -> Command {
    let mut cmd = support::xtask_in(dir);
    cmd.env_remove("NEX_HELM_TIMEOUT");
    cmd
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// Findings (errors and warnings) of one chart: (rule, file, message).
    fn errors(&self, chart: &str) -> Vec<(String, String, String)> {
        let json = self.json();
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["chart"] == chart)
            .map(|d| {
                (
                    d["rule"].as_str().unwrap_or_default().to_owned(),
                    d["location"]["file"].as_str().unwrap_or_default().to_owned(),
                    d["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// Runs lint and checks what every bad input must give: no panic, exit 1 or 2.
fn lint(cmd: Command) -> Outcome {
    let out = run_lint(cmd);
    assert!(out.code == 1 || out.code == 2, "exit {}: {}\n{}", out.code, out.stdout, out.stderr);
    out
}

/// Runs lint over a chart that may be clean: no panic, a real exit code.
fn run_lint(mut cmd: Command) -> Outcome {
    let o = cmd.timeout(std::time::Duration::from_secs(600)).output().unwrap();
    let out = Outcome {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
    assert!(!out.stdout.contains("panicked"), "panic: {}", out.stdout);
    assert!((0..=2).contains(&out.code), "exit {}: {}\n{}", out.code, out.stdout, out.stderr);
    out
}

/// Files a writer leaves when interrupted (tempfile's `.tmpXXXX`), anywhere under `dir`.
fn half_written(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .map(|e| e.into_path())
        .collect()
}

/// Every cache entry parses: none is half-written.
fn assert_cache_entries_whole(cache: &Path) {
    for e in walkdir::WalkDir::new(cache.join("results")).into_iter().flatten() {
        if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "json") {
            let bytes = std::fs::read(e.path()).unwrap();
            assert!(serde_json::from_slice::<Value>(&bytes).is_ok(), "half-written {}", e.path().display());
        }
    }
}

#[test]
fn every_case_of_the_corpus_gets_its_diagnostic() {
    let expect = std::fs::read_to_string(corpus().join("expect.txt")).unwrap();
    let cases: Vec<(String, String, String)> = expect
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    assert!(cases.len() >= 30, "the corpus holds {} cases", cases.len());
    let mut folders: Vec<String> = std::fs::read_dir(corpus().join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut listed: Vec<String> = cases.iter().map(|c| c.0.clone()).collect();
    listed.sort();
    assert_eq!(folders, listed, "every corpus chart has a line in expect.txt");

    let dir = tempfile::tempdir().unwrap();
    copy_dir(&corpus(), dir.path());
    let cache = support::private_cache(&corpus());
    let mut cmd = xtask(dir.path());
    cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache.path());
    let out = lint(cmd);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for (case, rule, file) in &cases {
        let errors = out.errors(case);
        let hit = errors.iter().find(|(r, f, _)| {
            r == rule
                && (file == "-" || f == &format!("charts/{case}/{file}") || f.ends_with(&format!("/{file}")))
        });
        assert!(hit.is_some(), "{case}: no {rule} error naming {file}; got {errors:#?}");
        assert!(errors.iter().all(|(_, _, m)| !m.trim().is_empty()), "{case}: an empty message: {errors:#?}");
    }
    assert_eq!(half_written(dir.path()), Vec::<PathBuf>::new());
    assert_eq!(half_written(cache.path()), Vec::<PathBuf>::new());
    assert_cache_entries_whole(cache.path());
}

#[test]
fn huge_binary_and_linked_files() {
    let cat = support::one_chart(&corpus(), "odd-files");
    let chart = cat.path().join("charts/odd-files");
    // An 8 MB values file: refused by size, not read into memory and parsed.
    let mut huge = String::from("replicas: 1\n");
    let line = format!("# {}\n", "x".repeat(1000));
    while huge.len() < 8 * 1024 * 1024 {
        huge.push_str(&line);
    }
    std::fs::write(chart.join("values.yaml"), huge).unwrap();
    // Binary junk where YAML is expected, and as a template.
    let junk: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::create_dir_all(chart.join("ci")).unwrap();
    std::fs::write(chart.join("ci/binary-values.yaml"), &junk).unwrap();
    std::fs::write(chart.join("templates/junk.yaml"), &junk).unwrap();
    // A dangling link and a link to a file outside the chart.
    std::os::unix::fs::symlink("does-not-exist.yaml", chart.join("templates/dangling.yaml")).unwrap();
    std::fs::write(cat.path().join("outside.yaml"), "a: 1\n").unwrap();
    std::os::unix::fs::symlink(cat.path().join("outside.yaml"), chart.join("templates/outside.yaml"))
        .unwrap();
    let cache = support::private_cache(&corpus());
    let mut cmd = xtask(cat.path());
    cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache.path());
    let out = lint(cmd);
    let errors = out.errors("odd-files");
    assert!(
        errors.iter().any(|(r, f, _)| r == "file/too-large" && f.ends_with("values.yaml")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|(r, f, _)| r == "file/encoding" && f.ends_with("ci/binary-values.yaml")),
        "{errors:#?}"
    );
    assert!(errors.iter().any(|(r, _, _)| r.starts_with("helm/") || r.starts_with("render/")), "{errors:#?}");
    assert_eq!(half_written(cat.path()), Vec::<PathBuf>::new());
}

#[test]
fn an_unwritable_cache_only_costs_time() {
    let cat = support::one_chart(&corpus(), "unwritable-cache");
    let cache = support::private_cache(&corpus());
    // `results` is a file, so no entry can be stored (chmod would not stop root).
    std::fs::write(cache.path().join("results"), "not a folder").unwrap();
    let mut cmd = xtask(cat.path());
    cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache.path());
    let out = run_lint(cmd);
    // The chart is still checked in full: helm ran and its objects were validated.
    assert_eq!(out.json()["charts"], serde_json::json!(["unwritable-cache"]));
    assert!(
        out.errors("unwritable-cache").iter().all(|(r, _, _)| r != "helm/lint" && !r.starts_with("render/"))
    );
    let cache = support::private_cache(&corpus());
    let results = cache.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let mut perms = std::fs::metadata(&results).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&results, perms).unwrap();
    let mut cmd = xtask(cat.path());
    cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache.path());
    let again = run_lint(cmd);
    assert_eq!(again.json()["diagnostics"], out.json()["diagnostics"]);
}

#[test]
fn interrupted_and_corrupt_cache_writes_are_misses() {
    let cat = support::one_chart(&corpus(), "torn-cache");
    let cache = support::private_cache(&corpus());
    let run = || {
        let mut cmd = xtask(cat.path());
        cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache.path());
        run_lint(cmd)
    };
    let first = run();
    // Tear every entry in half, and leave the temp files a killed writer leaves.
    let mut torn = 0;
    for e in walkdir::WalkDir::new(cache.path().join("results")).into_iter().flatten() {
        if e.file_type().is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            std::fs::write(e.path(), &bytes[..bytes.len() / 2]).unwrap();
            std::fs::write(e.path().with_file_name(".tmpAbC123"), &bytes[..bytes.len() / 3]).unwrap();
            torn += 1;
        }
    }
    assert!(torn > 0, "the first run stored nothing");
    let second = run();
    assert_eq!(second.json()["diagnostics"], first.json()["diagnostics"]);
    // A run killed part-way leaves whole entries only.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("xtask"))
        .args(["lint", "--format", "json"])
        .current_dir(cat.path())
        .env("NEX_CACHE_DIR", cache.path())
        .env("NEX_NO_CACHE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    assert_cache_entries_whole(cache.path());
}

fn fake_helm(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("helm");
    let script = format!("#!/bin/sh\ncase \"$1\" in version) echo v4.1.4;; *) {body};; esac\n");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_missing_helm_is_a_tooling_failure() {
    let cat = support::one_chart(&corpus(), "no-helm");
    let mut cmd = xtask(cat.path());
    cmd.args(["lint"]).env("HELM_BIN", cat.path().join("nowhere/helm"));
    let out = lint(cmd);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("HELM_BIN") && out.stderr.contains("nowhere/helm"), "{}", out.stderr);
}

#[test]
fn a_crashing_helm_is_reported_and_not_cached() {
    let cat = support::one_chart(&corpus(), "helm-crash");
    let bin = tempfile::tempdir().unwrap();
    let helm = fake_helm(bin.path(), "kill -SEGV $$");
    let cache = support::private_cache(&corpus());
    for _ in 0..2 {
        let mut cmd = xtask(cat.path());
        cmd.args(["lint", "--format", "json"]).env("HELM_BIN", &helm).env("NEX_CACHE_DIR", cache.path());
        let out = lint(cmd);
        let errors = out.errors("helm-crash");
        assert!(
            errors.iter().any(|(r, _, m)| r == "helm/lint" && m.contains("killed by signal 11")),
            "{errors:#?}"
        );
    }
    let stored = walkdir::WalkDir::new(cache.path().join("results"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("killed by signal")))
        .count();
    assert_eq!(stored, 0, "a crash was cached");
}

#[test]
fn a_hanging_helm_is_killed_after_the_timeout() {
    let cat = support::one_chart(&corpus(), "helm-hang");
    let bin = tempfile::tempdir().unwrap();
    let helm = fake_helm(bin.path(), "exec sleep 600");
    let cache = support::private_cache(&corpus());
    let mut cmd = xtask(cat.path());
    cmd.args(["lint", "--format", "json"])
        .env("HELM_BIN", &helm)
        .env("NEX_CACHE_DIR", cache.path())
        .env("NEX_HELM_TIMEOUT", "1");
    let out = lint(cmd);
    let errors = out.errors("helm-hang");
    assert!(
        errors.iter().any(|(r, _, m)| r == "helm/lint" && m.contains("did not finish within 1 s")),
        "{errors:#?}"
    );
    let mut cmd = xtask(cat.path());
    cmd.args(["lint"]).env("NEX_HELM_TIMEOUT", "soon");
    let bad = lint(cmd);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("NEX_HELM_TIMEOUT"), "{}", bad.stderr);
}

#[test]
fn cached_findings_follow_every_edit() {
    let cat = support::one_chart(&corpus(), "edited");
    let cache = support::private_cache(&corpus());
    let run = || {
        let mut cmd = xtask(cat.path());
        cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache.path());
        run_lint(cmd).errors("edited").into_iter().map(|(r, _, _)| r).collect::<Vec<_>>()
    };
    let values = cat.path().join("charts/edited/values.yaml");
    let clean = run();
    assert!(!clean.contains(&"values/schema".to_owned()), "{clean:?}");
    let original = std::fs::read_to_string(&values).unwrap();
    std::fs::write(&values, original.replace("replicas: 1", "replicas: \"one\"")).unwrap();
    let broken = run();
    assert!(broken.contains(&"values/schema".to_owned()), "{broken:?}");
    std::fs::write(&values, &original).unwrap();
    assert_eq!(run(), clean);
}
