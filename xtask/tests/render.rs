//! Rendering, schema validation and policy, end to end through `cargo xtask lint`
//! with the real pinned helm and the real Kubernetes schemas, on fixture charts
//! that each break one thing.

use serde_json::Value;
use std::path::{Path, PathBuf};

mod support;
use support::xtask;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render")
}

/// `cargo xtask lint --format json` of fixture charts: exit code and diagnostics.
fn lint(dir: &Path, args: &[&str]) -> (i32, Vec<Value>) {
    let out = xtask().current_dir(dir).arg("lint").args(["--format", "json"]).args(args).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report["diagnostics"].as_array().cloned().unwrap_or_default())
}

fn find<'a>(diags: &'a [Value], rule: &str) -> &'a Value {
    diags
        .iter()
        .find(|d| d["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {}", serde_json::to_string_pretty(diags).unwrap()))
}

fn at(d: &Value) -> (String, i64) {
    let file = d["location"]["file"].as_str().unwrap_or_default();
    let rel = file.split("fixtures/render/").nth(1).unwrap_or(file).to_owned();
    (rel, d["location"]["line"].as_i64().unwrap_or(0))
}

#[test]
fn a_clean_chart_renders_validates_and_passes_policy() {
    let (code, diags) = lint(&fixtures(), &["clean"]);
    assert_eq!(diags, Vec::<Value>::new());
    assert_eq!(code, 0);
}

#[test]
fn an_invalid_deployment_field_is_a_strict_schema_error_at_its_key() {
    for helm in ["4", "3"] {
        let (code, diags) = lint(&fixtures(), &["invalid-field", "--helm", helm]);
        assert_eq!(code, 1);
        let d = find(&diags, "kube/schema");
        assert_eq!(at(d), ("charts/invalid-field/templates/deployment.yaml".into(), 12));
        let msg = d["message"].as_str().unwrap();
        assert!(
            msg.starts_with("Deployment/nex-invalid-field: unknown field \"replica\" at /spec/replica"),
            "{msg}"
        );
        // Validated for the lowest Kubernetes the chart allows and the newest.
        assert!(msg.contains("(Kubernetes 1.25.0, 1.37.0)"), "{msg}");
    }
}

#[test]
fn a_privileged_pod_breaks_pod_security_restricted() {
    let (code, diags) = lint(&fixtures(), &["privileged"]);
    assert_eq!(code, 1);
    let d = find(&diags, "pss/privileged");
    assert_eq!(at(d), ("charts/privileged/templates/deployment.yaml".into(), 33));
    assert_eq!(d["message"], "Deployment/nex-privileged: container \"app\" is privileged");
    assert_eq!(diags.len(), 1, "{diags:?}");
}

#[test]
fn a_latest_tag_is_an_error_and_a_missing_digest_a_warning() {
    let (code, diags) = lint(&fixtures(), &["latest-tag"]);
    assert_eq!(code, 1);
    let tag = find(&diags, "policy/image-tag");
    assert_eq!(at(tag), ("charts/latest-tag/templates/deployment.yaml".into(), 29));
    assert_eq!(tag["severity"], "error");
    assert_eq!(find(&diags, "policy/image-digest")["severity"], "warning");
}

#[test]
fn a_kind_without_a_schema_is_a_warning_naming_it() {
    let (code, diags) = lint(&fixtures(), &["unknown-crd"]);
    assert_eq!(code, 0, "a warning does not fail the run: {diags:?}");
    let d = find(&diags, "kube/unknown-kind");
    assert_eq!(d["severity"], "warning");
    assert_eq!(at(d), ("charts/unknown-crd/templates/widget.yaml".into(), 2));
    assert!(d["message"].as_str().unwrap().contains("example.org/v1 Widget"));
}

#[test]
fn a_template_error_points_at_the_template_line_in_both_helm_majors() {
    for helm in ["4", "3"] {
        let (code, diags) = lint(&fixtures(), &["template-error", "--helm", helm]);
        assert_eq!(code, 1);
        let d = find(&diags, "render/template");
        assert_eq!(at(d), ("charts/template-error/templates/configmap.yaml".into(), 8));
        assert_eq!(d["location"]["column"], 19);
        let msg = d["message"].as_str().unwrap();
        assert!(msg.contains("nil pointer evaluating") && msg.ends_with("(Kubernetes 1.25.0)"), "{msg}");
    }
}

#[test]
fn exceptions_allow_named_findings_and_unused_ones_are_warnings() {
    let (code, diags) = lint(&fixtures(), &["excepted"]);
    assert_eq!(code, 0, "{diags:?}");
    let allowed = find(&diags, "pss/privileged");
    assert_eq!(allowed["allowed"], "The fixture needs a privileged container.");
    let unused = find(&diags, "policy/unused-exception");
    assert_eq!(unused["severity"], "warning");
    assert_eq!(at(unused), ("charts/excepted/Chart.yaml".into(), 22));
    assert!(unused["message"].as_str().unwrap().contains("pss/host-namespaces"));
}

#[test]
fn the_human_report_says_allowed_by_exception() {
    let out = xtask().current_dir(fixtures()).args(["lint", "excepted"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("allowed by exception: The fixture needs a privileged container."), "{text}");
}

/// A HELM_BIN that records every invocation, then runs the pinned helm.
fn counting_helm(dir: &Path, log: &Path) -> PathBuf {
    let real =
        nex_harness::helm::Helm::locate(nex_harness::helm::Major::V4, &nex_harness::provision::cache_root())
            .expect("pinned helm")
            .bin;
    let script = dir.join("helm");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n", log.display(), real.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).into_iter().flatten() {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn take_log(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let _ = std::fs::remove_file(log);
    text.lines().map(str::to_owned).collect()
}

#[test]
fn an_unchanged_second_run_spawns_no_helm_and_a_changed_chart_alone_is_rerendered() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = tmp.path().join("catalog");
    for c in ["clean", "privileged"] {
        copy_dir(&fixtures().join("charts").join(c), &catalog.join("charts").join(c));
    }
    std::fs::write(catalog.join("ct.yaml"), "chart-dirs: [charts]\n").unwrap();
    std::fs::write(catalog.join("harness.yaml"), "profile: catalog\n").unwrap();
    let log = tmp.path().join("helm.log");
    let helm = counting_helm(tmp.path(), &log);
    // The shared schema folders (extracted once), so this test fetches nothing.
    let schemas = nex_harness::provision::cache_root().join("kube-schemas/kubernetes-validate-1.37.0");
    let root = nex_harness::kube::provision::SchemaRoot::Cache(schemas.clone());
    for v in ["1.25.0", "1.37.0"] {
        root.ensure(v).expect("kube schemas");
    }
    let run = || {
        xtask()
            .current_dir(&catalog)
            .env("HELM_BIN", &helm)
            .env("NEX_CACHE_DIR", tmp.path().join("cache"))
            .env("KUBE_SCHEMA_DIR", &schemas)
            .args(["lint", "--format", "json"])
            .output()
            .unwrap()
    };

    let first = run();
    assert_eq!(first.status.code(), Some(1), "{}", String::from_utf8_lossy(&first.stderr));
    let cold = take_log(&log);
    // 2 charts × 1 render + `helm version` of HELM_BIN: neither chart's templates
    // can see the Kubernetes version, so one render serves both versions, and the
    // model of helm lint vouches for both (tests/cold.rs), so helm lint never runs.
    let templates = cold.iter().filter(|l| l.starts_with("template")).count();
    assert_eq!(templates, 2, "{cold:#?}");
    assert_eq!(cold.iter().filter(|l| l.starts_with("lint")).count(), 0, "{cold:#?}");

    let second = run();
    assert_eq!(take_log(&log), Vec::<String>::new(), "a warm run spawns no helm");
    assert_eq!(second.stdout, first.stdout, "the cache serves the same findings");

    // A template that reads the Kubernetes version: the chart changes, and now
    // renders once per version of its matrix.
    std::fs::write(
        catalog.join("charts/clean/templates/kube-version.yaml"),
        "# rendered for Kubernetes {{ .Capabilities.KubeVersion.Version }}\n",
    )
    .unwrap();
    run();
    let after = take_log(&log);
    assert!(!after.is_empty(), "the changed chart is rendered again");
    assert!(after.iter().all(|l| l.contains("charts/clean") && !l.contains("privileged")), "{after:#?}");
    assert_eq!(after.iter().filter(|l| l.starts_with("template")).count(), 2, "{after:#?}");
}

#[test]
fn missing_kubernetes_schemas_are_a_tooling_failure() {
    let out = xtask()
        .current_dir(fixtures())
        .env("KUBE_SCHEMA_DIR", "/nonexistent")
        .args(["lint", "clean"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("kube/schemas-unavailable") && text.contains("KUBE_SCHEMA_DIR=/nonexistent"),
        "{text}"
    );
}

#[test]
fn custom_resources_are_validated_against_the_chart_crds() {
    let (code, diags) = lint(&fixtures(), &["custom-resource"]);
    assert_eq!(code, 1);
    let schema: Vec<&Value> = diags.iter().filter(|d| d["rule"] == "kube/schema").collect();
    assert_eq!(schema.len(), 2, "only the bad Widget fails: {diags:#?}");
    assert!(schema.iter().all(|d| d["message"].as_str().unwrap().starts_with("Widget/nex-bad: ")));
    let unknown =
        schema.iter().find(|d| d["message"].as_str().unwrap().contains("unknown field \"colour\"")).unwrap();
    assert_eq!(at(unknown), ("charts/custom-resource/templates/widgets.yaml".into(), 24));
    let minimum = schema.iter().find(|d| d["message"].as_str().unwrap().contains("minimum of 1")).unwrap();
    assert_eq!(at(minimum), ("charts/custom-resource/templates/widgets.yaml".into(), 23));
    assert!(!diags.iter().any(|d| d["rule"] == "kube/unknown-kind"), "{diags:#?}");
}
