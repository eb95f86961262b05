//! `cargo xtask diff` and the upgrade checks of `cargo xtask lint --changed`,
//! in throwaway git repositories: the fixture catalog (tests/fixtures/diff)
//! committed on `main`, an `origin` remote pointing at the repository itself,
//! then a branch with one change. The real pinned helm renders both sides.

use serde_json::Value;
use std::path::{Path, PathBuf};

mod support;
use support::{copy_dir, git, xtask_in as xtask};

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

#[track_caller]
/// A repository holding the fixture on `main` (also `origin/main`), checked
/// out on a branch where `change` was applied, the README regenerated and
/// everything committed.
fn repo(change: impl FnOnce(&Path)) -> tempfile::TempDir {
    repo_with(|_| {}, change)
}

/// [`repo`], with `setup` applied to the catalog before its first commit.
fn repo_with(setup: impl FnOnce(&Path), change: impl FnOnce(&Path)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_dir(&fixture(), dir);
    setup(dir);
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "catalog"]);
    let url = dir.to_string_lossy().into_owned();
    git(dir, &["remote", "add", "origin", &url]);
    git(dir, &["fetch", "-q", "origin"]);
    git(dir, &["checkout", "-q", "-b", "change"]);
    change(dir);
    xtask(dir).args(["docs"]).assert().success();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "change"]);
    tmp
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join("charts/app").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

fn version(dir: &Path, v: &str) {
    edit(dir, "Chart.yaml", "version: 1.0.0", &format!("version: {v}"));
}

/// `lint --changed --format json`: the exit code and the upgrade/* findings.
fn upgrade_findings(dir: &Path) -> (i32, Vec<Value>) {
    let out = xtask(dir).args(["lint", "--changed", "--format", "json"]).output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json report ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let all = json["diagnostics"].as_array().unwrap().clone();
    let code = out.status.code().unwrap();
    if code != 0 && all.iter().all(|d| !d["rule"].as_str().unwrap().starts_with("upgrade/")) {
        panic!("lint --changed failed for another reason: {all:#?}");
    }
    (code, all.into_iter().filter(|d| d["rule"].as_str().unwrap().starts_with("upgrade/")).collect())
}

fn diff(dir: &Path, format: &str) -> String {
    let out = xtask(dir).args(["diff", "--format", format]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn add_selector_label(dir: &Path) {
    let at = "      app.kubernetes.io/instance: {{ .Release.Name }}\n  template:";
    let to = "      app.kubernetes.io/instance: {{ .Release.Name }}\n      app.kubernetes.io/component: server\n  template:";
    edit(dir, "templates/deployment.yaml", at, to);
    let at = "        app.kubernetes.io/instance: {{ .Release.Name }}\n    spec:";
    let to = "        app.kubernetes.io/instance: {{ .Release.Name }}\n        app.kubernetes.io/component: server\n    spec:";
    edit(dir, "templates/deployment.yaml", at, to);
}

fn rename_pvc(dir: &Path) {
    edit(dir, "templates/pvc.yaml", "-app-data", "-app-storage");
    edit(dir, "templates/deployment.yaml", "-app-data", "-app-storage");
}

/// `persistence.size` becomes `persistence.capacity` (values.yaml, schema, template).
fn rename_value(dir: &Path) {
    edit(dir, "values.yaml", "  size: 1Gi", "  capacity: 1Gi");
    edit(dir, "values.schema.json", "\"size\": {", "\"capacity\": {");
    edit(dir, "templates/pvc.yaml", ".Values.persistence.size", ".Values.persistence.capacity");
}

#[test]
fn a_selector_change_is_an_immutable_field_error_without_a_major_bump() {
    let dir = repo(|d| {
        add_selector_label(d);
        version(d, "1.0.1");
    });
    let (code, found) = upgrade_findings(dir.path());
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    assert_eq!(d["rule"], "upgrade/immutable-field");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["chart"], "app");
    assert_eq!(d["location"]["file"], "charts/app/templates/deployment.yaml");
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Deployment/nex-app: `spec.selector.matchLabels[\"app.kubernetes.io/component\"]`"),
        "{msg}"
    );
    assert!(msg.contains("is (none) on origin/main and \"server\" on this branch"), "{msg}");
    let hint = d["hint"].as_str().unwrap();
    assert!(hint.contains("bump the major version (1.0.0 on origin/main → 2.0.0)"), "{hint}");
}

#[test]
fn a_selector_change_with_a_major_bump_passes() {
    let dir = repo(|d| {
        add_selector_label(d);
        version(d, "2.0.0");
    });
    assert_eq!(upgrade_findings(dir.path()), (0, vec![]));
}

#[test]
fn a_renamed_pvc_is_caught_and_shown_as_removed_and_added() {
    let dir = repo(|d| {
        rename_pvc(d);
        version(d, "1.0.1");
    });
    let (code, found) = upgrade_findings(dir.path());
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule"], "upgrade/renamed-pvc");
    assert_eq!(found[0]["location"]["file"], "charts/app/templates/pvc.yaml");
    assert_eq!(found[0]["location"]["line"], 4);
    let msg = found[0]["message"].as_str().unwrap();
    assert!(msg.contains("`nex-app-data` on origin/main is `nex-app-storage` on this branch"), "{msg}");

    let text = diff(dir.path(), "human");
    assert!(text.contains("    - PersistentVolumeClaim nex-app-data (v1)\n"), "{text}");
    assert!(text.contains("    + PersistentVolumeClaim nex-app-storage (v1)\n"), "{text}");
    assert!(
        text.contains(
            "        spec.template.spec.volumes[0].persistentVolumeClaim.claimName: \"nex-app-data\" → \"nex-app-storage\"\n"
        ),
        "{text}"
    );
}

#[test]
fn a_renamed_pvc_with_a_major_bump_passes() {
    let dir = repo(|d| {
        rename_pvc(d);
        version(d, "2.0.0");
    });
    assert_eq!(upgrade_findings(dir.path()), (0, vec![]));
}

#[test]
fn a_removed_value_is_caught_with_its_old_default_and_the_likely_new_name() {
    let dir = repo(|d| {
        rename_value(d);
        version(d, "1.0.1");
    });
    let (code, found) = upgrade_findings(dir.path());
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    assert_eq!(d["rule"], "upgrade/removed-value");
    assert_eq!(d["location"]["file"], "charts/app/values.schema.json");
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "value `persistence.size` defaults to \"1Gi\" on origin/main and is removed on this branch \
             (renamed to `capacity`?)"
        ),
        "{msg}"
    );
    assert!(d["hint"].as_str().unwrap().contains("keep `persistence.size` in values.schema.json"));
    // The rendered objects are the same: the diff says so.
    let text = diff(dir.path(), "human");
    assert!(text.contains("  scenario default: no changes\n"), "{text}");
}

#[test]
fn a_removed_value_with_a_major_bump_passes() {
    let dir = repo(|d| {
        rename_value(d);
        version(d, "2.0.0");
    });
    assert_eq!(upgrade_findings(dir.path()), (0, vec![]));
}

#[test]
fn a_narrowed_type_is_caught() {
    let dir = repo(|d| {
        edit(
            d,
            "values.schema.json",
            "\"description\": \"Size of the volume claim.\",\n          \"type\": \"string\",",
            "\"description\": \"Size of the volume claim.\",\n          \"type\": \"string\",\n          \"enum\": [\"1Gi\", \"2Gi\"],",
        );
        version(d, "1.0.1");
    });
    let (code, found) = upgrade_findings(dir.path());
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule"], "upgrade/narrowed-type");
    let msg = found[0]["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "value `persistence.size` accepts string on origin/main but only one of \"1Gi\", \"2Gi\""
        ),
        "{msg}"
    );
}

#[test]
fn an_image_tag_change_is_no_breaking_change_and_a_one_line_diff() {
    let dir = repo(|d| {
        edit(d, "values.yaml", "tag: \"1.0.0\"", "tag: \"1.0.1\"");
        version(d, "1.0.1");
    });
    assert_eq!(upgrade_findings(dir.path()), (0, vec![]));

    let text = diff(dir.path(), "human");
    // Field lines are indented by eight; the chart label's version bump is said once, in a note.
    let fields: Vec<&str> = text.lines().filter(|l| l.starts_with("        ")).collect();
    let line = format!(
        "        spec.template.spec.containers[0].image: \"example.org/team/app:1.0.0@{DIGEST}\" → \
         \"example.org/team/app:1.0.1@{DIGEST}\""
    );
    assert_eq!(fields, vec![line.as_str()], "{text}");
    assert!(text.starts_with("app 1.0.0 → 1.0.1 (against origin/main)\n"), "{text}");
    assert!(
        text.contains("  note: every object's `helm.sh/chart` label: \"app-1.0.0\" → \"app-1.0.1\" (not repeated below)\n"),
        "{text}"
    );
    assert!(!text.contains("PersistentVolumeClaim"), "only its chart label changed: {text}");
    assert!(text.contains("  scenario default: 1 changed\n    ~ Deployment nex-app (apps/v1)\n"), "{text}");

    let md = diff(dir.path(), "markdown");
    assert!(md.starts_with("## Rendered manifests: this branch against `origin/main`\n"), "{md}");
    assert!(
        md.contains(&format!(
            "```diff\n~ Deployment nex-app (apps/v1)\n-   spec.template.spec.containers[0].image: \
             \"example.org/team/app:1.0.0@{DIGEST}\"\n+   spec.template.spec.containers[0].image: \
             \"example.org/team/app:1.0.1@{DIGEST}\"\n```\n"
        )),
        "{md}"
    );
}

#[test]
fn a_chart_new_on_the_branch_is_all_added() {
    let dir = repo(|d| {
        let charts = d.join("charts");
        copy_dir(&charts.join("app"), &charts.join("extra"));
        for f in ["Chart.yaml", "templates/deployment.yaml", "templates/pvc.yaml"] {
            let p = charts.join("extra").join(f);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, text.replace("name: app", "name: extra").replace("-app", "-extra")).unwrap();
        }
    });
    let text = diff(dir.path(), "human");
    assert!(text.contains("extra 1.0.0 (new chart) (against origin/main)\n"), "{text}");
    assert!(text.contains("  scenario default: 2 added\n"), "{text}");
    assert!(text.contains("    + Deployment nex-extra (apps/v1)\n"), "{text}");
    assert!(text.contains("    + PersistentVolumeClaim nex-extra-data (v1)\n"), "{text}");
    assert!(!text.contains("app 1.0.0"), "the unchanged chart is not diffed: {text}");
    // A new chart has no upgrade to break.
    assert_eq!(upgrade_findings(dir.path()), (0, vec![]));
}

#[test]
fn the_extracted_target_branch_is_removed_even_when_the_run_fails() {
    let dir = repo(|d| {
        edit(d, "values.yaml", "tag: \"1.0.0\"", "tag: \"1.0.1\"");
        version(d, "1.0.1");
    });
    let tmp = tempfile::tempdir().unwrap();
    // Succeeds: the temp folder is gone afterwards.
    xtask(dir.path()).env("TMPDIR", tmp.path()).arg("diff").assert().code(0);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    // Fails after extracting (helm unusable): still gone.
    xtask(dir.path())
        .env("TMPDIR", tmp.path())
        .env("HELM_BIN", dir.path().join("no-such-helm"))
        .arg("diff")
        .assert()
        .code(2);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    // And nothing was registered in the repository.
    assert!(!dir.path().join(".git/worktrees").exists());
}

#[test]
fn without_the_target_branch_diff_says_what_to_run() {
    let dir = repo(|_| {});
    git(dir.path(), &["remote", "remove", "origin"]);
    xtask(dir.path())
        .arg("diff")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("git remote add origin <url>"));
}

#[test]
fn diff_has_help() {
    xtask(&fixture())
        .args(["diff", "--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Usage: cargo xtask diff"))
        .stdout(predicates::str::contains("--format <FORMAT>"));
}

#[test]
fn a_chart_that_no_longer_renders_is_named_and_exits_2() {
    let dir = repo(|d| {
        edit(
            d,
            "templates/pvc.yaml",
            "{{ .Values.persistence.size }}",
            "{{ .Values.persistence.size | nosuchfunction }}",
        );
        version(d, "1.0.1");
    });
    let out = xtask(dir.path()).arg("diff").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  scenario default: cannot be rendered on this branch: "), "{text}");
    assert!(text.contains("nosuchfunction"), "{text}");
}

#[test]
fn a_library_chart_is_diffed_through_the_charts_that_use_it() {
    let dir = repo_with(
        |d| {
            // Vendored dependencies are built by the harness, never committed (as in the catalog).
            std::fs::write(d.join(".gitignore"), "/charts/*/charts/\n").unwrap();
            let lib = d.join("charts/lib");
            std::fs::create_dir_all(lib.join("templates")).unwrap();
            std::fs::write(
                lib.join("Chart.yaml"),
                "apiVersion: v2\nname: lib\ndescription: Shared labels.\ntype: library\nversion: 0.1.0\n",
            )
            .unwrap();
            std::fs::write(
                lib.join("templates/_labels.tpl"),
                "{{- define \"lib.team\" -}}\nteam: blue\n{{- end -}}\n",
            )
            .unwrap();
            let chart = d.join("charts/app/Chart.yaml");
            let text = std::fs::read_to_string(&chart).unwrap();
            let deps = "dependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n";
            std::fs::write(&chart, format!("{text}{deps}")).unwrap();
            edit(
                d,
                "templates/deployment.yaml",
                "    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n",
                "    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n    {{- include \"lib.team\" . | nindent 4 }}\n",
            );
            // helm passes each dependency its values under its name.
            edit(
                d,
                "values.schema.json",
                "    \"persistence\": {",
                "    \"lib\": {\"description\": \"The library's values.\", \"type\": \"object\"},\n    \"persistence\": {",
            );
            // Chart.lock, as `helm dependency update` writes it, is committed.
            xtask(d).args(["render", "app"]).assert().success();
        },
        |d| {
            let tpl = d.join("charts/lib/templates/_labels.tpl");
            let text = std::fs::read_to_string(&tpl).unwrap();
            std::fs::write(&tpl, text.replace("team: blue", "team: green")).unwrap();
        },
    );
    let text = diff(dir.path(), "human");
    assert!(text.starts_with("lib 0.1.0 (version unchanged) (against origin/main)\n"), "{text}");
    assert!(
        text.contains(
            "  note: library chart: renders nothing itself; diffed through the charts that use it: app\n"
        ),
        "{text}"
    );
    assert!(text.contains("app 1.0.0 (version unchanged) (against origin/main)\n"), "{text}");
    let fields: Vec<&str> = text.lines().filter(|l| l.starts_with("        ")).collect();
    assert_eq!(fields, ["        metadata.labels.team: \"blue\" → \"green\""], "{text}");
}

/// Adds `namespace: {{ .Release.Namespace }}` to the Deployment and the claim.
fn name_the_release_namespace(dir: &Path) {
    for file in ["templates/deployment.yaml", "templates/pvc.yaml"] {
        let name = if file.ends_with("pvc.yaml") { "-app-data" } else { "-app" };
        let at = format!("  name: {{{{ .Release.Name }}}}{name}\n");
        edit(dir, file, &at, &format!("{at}  namespace: {{{{ .Release.Namespace }}}}\n"));
    }
}

#[test]
fn a_dropped_release_namespace_still_pairs_the_objects() {
    // The template stops naming the release namespace (helm installs there
    // anyway) and changes the selector: the claim is the same claim, and the
    // selector change is still caught.
    let dir = repo_with(name_the_release_namespace, |d| {
        for file in ["templates/deployment.yaml", "templates/pvc.yaml"] {
            edit(d, file, "  namespace: {{ .Release.Namespace }}\n", "");
        }
        add_selector_label(d);
        version(d, "1.0.1");
    });
    let (code, found) = upgrade_findings(dir.path());
    let rules: Vec<&str> = found.iter().map(|d| d["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["upgrade/immutable-field"], "{found:#?}");
    assert_eq!(code, 1);
}

#[test]
fn a_scenario_new_on_the_branch_is_compared_with_the_old_chart() {
    // The claim only exists with persistence.enabled; the branch adds the ci
    // file that enables it, and renames the claim.
    let dir = repo_with(
        |d| {
            edit(
                d,
                "templates/pvc.yaml",
                "apiVersion: v1\n",
                "{{- if .Values.persistence.enabled }}\napiVersion: v1\n",
            );
            let pvc = d.join("charts/app/templates/pvc.yaml");
            let text = std::fs::read_to_string(&pvc).unwrap();
            std::fs::write(&pvc, format!("{text}{{{{- end }}}}\n")).unwrap();
            edit(d, "values.yaml", "  size: 1Gi", "  enabled: false\n  size: 1Gi");
            edit(
                d,
                "values.schema.json",
                "\"size\": {",
                "\"enabled\": {\n          \"description\": \"Whether to keep data on a claim.\",\n          \"type\": \"boolean\"\n        },\n        \"size\": {",
            );
        },
        |d| {
            std::fs::create_dir_all(d.join("charts/app/ci")).unwrap();
            std::fs::write(
                d.join("charts/app/ci/persistence-values.yaml"),
                "persistence:\n  enabled: true\n",
            )
            .unwrap();
            rename_pvc(d);
            version(d, "1.0.1");
        },
    );
    let (code, found) = upgrade_findings(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule"], "upgrade/renamed-pvc");
    assert_eq!(found[0]["scenarios"], serde_json::json!(["persistence"]));
    assert_eq!(code, 1);
}

#[test]
fn a_target_branch_chart_that_cannot_render_is_a_warning() {
    let dir = repo_with(
        |d| {
            std::fs::write(d.join("charts/app/templates/broken.yaml"), "{{ fail \"the old chart fails\" }}\n")
                .unwrap()
        },
        |d| {
            std::fs::remove_file(d.join("charts/app/templates/broken.yaml")).unwrap();
            version(d, "1.0.1");
        },
    );
    let (code, found) = upgrade_findings(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule"], "upgrade/base-unrendered");
    assert_eq!(found[0]["severity"], "warning");
    let msg = found[0]["message"].as_str().unwrap();
    assert!(msg.contains("origin/main cannot be rendered") && msg.contains("the old chart fails"), "{msg}");
    assert_eq!(code, 0);
}

#[test]
fn an_old_schema_without_a_type_is_judged_by_its_default() {
    // persistence.size named no type on main; its default was a string, and
    // the branch says `string`: nothing users wrote is rejected.
    let dir = repo_with(
        |d| {
            edit(
                d,
                "values.schema.json",
                "\"description\": \"Size of the volume claim.\",\n          \"type\": \"string\",",
                "\"description\": \"Size of the volume claim.\",",
            )
        },
        |d| {
            edit(
                d,
                "values.schema.json",
                "\"description\": \"Size of the volume claim.\",",
                "\"description\": \"Size of the volume claim.\",\n          \"type\": \"string\",",
            );
            version(d, "1.0.1");
        },
    );
    assert_eq!(upgrade_findings(dir.path()), (0, vec![]));
}
