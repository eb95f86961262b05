//! The ways another repository gets nexct, each run here as its user would:
//! the GitHub Action's script (action.yaml) installing nexct and putting it on
//! the job's PATH, and the pre-commit hooks (.pre-commit-hooks.yaml), through
//! pre-commit itself when pip can install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{git, workspace};

/// A chart repository as chart-testing-action's users have one: ct.yaml, a chart
/// under charts/, a clone of its upstream with the chart added on a branch.
/// `broken` gives the chart a template error.
fn fixture_repo(broken: bool) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = tmp.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q", "-b", "main"]);
    std::fs::write(upstream.join("ct.yaml"), "target-branch: main\nchart-dirs:\n  - charts\n").unwrap();
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-qm", "base"]);
    git(&upstream, &["checkout", "-qb", "elsewhere"]);
    git(tmp.path(), &["clone", "-q", upstream.to_str().unwrap(), "work"]);
    let work = tmp.path().join("work");
    git(&work, &["checkout", "-qb", "change"]);
    let chart = work.join("charts/hello");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: hello\nversion: 0.1.0\nmaintainers:\n  - name: octocat\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "port: 8080\n").unwrap();
    let value = if broken { ".Values.missing.port" } else { ".Values.port" };
    std::fs::write(
        chart.join("templates/service.yaml"),
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ .Release.Name }}}}\nspec:\n  ports:\n    - port: {{{{ {value} }}}}\n"
        ),
    )
    .unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "hello"]);
    (tmp, work)
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The pinned helm and schemas of this workspace, for every nexct run here.
fn cache() -> PathBuf {
    workspace().join("target/nex-cache")
}

#[test]
fn the_action_installs_nexct_on_the_job_path_and_it_lints() {
    let tmp = tempfile::tempdir().unwrap();
    let (github_path, github_output) = (tmp.path().join("path"), tmp.path().join("output"));
    let install = |version: &str| {
        Command::new(workspace().join(".github/scripts/nexct-install"))
            .env("GITHUB_ACTION_PATH", workspace())
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_OUTPUT", &github_output)
            .env("NEXCT_INSTALL_ROOT", tmp.path().join("root"))
            // The dev build this test already made (same sources, same target): no rebuild.
            .env("NEXCT_INSTALL_ARGS", "--debug --offline")
            .env("CARGO_TARGET_DIR", workspace().join("target"))
            .env("INPUT_VERSION", version)
            .env("INPUT_YAMLLINT_VERSION", "1.33.0")
            .output()
            .unwrap()
    };
    let out = install("9.9.9");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("installs nexct 0.1.0 from its own source"), "{}", text(&out));

    let out = install("latest");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("::notice::yamllint_version is not needed"), "{}", text(&out));
    let bin_dir = std::fs::read_to_string(&github_path).unwrap().trim().to_owned();
    assert_eq!(PathBuf::from(&bin_dir), tmp.path().join("root/bin"));
    assert!(std::fs::read_to_string(&github_output).unwrap().contains("path="));

    // A job's next step: `nexct lint` on the PATH the action wrote, as `ct lint` was.
    let lint = |work: &Path| {
        let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
        Command::new("sh")
            .args(["-c", "nexct lint --config ct.yaml"])
            .current_dir(work)
            .env("PATH", path)
            .env("NEX_CACHE_DIR", cache())
            .env("NO_COLOR", "1")
            .env_remove("HELM_BIN")
            .env_remove("NEX_HELM")
            .output()
            .unwrap()
    };
    let (_keep, work) = fixture_repo(false);
    let out = lint(&work);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 errors, 0 warnings in 1 chart"), "{}", text(&out));
    let (_keep, work) = fixture_repo(true);
    let out = lint(&work);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("charts/hello/templates/service.yaml:7:"), "{}", text(&out));
}

/// pre-commit from PyPI, in a venv kept in the cache; `None` when pip cannot get it.
fn pre_commit() -> Option<PathBuf> {
    let venv = cache().join("pre-commit-venv");
    let bin = venv.join("bin/pre-commit");
    if bin.is_file() {
        return Some(bin);
    }
    let ok = |c: &mut Command| c.output().map(|o| o.status.success()).unwrap_or(false);
    if !ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return None;
    }
    if !ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "pre-commit==4.7.0"])) {
        return None;
    }
    bin.is_file().then_some(bin)
}

#[test]
fn the_pre_commit_hooks_run_as_pre_commit_runs_them() {
    let nexct_dir = assert_cmd::cargo::cargo_bin("nexct").parent().unwrap().to_path_buf();
    let path = format!("{}:{}", nexct_dir.display(), std::env::var("PATH").unwrap_or_default());
    // The `script` hook, its entry run as pre-commit runs it: from the repository being
    // committed to, the script path inside the hook's repository. (Through pre-commit
    // it builds nexct in pre-commit's clone, minutes of compiling: not done here.)
    let hooks: serde_yaml_like::Hooks = serde_yaml_like::read(&workspace().join(".pre-commit-hooks.yaml"));
    let script = hooks.entry("nexct-lint");
    let (_keep, broken) = fixture_repo(true);
    let mut words = script.split_whitespace();
    let out = Command::new(workspace().join(words.next().unwrap()))
        .args(words)
        .current_dir(&broken)
        .env("CARGO_TARGET_DIR", workspace().join("target"))
        .env("NEXCT_BUILD_PROFILE", "dev")
        .env("NEX_CACHE_DIR", cache())
        .env("NO_COLOR", "1")
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[helm/lint]"), "{}", text(&out));

    let Some(pre_commit) = pre_commit() else {
        eprintln!(
            "SKIPPED: pip could not install pre-commit; the `nexct-lint-system` hook is not run through it"
        );
        return;
    };
    // The `system` hook through pre-commit itself: it reads .pre-commit-hooks.yaml
    // from this repository and runs the hook on the fixture repository.
    let run = |work: &Path| {
        Command::new(&pre_commit)
            .args(["try-repo"])
            .arg(workspace())
            .args(["nexct-lint-system", "--all-files", "--verbose"])
            .current_dir(work)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", cache().join("pre-commit-home"))
            .env("NEX_CACHE_DIR", cache())
            .env("NO_COLOR", "1")
            .env_remove("HELM_BIN")
            .env_remove("NEX_HELM")
            .output()
            .unwrap()
    };
    let (_keep, good) = fixture_repo(false);
    let out = run(&good);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nexct lint (nexct on PATH)"), "{}", text(&out));
    let out = run(&broken);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[helm/lint]"), "{}", text(&out));
}

/// Just enough of `.pre-commit-hooks.yaml` to find a hook's entry.
mod serde_yaml_like {
    pub struct Hooks(String);

    pub fn read(path: &std::path::Path) -> Hooks {
        Hooks(std::fs::read_to_string(path).unwrap())
    }

    impl Hooks {
        pub fn entry(&self, id: &str) -> String {
            let block = self.0.split("- id: ").find(|b| b.starts_with(&format!("{id}\n"))).expect("hook");
            let line = block.lines().find_map(|l| l.trim().strip_prefix("entry: ")).expect("entry");
            line.trim().to_owned()
        }
    }
}

/// `nexct lint --list-rules | head -1`: the reader is gone before nexct writes, and
/// the run ends quietly with the status a SIGPIPE'd writer gets (as `cargo xtask`).
#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(assert_cmd::cargo::cargo_bin("nexct"))
        .args(["lint", "--list-rules"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
