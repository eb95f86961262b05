//! Cold lint on small repositories (issue 25, item 6): one helm process per
//! scenario. `helm lint` runs only where the harness's model of it cannot prove
//! it would say nothing, and the findings are the same as when it runs for
//! every scenario (`NEX_HELM_LINT=always`), under helm 3 and helm 4, on a chart
//! nobody here wrote (`helm create`'s) and on variants that make helm lint speak.
//! The catalog itself is compared the same way by `cargo xtask bench`'s method
//! and by `catalog_findings_are_the_same_with_and_without_the_model` below.

mod support;

use nex_harness::helm::{Helm, Major};
use std::path::{Path, PathBuf};

/// A helm that logs its arguments, then runs the pinned one of `major`.
fn logging_helm(dir: &Path, log: &Path, major: Major) -> PathBuf {
    let real = Helm::locate(major, &nex_harness::provision::cache_root()).expect("pinned helm").bin;
    let script = dir.join(format!("helm-{major:?}"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n", log.display(), real.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// `helm create <name>` (helm 4's scaffold) under `charts/`, then `edit` on it.
fn create(root: &Path, name: &str, edit: impl Fn(&Path)) {
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm");
    std::fs::create_dir_all(root.join("charts")).unwrap();
    let out = helm.command().arg("create").arg(root.join("charts").join(name)).output().unwrap();
    assert!(out.status.success(), "helm create: {}", String::from_utf8_lossy(&out.stderr));
    edit(&root.join("charts").join(name));
}

fn append(path: &Path, text: &str) {
    let mut s = std::fs::read_to_string(path).unwrap_or_default();
    s.push_str(text);
    std::fs::write(path, s).unwrap();
}

/// The catalog: `helm create`'s chart as it is, and variants each of which makes
/// helm lint speak (or which the model cannot vouch for).
fn catalog() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("ct.yaml"), "chart-dirs:\n  - charts\nhelm-lint-extra-args: --strict\n")
        .unwrap();
    create(root, "foreign", |_| {});
    create(root, "deprecated", |c| {
        let pdb = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: {{ include \"deprecated.fullname\" . }}\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      {{- include \"deprecated.selectorLabels\" . | nindent 6 }}\n";
        std::fs::write(c.join("templates/pdb.yaml"), pdb).unwrap();
    });
    create(root, "selectorless", |c| {
        let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ include \"selectorless.fullname\" . }}\nspec:\n  serviceName: x\n  template:\n    spec:\n      containers:\n        - name: a\n          image: busybox\n";
        std::fs::write(c.join("templates/sts.yaml"), sts).unwrap();
    });
    create(root, "long-name", |c| {
        append(&c.join("values.yaml"), &format!("fullnameOverride: {}\n", "n".repeat(58)))
    });
    create(root, "odd-extension", |c| std::fs::write(c.join("templates/readme.md"), "# notes\n").unwrap());
    create(root, "unknown-field", |c| append(&c.join("Chart.yaml"), "x-extra: 1\n"));
    // A values schema naming a URL: renders skip helm's schema validation, lint fetches it
    // (a closed port here: it fails at once, as offline).
    create(root, "remote-schema", |c| {
        let schema = "{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"properties\": {\"podLabels\": {\"$ref\": \"http://127.0.0.1:9/defs.json#/labels\"}}}";
        std::fs::write(c.join("values.schema.json"), schema).unwrap();
    });
    // Libraries: one a chart here renders with (its lint is then modelled), one
    // whose template does not parse (its user's render fails: both are linted).
    for (lib, helper) in [
        ("lib-ok", "{{- define \"lib-ok.hello\" -}}hello{{- end }}\n"),
        ("lib-broken", "{{- define \"lib-broken.hello\" -}}{{ if }}{{- end }}\n"),
        ("lib-ci", "{{- define \"lib-ci.hello\" -}}hello{{- end }}\n"),
    ] {
        let dir = root.join("charts").join(lib);
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        let chart = format!(
            "apiVersion: v2\nname: {lib}\ndescription: a library\ntype: library\nversion: 0.1.0\nicon: https://example.org/icon.png\n"
        );
        std::fs::write(dir.join("Chart.yaml"), chart).unwrap();
        std::fs::write(dir.join("values.yaml"), "greeting: hello\n").unwrap();
        std::fs::write(dir.join("templates/_helpers.tpl"), helper).unwrap();
        if lib == "lib-ci" {
            // ct lints a library with its ci files too: the model does not vouch for those.
            std::fs::create_dir_all(dir.join("ci")).unwrap();
            std::fs::write(dir.join("ci/other-values.yaml"), "greeting: hi\n").unwrap();
        }
        let user = format!("{lib}-user");
        create(root, &user, |c| {
            append(
                &c.join("Chart.yaml"),
                &format!(
                    "dependencies:\n  - name: {lib}\n    version: 0.1.0\n    repository: file://../{lib}\n"
                ),
            );
        });
    }
    create(root, "api-versions", |c| {
        let pdb = "apiVersion: {{ if .Capabilities.APIVersions.Has \"policy/v1/PodDisruptionBudget\" }}policy/v1{{ else }}policy/v1beta1{{ end }}\nkind: PodDisruptionBudget\nmetadata:\n  name: {{ include \"api-versions.fullname\" . }}\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      {{- include \"api-versions.selectorLabels\" . | nindent 6 }}\n";
        std::fs::write(c.join("templates/pdb.yaml"), pdb).unwrap();
    });
    tmp
}

struct Run {
    diagnostics: serde_json::Value,
    /// The charts `helm lint` ran on.
    linted: Vec<String>,
}

fn lint(root: &Path, cache: &Path, helm: &Path, log: &Path, always: bool) -> Run {
    let _ = std::fs::remove_file(log);
    let mut cmd = support::xtask_in(root);
    // Nothing is read from the cache, so the log shows every helm run of each way.
    cmd.args(["lint", "--format", "json"])
        .env("NEX_CACHE_DIR", cache)
        .env("HELM_BIN", helm)
        .env("NEX_NO_CACHE", "1");
    if always {
        cmd.env("NEX_HELM_LINT", "always");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let mut linted: Vec<String> = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("lint "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|p| Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    linted.sort();
    linted.dedup();
    Run { diagnostics: report["diagnostics"].clone(), linted }
}

#[test]
fn helm_lint_runs_only_where_the_model_cannot_vouch_and_findings_do_not_change() {
    let cat = catalog();
    let root = cat.path();
    let cache = support::private_cache(&support::workspace_root());
    let log = root.join("helm.log");
    for major in [Major::V4, Major::V3] {
        let helm = logging_helm(root, &log, major);
        let modelled = lint(root, cache.path(), &helm, &log, false);
        let real = lint(root, cache.path(), &helm, &log, true);
        assert_eq!(
            modelled.diagnostics, real.diagnostics,
            "{major:?}: the findings with the model differ from those of helm lint run everywhere"
        );
        let all = [
            "api-versions",
            "deprecated",
            "foreign",
            "lib-broken",
            "lib-broken-user",
            "lib-ci",
            "lib-ci-user",
            "lib-ok",
            "lib-ok-user",
            "long-name",
            "odd-extension",
            "remote-schema",
            "selectorless",
            "unknown-field",
        ];
        assert_eq!(real.linted, all, "{major:?}");
        // Each variant makes helm lint run; helm create's chart as it is does not,
        // nor a library a chart here rendered with, nor that chart.
        // helm 4 skips a schema naming a URL when told to (the renders are told so); helm 3's lint fetches it.
        let vouched: &[&str] = match major {
            Major::V4 => &["foreign", "lib-ci-user", "lib-ok", "lib-ok-user", "remote-schema"],
            _ => &["foreign", "lib-ci-user", "lib-ok", "lib-ok-user"],
        };
        let expected: Vec<&str> = all.iter().copied().filter(|c| !vouched.contains(c)).collect();
        assert_eq!(modelled.linted, expected, "{major:?}");
        // The variants are there because helm lint speaks about them.
        let rules = |chart: &str| -> Vec<String> {
            modelled
                .diagnostics
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["chart"] == chart && d["rule"] == "helm/lint")
                .map(|d| d["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        for chart in ["deprecated", "selectorless", "odd-extension", "lib-broken"] {
            assert!(!rules(chart).is_empty(), "{major:?}: helm lint says nothing about {chart}");
        }
        assert_eq!(
            rules("remote-schema").is_empty(),
            major == Major::V4,
            "{major:?}: {:?}",
            rules("remote-schema")
        );
        assert!(rules("foreign").is_empty() && rules("long-name").is_empty(), "{major:?}");
    }
}

#[test]
fn catalog_findings_are_the_same_with_and_without_the_model() {
    // The usual cache: helm's outputs are shared, each way's findings are keyed apart.
    let root = support::workspace_root();
    let run = |always: bool| {
        let mut cmd = support::xtask_in(&root);
        cmd.args(["lint", "--format", "json"]);
        if always {
            cmd.env("NEX_HELM_LINT", "always");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON report")["diagnostics"].clone()
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn an_unreachable_dependency_is_not_asked_for_again_until_rechecked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("ct.yaml"), "chart-dirs:\n  - charts\n").unwrap();
    let port = support::free_port();
    create(root, "needs-redis", |c| {
        append(
            &c.join("Chart.yaml"),
            &format!(
                "dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: http://127.0.0.1:{port}/charts\n"
            ),
        )
    });
    let cache = support::private_cache(&support::workspace_root());
    let log = root.join("helm.log");
    let helm = logging_helm(root, &log, Major::V4);
    let run = |recheck: bool| -> (Vec<String>, String) {
        let _ = std::fs::remove_file(&log);
        let mut cmd = support::xtask_in(root);
        cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache.path()).env("HELM_BIN", &helm);
        if recheck {
            cmd.env("NEX_RECHECK_DEPS", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let message = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["rule"] == "deps/unavailable")
            .and_then(|d| d["message"].as_str())
            .unwrap_or_default()
            .to_owned();
        let builds = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("dependency build"))
            .map(str::to_owned)
            .collect();
        (builds, message)
    };
    let (builds, first) = run(false);
    assert_eq!(builds.len(), 1, "the first run asks: {builds:?}");
    assert!(first.contains("redis 1.0.0") && first.contains("NEX_RECHECK_DEPS"), "{first}");
    let (builds, second) = run(false);
    assert!(builds.is_empty(), "a remembered failure is not asked again: {builds:?}");
    assert!(second.contains("is remembered") && second.contains("UTC"), "{second}");
    let (builds, _) = run(true);
    assert_eq!(builds.len(), 1, "NEX_RECHECK_DEPS=1 asks again: {builds:?}");
}
