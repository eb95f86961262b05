//! `cargo xtask lint` over a catalog of bad inputs (tests/fixtures/lint): one
//! chart per case, plus cases made at run time (a symlink loop, a too-large
//! file) in a temporary copy. Each finding is asserted by rule, file, line and
//! column, in the json, human and github formats, and the clean chart in the
//! same catalog is still checked and stays clean.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod support;
use support::{copy_dir, xtask_in as xtask};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

/// A copy of the fixture catalog with the run-time cases added.
fn catalog() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), tmp.path());
    let charts = tmp.path().join("charts");
    // A chart whose templates/ holds a link back to the chart itself.
    copy_dir(&charts.join("ok"), &charts.join("symlink-loop"));
    rename_chart(&charts.join("symlink-loop"), "symlink-loop");
    std::os::unix::fs::symlink("..", charts.join("symlink-loop/templates/loop")).unwrap();
    // A folder under the chart dir that links to itself (not inside a chart).
    std::fs::create_dir_all(charts.join("group")).unwrap();
    std::os::unix::fs::symlink("../group", charts.join("group/again")).unwrap();
    // A values.yaml far larger than any chart file (valid YAML all the same).
    copy_dir(&charts.join("ok"), &charts.join("too-large"));
    rename_chart(&charts.join("too-large"), "too-large");
    let mut big = String::from("replicas: 1\n");
    while big.len() <= 2 * 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(charts.join("too-large/values.yaml"), big).unwrap();
    tmp
}

fn rename_chart(dir: &Path, name: &str) {
    let p = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&p).unwrap().replace("name: ok", &format!("name: {name}"));
    std::fs::write(p, text).unwrap();
}

struct Run {
    _dir: tempfile::TempDir,
    json: Value,
    human: String,
    github: String,
}

/// One catalog, linted once per format (shared by the tests below).
fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = catalog();
        let out = |format: &str| {
            let o = xtask(dir.path()).args(["lint", "--format", format]).output().unwrap();
            assert_eq!(o.status.code(), Some(1), "{format}: {}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap()
        };
        let json = serde_json::from_str(&out("json")).expect("json report");
        let human = out("human");
        let github = out("github");
        Run { _dir: dir, json, human, github }
    })
}

fn diags(chart: &str, rule: &str) -> Vec<&'static Value> {
    run().json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["chart"] == chart && d["rule"] == rule)
        .collect()
}

/// Asserts a finding of `rule` for `chart` in `file`, at `line` (and `column` when given).
#[track_caller]
fn assert_at(chart: &str, rule: &str, file: &str, line: Option<u64>, column: Option<u64>) -> &'static Value {
    let found = diags(chart, rule);
    let hit = found.iter().find(|d| {
        let loc = &d["location"];
        loc["file"].as_str() == Some(file)
            && line.is_none_or(|l| loc["line"] == l)
            && column.is_none_or(|c| loc["column"] == c)
    });
    match hit {
        Some(d) => d,
        None => panic!("no {rule} at {file}:{line:?}:{column:?} for {chart}; found {found:#?}"),
    }
}

#[test]
fn a_wrong_typed_value_in_a_ci_file_is_placed_in_the_ci_file_in_every_format() {
    let d = assert_at(
        "ci-wrong-type",
        "values/schema",
        "charts/ci-wrong-type/ci/two-values.yaml",
        Some(2),
        Some(11),
    );
    assert_eq!(d["scenarios"], serde_json::json!(["two"]));
    assert!(d["message"].as_str().unwrap().contains("\"two\" is not of type \"integer\""), "{d}");
    assert!(d["hint"].as_str().unwrap().contains("Number of pods."), "{d}");
    // An unknown key set by another ci file points at that key.
    assert_at("ci-wrong-type", "values/schema", "charts/ci-wrong-type/ci/pull-values.yaml", Some(3), Some(3));
    let r = run();
    assert!(
        r.human.contains("error[values/schema]: replicas: \"two\" is not of type \"integer\""),
        "{}",
        r.human
    );
    assert!(r.human.contains("--> charts/ci-wrong-type/ci/two-values.yaml:2:11"), "{}", r.human);
    assert!(r.human.contains("2 | replicas: two\n  |           ^"), "{}", r.human);
    assert!(
        r.github.contains("::error file=charts/ci-wrong-type/ci/two-values.yaml,line=2,col=11,title=values/schema (ci-wrong-type)::"),
        "{}",
        r.github
    );
}

#[test]
fn every_other_chart_is_still_checked_and_the_clean_one_stays_clean() {
    let charts: Vec<&str> =
        run().json["charts"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for c in ["ok", "yaml-syntax", "not-utf8", "ci-wrong-type", "symlink-loop", "too-large", "hygiene"] {
        assert!(charts.contains(&c), "{c} not checked: {charts:?}");
    }
    let ok: Vec<_> =
        run().json["diagnostics"].as_array().unwrap().iter().filter(|d| d["chart"] == "ok").collect();
    assert!(ok.is_empty(), "{ok:#?}");
    assert!(run().human.contains("in 17 charts"), "{}", run().human);
}

#[test]
fn bad_files_get_their_own_rule_and_place() {
    assert_at("yaml-syntax", "yaml/syntax", "charts/yaml-syntax/values.yaml", Some(4), Some(6));
    assert_at("empty-chart-yaml", "file/empty", "charts/empty-chart-yaml/Chart.yaml", None, None);
    assert_at("not-utf8", "file/encoding", "charts/not-utf8/values.yaml", Some(4), Some(17));
    assert_at("missing-chart-yaml", "chart/missing", "charts/missing-chart-yaml/Chart.yaml", None, None);
    assert_at("duplicate-keys", "yaml/duplicate-key", "charts/duplicate-keys/values.yaml", Some(5), Some(1));
    assert_at("too-large", "file/too-large", "charts/too-large/values.yaml", None, None);
    assert_at(
        "ci-misnamed",
        "ct/values-file-name",
        "charts/ci-misnamed/ci/values-two.yaml",
        Some(1),
        Some(1),
    );
    // ci/lint.sh and ci/extra_args are no values files: ct leaves them alone, so does the harness.
    assert_eq!(diags("ci-misnamed", "ct/values-file-name").len(), 1);
    assert_at("", "ct/unknown-key", "ct.yaml", Some(6), Some(1));
}

#[test]
fn symlink_loops_are_findings_not_hangs() {
    assert_at("symlink-loop", "catalog/symlink-loop", "charts/symlink-loop/templates/loop", None, None);
    assert_at("", "catalog/symlink-loop", "charts/group/again", None, None);
}

#[test]
fn schema_problems_point_into_values_schema_json() {
    assert_at(
        "invalid-schema",
        "schema/invalid",
        "charts/invalid-schema/values.schema.json",
        Some(8),
        Some(7),
    );
    assert_at("dangling-ref", "schema/ref", "charts/dangling-ref/values.schema.json", Some(12), Some(7));
    assert_at(
        "schema-not-json",
        "schema/not-json",
        "charts/schema-not-json/values.schema.json",
        Some(10),
        Some(5),
    );
    assert_at(
        "schema-quality",
        "schema/additional-properties",
        "charts/schema-quality/values.schema.json",
        Some(4),
        Some(3),
    );
    assert_at(
        "schema-quality",
        "schema/description",
        "charts/schema-quality/values.schema.json",
        Some(20),
        Some(9),
    );
    assert_at("camel-case", "values/camel-case", "charts/camel-case/values.schema.json", Some(6), Some(5));
    assert_at("camel-case", "values/camel-case", "charts/camel-case/ci/snake-values.yaml", Some(1), Some(1));
    // MY_VAR sits under an object marked "x-nex-user-keys": exempt.
    assert!(
        diags("camel-case", "values/camel-case")
            .iter()
            .all(|d| !d["message"].as_str().unwrap().contains("MY_VAR"))
    );
}

#[test]
fn chart_yaml_policy_findings_are_placed() {
    let f = "charts/chart-policy/Chart.yaml";
    assert_at("chart-policy", "chart/name", f, Some(2), Some(7));
    assert_at("chart-policy", "chart/schema", f, Some(5), Some(10));
    assert_at("chart-policy", "chart/app-version", f, Some(6), Some(13));
    assert_at("chart-policy", "chart/kube-version", f, Some(7), Some(14));
    assert_at("chart-policy", "chart/dependency", f, Some(17), Some(14));
    assert_at("chart-policy", "chart/license", f, Some(20), Some(27));
    // Inside the artifacthub.io/changes block scalar.
    assert_at("chart-policy", "chart/changes", f, Some(22), Some(13));
}

#[test]
fn yaml_hygiene_reports_every_finding() {
    let v = "charts/hygiene/values.yaml";
    assert_at("hygiene", "yaml/trailing-spaces", v, Some(1), Some(12));
    assert_at("hygiene", "yaml/colons", v, Some(3), Some(15));
    assert_at("hygiene", "yaml/comments", v, Some(4), Some(15));
    assert_at("hygiene", "yaml/comments", v, Some(4), Some(16));
    assert_at("hygiene", "yaml/empty-lines", v, Some(7), Some(1));
    assert_at("hygiene", "yaml/commas", v, Some(8), Some(13));
    assert_at("hygiene", "yaml/commas", v, Some(8), Some(15));
    assert_at("hygiene", "yaml/tabs", v, Some(8), Some(17));
    let ci = "charts/hygiene/ci/env-values.yaml";
    let t = assert_at("hygiene", "yaml/truthy", ci, Some(4), Some(8));
    assert_eq!(t["severity"], "warning");
    assert_at("hygiene", "yaml/indentation", ci, Some(4), Some(5));
    // `on` is true to Helm, so the schema (a string) rejects it there too.
    assert_at("hygiene", "values/schema", ci, Some(4), Some(8));
}

#[test]
fn the_json_report_validates_against_its_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&run().json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And the schema can fail: a report missing its summary does not validate.
    let mut broken = run().json.clone();
    broken.as_object_mut().unwrap().remove("summary");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn validate_yaml_false_turns_hygiene_off_like_ct() {
    let dir = catalog();
    let ct = dir.path().join("ct.yaml");
    let text =
        std::fs::read_to_string(&ct).unwrap().replace("chart-dirs-typo: true\n", "validate-yaml: false\n");
    std::fs::write(&ct, text).unwrap();
    let o = xtask(dir.path()).args(["lint", "hygiene", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> =
        v["diagnostics"].as_array().unwrap().iter().map(|d| d["rule"].as_str().unwrap()).collect();
    assert!(!rules.iter().any(|r| r.starts_with("yaml/")), "{rules:?}");
    assert!(rules.contains(&"values/schema"), "{rules:?}");
    assert!(!rules.contains(&"ct/unknown-key"), "{rules:?}");
}

#[test]
fn ct_yaml_charts_and_exclude_deprecated_narrow_the_run_like_ct() {
    let dir = catalog();
    let ct = dir.path().join("ct.yaml");
    std::fs::write(
        &ct,
        "chart-dirs:\n  - charts\ncharts:\n  - charts/ok\n  - hygiene\nexclude-deprecated: true\nvalidate-yaml: false\n",
    )
    .unwrap();
    let names = |dir: &Path| -> Vec<String> {
        let o = xtask(dir).args(["lint", "--format", "json"]).output().unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["charts"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(dir.path()), ["ok", "hygiene"]);
    let chart = dir.path().join("charts/ok/Chart.yaml");
    let text = std::fs::read_to_string(&chart)
        .unwrap()
        .replace("type: application\n", "type: application\ndeprecated: true\n");
    std::fs::write(&chart, text).unwrap();
    assert_eq!(names(dir.path()), ["hygiene"]);
}

#[test]
fn all_with_charts_is_a_ct_conflict() {
    let dir = catalog();
    std::fs::write(dir.path().join("ct.yaml"), "chart-dirs: [charts]\nall: true\ncharts: [charts/ok]\n")
        .unwrap();
    let o = xtask(dir.path()).args(["lint", "ok", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "ct/conflict")
        .expect("ct/conflict");
    assert_eq!(d["location"]["line"], 2);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn the_lint_conf_named_in_ct_yaml_sets_the_hygiene_rules() {
    let dir = catalog();
    std::fs::write(dir.path().join("ct.yaml"), "chart-dirs: [charts]\nlint-conf: lintconf.yaml\n").unwrap();
    std::fs::write(
        dir.path().join("lintconf.yaml"),
        "rules:\n  comments:\n    min-spaces-from-content: 1\n  truthy:\n    level: error\n  colon: enable\n",
    )
    .unwrap();
    let o = xtask(dir.path()).args(["lint", "hygiene", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let all = v["diagnostics"].as_array().unwrap();
    let at = |rule: &str, line: u64, col: u64| {
        all.iter()
            .find(|d| d["rule"] == rule && d["location"]["line"] == line && d["location"]["column"] == col)
    };
    // One space before the comment is enough now; the missing space after `#` is still wrong.
    assert!(at("yaml/comments", 4, 15).is_none(), "{all:#?}");
    assert!(at("yaml/comments", 4, 16).is_some(), "{all:#?}");
    assert_eq!(at("yaml/truthy", 4, 8).expect("truthy")["severity"], "error");
    // A misspelt rule in the yamllint file is a finding placed in that file.
    let bad = at("ct/lint-conf", 6, 3).expect("ct/lint-conf");
    assert_eq!(bad["location"]["file"], "lintconf.yaml");
}

#[test]
fn every_placed_finding_is_placed_the_same_in_human_and_github_output() {
    let r = run();
    let mut checked = 0;
    for d in r.json["diagnostics"].as_array().unwrap() {
        let Some(file) = d["location"]["file"].as_str() else { continue };
        let title = format!("title={} ({})", d["rule"].as_str().unwrap(), d["chart"].as_str().unwrap());
        let (human, github) = match (d["location"]["line"].as_u64(), d["location"]["column"].as_u64()) {
            (Some(l), Some(c)) => {
                (format!("--> {file}:{l}:{c}\n"), format!("file={file},line={l},col={c},{title}::"))
            }
            (Some(l), None) => (format!("--> {file}:{l}\n"), format!("file={file},line={l},{title}::")),
            _ => (format!("--> {file}\n"), format!("file={file},{title}::")),
        };
        assert!(r.human.contains(&human), "human output lacks {human}");
        assert!(r.github.contains(&github), "github output lacks {github}");
        checked += 1;
    }
    assert!(checked > 40, "only {checked} placed findings");
}

#[test]
fn a_generated_secret_beside_a_kept_claim_must_be_kept_too() {
    let d = assert_at(
        "secret-not-kept",
        "policy/generated-secret-keep",
        "charts/secret-not-kept/templates/secret.yaml",
        Some(4),
        Some(1),
    );
    assert_eq!(d["severity"], "error");
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Secret/nex-key: its data is generated at render time (`randAlphaNum`)"),
        "{msg}"
    );
    assert!(msg.contains("PersistentVolumeClaim/nex-data (helm.sh/resource-policy: keep)"), "{msg}");
    assert!(d["hint"].as_str().unwrap().contains("helm.sh/resource-policy: keep"), "{d}");
    // The claim itself is fine: only the Secret is reported.
    assert_eq!(diags("secret-not-kept", "policy/generated-secret-keep").len(), 1);
}
