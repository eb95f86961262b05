//! ct settings nexct performs rather than accepts (issue 25): additional
//! commands run per chart as ct runs them, `--print-config`, `--debug`,
//! `use-helmignore`, `--github-groups`, each on a throwaway repository.

use std::path::Path;
use std::process::{Command, Output};

mod support;
use support::{git, workspace};

fn chart(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\nmaintainers:\n  - name: octocat\n"),
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), "a: 1\n").unwrap();
    std::fs::write(
        dir.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n",
    )
    .unwrap();
}

fn nexct(dir: &Path, args: &[&str]) -> Output {
    nexct_env(dir, args, &[])
}

fn nexct_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("nexct"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .env("NEX_CACHE_DIR", workspace().join("target/nex-cache"))
        .env("NO_COLOR", "1")
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn additional_commands_run_per_chart_from_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    chart(&root.join("charts/one"), "one");
    chart(&root.join("charts/two"), "two");
    std::fs::write(root.join("charts/two/NOTES.txt"), "hi\n").unwrap();
    std::fs::write(
        root.join("ct.yaml"),
        "chart-dirs:\n  - charts\nadditional-commands:\n  - sh -c 'echo {{ .Yaml.Name }}={{ .Yaml.Version }}:{{ .Path }} >> ran.txt'\n  - test -f {{ .Path }}/NOTES.txt\n",
    )
    .unwrap();
    let out = nexct(root, &["lint", "--all", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Both charts, in order, relative paths, from the repository root.
    assert_eq!(
        std::fs::read_to_string(root.join("ran.txt")).unwrap(),
        "one=1.0.0:charts/one\ntwo=1.0.0:charts/two\n"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings: Vec<&serde_json::Value> = json["diagnostics"].as_array().unwrap().iter().collect();
    assert_eq!(findings.len(), 1, "{json:#}");
    let d = findings[0];
    assert_eq!((d["rule"].as_str(), d["chart"].as_str()), (Some("ct/additional-command"), Some("one")));
    assert_eq!(d["location"]["file"], "ct.yaml");
    assert_eq!(d["location"]["line"], 5, "the failing entry's line: {d}");
    assert!(d["message"].as_str().unwrap().contains("`test -f charts/one/NOTES.txt` exited with status 1"));

    // A program the machine lacks: the machine's failure, exit 2, not a finding.
    std::fs::write(
        root.join("ct.yaml"),
        "chart-dirs:\n  - charts\nadditional-commands:\n  - no-such-tool-here {{ .Path }}\n",
    )
    .unwrap();
    let out = nexct(root, &["lint", "--all"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`no-such-tool-here` is not on PATH"), "{}", text(&out));
    assert!(text(&out).contains("0 errors, 0 warnings in 2 charts"), "{}", text(&out));
}

#[test]
fn print_config_debug_and_github_groups_do_what_ct_s_do() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    chart(&root.join("charts/one"), "one");
    std::fs::write(root.join("ct.yaml"), "chart-dirs: charts\nvalidate-maintainers: \"false\"\n").unwrap();
    // Uncached, so that helm runs (a cached result spawns nothing to show).
    let out = nexct_env(
        root,
        &["lint", "--all", "--print-config", "--debug", "--github-groups", "--excluded-charts=none,other"],
        &[("NEX_NO_CACHE", "1")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // viper's loose types: a comma-separated string for a list, "false" for a boolean.
    for line in [
        "chart-dirs: charts\n",
        "validate-maintainers: false\n",
        "excluded-charts: none,other\n",
        "helm: V3\n",
    ] {
        assert!(stderr.contains(line), "{line:?} in {stderr}");
    }
    assert!(
        // One helm process per scenario: `helm template` (helm lint only where its model cannot vouch).
        stderr.contains(">>> ") && stderr.contains(" template nex charts/one"),
        "--debug shows the helm runs: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("::group::nexct lint results\n") && stdout.ends_with("::endgroup::\n"),
        "{stdout}"
    );
}

#[test]
fn use_helmignore_leaves_out_charts_whose_changes_helm_ignores() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = tmp.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q", "-b", "main"]);
    chart(&upstream.join("charts/one"), "one");
    std::fs::write(upstream.join("charts/one/.helmignore"), "*.md\n").unwrap();
    std::fs::write(upstream.join("ct.yaml"), "chart-dirs: [charts]\ncheck-version-increment: false\n")
        .unwrap();
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-qm", "base"]);
    git(&upstream, &["checkout", "-qb", "elsewhere"]);
    git(tmp.path(), &["clone", "-q", upstream.to_str().unwrap(), "work"]);
    let work = tmp.path().join("work");
    std::fs::write(work.join("charts/one/README.md"), "docs only\n").unwrap();
    let out = nexct(&work, &["lint", "--use-helmignore"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("in 0 charts"), "README.md is ignored by helm: {}", text(&out));
    let out = nexct(&work, &["lint"]);
    assert!(text(&out).contains("in 1 chart"), "without it, any change counts: {}", text(&out));
}
