//! Generated docs: README snapshots of fixture charts, and `cargo xtask docs`,
//! `docs --check` and the `docs/stale` lint rule end to end.

use nex_harness::catalog;
use nex_harness::docs::{self, Sources};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

mod support;
use support::{copy_dir, xtask};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A private copy of a fixture catalog, so commands may write to it.
fn copy_of(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(name), tmp.path());
    tmp
}

/// Every file under `root` (relative path → bytes).
fn tree(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(root).unwrap().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn readme_of(chart: &str) -> String {
    let chart = catalog::load(&fixture("docs/charts").join(chart));
    let sources = Sources::read(&chart).unwrap();
    let existing = docs::read_readme(&chart.dir.join(docs::README)).unwrap();
    docs::chart_readme(&sources, existing.as_deref()).unwrap()
}

#[test]
fn readme_of_a_chart_using_every_section() {
    insta::assert_snapshot!(readme_of("full"));
}

#[test]
fn readme_of_a_library_chart_has_no_install_or_values() {
    let readme = readme_of("lib");
    assert!(!readme.contains("helm install") && !readme.contains("## Values"));
    insta::assert_snapshot!(readme);
}

#[test]
fn readme_of_a_chart_without_schema_lists_values_yaml() {
    insta::assert_snapshot!(readme_of("bare"));
}

const MANUAL: &str = "\n## Notes\n\nKept **byte for byte**,   trailing spaces too.   \n| even | a table |\n";

#[test]
fn docs_writes_readmes_keeps_the_manual_section_and_then_has_nothing_to_do() {
    let tmp = copy_of("docs");
    let root = tmp.path();
    let before = tree(root);
    xtask()
        .current_dir(root)
        .arg("docs")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("updated charts/full/README.md"))
        .stdout(predicate::str::contains("created charts/lib/README.md"))
        .stdout(predicate::str::contains("updated README.md"))
        .stdout(predicate::str::contains("4 written, 0 up to date"));

    // Only READMEs were written: every other file is as it was, and nothing was added but them.
    let after = tree(root);
    for (path, text) in &after {
        if !path.ends_with("README.md") {
            assert_eq!(before.get(path), Some(text), "{} changed", path.display());
        }
    }
    let added: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert_eq!(added, [Path::new("charts/bare/README.md"), Path::new("charts/lib/README.md")]);

    let full = std::fs::read_to_string(root.join("charts/full/README.md")).unwrap();
    let manual = format!("{}{MANUAL}{}", docs::MANUAL_START, docs::MANUAL_END);
    assert!(full.contains(&manual), "manual section changed:\n{full}");
    assert!(!full.contains("(stale)"));

    let top = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(top.starts_with("# fixture catalog\n\nHand-written text before the table.\n"));
    assert!(top.ends_with("<!-- nex-charts:catalog:end -->\n\nHand-written text after the table.\n"));
    assert!(!top.contains("| stale | table |"));
    insta::assert_snapshot!("catalog_readme", top);

    // A second run finds everything current and writes nothing.
    xtask()
        .current_dir(root)
        .arg("docs")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 written, 4 up to date"));
    xtask().current_dir(root).args(["docs", "--check"]).assert().code(0);
    let leftovers: Vec<_> = walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".README.md."))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");
}

#[test]
fn docs_check_prints_a_diff_exits_1_and_writes_nothing() {
    let tmp = copy_of("docs");
    let root = tmp.path();
    xtask().current_dir(root).arg("docs").assert().code(0);
    let chart_yaml = root.join("charts/bare/Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    std::fs::write(&chart_yaml, text.replace("but no schema.", "and a new description.")).unwrap();
    let before = std::fs::read_to_string(root.join("charts/bare/README.md")).unwrap();

    xtask()
        .current_dir(root)
        .args(["docs", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("--- a/charts/bare/README.md"))
        .stdout(predicate::str::contains("-A fixture chart with values but no schema."))
        .stdout(predicate::str::contains("+A fixture chart with values and a new description."))
        // The catalog table shows the description too.
        .stdout(predicate::str::contains("+++ b/README.md"))
        .stdout(predicate::str::contains("2 of 4 READMEs stale"));
    assert_eq!(std::fs::read_to_string(root.join("charts/bare/README.md")).unwrap(), before);
}

#[test]
fn docs_of_a_broken_chart_names_the_file_and_still_does_the_others() {
    let tmp = copy_of("docs");
    let root = tmp.path();
    std::fs::write(root.join("charts/bare/values.yaml"), "replicas: [1,\n").unwrap();
    xtask()
        .current_dir(root)
        .arg("docs")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error: charts/bare/values.yaml:1:14: invalid YAML"))
        .stdout(predicate::str::contains("created charts/lib/README.md"));
    assert!(!root.join("charts/bare/README.md").exists());
}

#[test]
fn a_lone_manual_marker_is_refused_and_the_readme_left_alone() {
    let tmp = copy_of("docs");
    let root = tmp.path();
    let readme = root.join("charts/full/README.md");
    let broken = format!("# full\n{}\nnotes without an end\n", docs::MANUAL_START);
    std::fs::write(&readme, &broken).unwrap();
    xtask()
        .current_dir(root)
        .args(["docs", "full"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("charts/full/README.md: <!-- nex-charts:manual:start --> without"));
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), broken);
}

/// Lint's output over a fixture copy (its exit code depends on every other check too).
fn lint(root: &Path, args: &[&str]) -> String {
    let out = xtask().current_dir(root).arg("lint").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_stale_readme_fails_lint_naming_the_file() {
    let tmp = copy_of("good");
    let root = tmp.path();
    xtask().current_dir(root).arg("docs").assert().code(0);
    let fresh = lint(root, &[]);
    assert!(!fresh.contains("docs/stale"), "{fresh}");

    let chart_yaml = root.join("charts/tiny/Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    std::fs::write(&chart_yaml, text.replace("A valid fixture chart.", "A changed description.")).unwrap();
    let out = xtask().current_dir(root).arg("lint").assert().code(1).get_output().stdout.clone();
    let stale = String::from_utf8_lossy(&out);
    assert!(stale.contains("error[docs/stale]: README.md is stale"), "{stale}");
    assert!(stale.contains("--> charts/tiny/README.md:6:1"), "{stale}");
    assert!(
        stale.contains("-A valid fixture chart.") && stale.contains("+A changed description."),
        "{stale}"
    );
}

#[test]
fn a_missing_readme_is_left_to_docs_check() {
    let tmp = copy_of("good");
    let root = tmp.path();
    let out = lint(root, &[]);
    assert!(!out.contains("docs/stale"), "{out}");
    xtask()
        .current_dir(root)
        .args(["docs", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("charts/tiny/README.md is missing"));
}

#[test]
fn a_stale_catalog_table_fails_lint_of_the_whole_catalog_only() {
    let tmp = copy_of("good");
    let root = tmp.path();
    let top = format!("# c\n\n{}\n{}\n", docs::CATALOG_START, docs::CATALOG_END);
    std::fs::write(root.join("README.md"), &top).unwrap();
    let out = xtask().current_dir(root).arg("lint").assert().code(1).get_output().stdout.clone();
    let stale = String::from_utf8_lossy(&out);
    assert!(stale.contains("── catalog"), "{stale}");
    assert!(stale.contains("error[docs/stale]: README.md's catalog table is stale"), "{stale}");
    assert!(
        stale.contains("+| [tiny](charts/tiny) | `0.1.0` | `1.0.0` | A valid fixture chart. |"),
        "{stale}"
    );
    // Naming charts narrows the run to them; the table is not judged.
    assert!(!lint(root, &["tiny"]).contains("docs/stale"));
    xtask()
        .current_dir(root)
        .arg("docs")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("updated README.md"));
    assert!(!lint(root, &[]).contains("docs/stale"));
}

/// The catalog's own READMEs are current: this is what keeps a chart from
/// shipping without its README, or with one that no longer says what it does.
#[test]
fn the_catalog_readmes_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    xtask().current_dir(root).args(["docs", "--check"]).assert().code(0);
}

#[test]
fn docs_and_new_have_help() {
    for sub in ["docs", "new"] {
        xtask()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: cargo xtask"));
    }
}

#[test]
fn new_refuses_a_bad_name_and_writes_nothing() {
    let tmp = copy_of("good");
    let root = tmp.path();
    for bad in ["Demo", "demo_app", "-demo", "demo-", "a--b", "../escape"] {
        xtask()
            .current_dir(root)
            .args(["new", "--", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("`{bad}` is not a valid chart name")));
    }
    let charts: Vec<_> =
        std::fs::read_dir(root.join("charts")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(charts, ["tiny"]);
    assert!(!root.join("escape").exists());
}

#[test]
fn new_refuses_an_existing_folder_and_leaves_it_alone() {
    let tmp = copy_of("good");
    let root = tmp.path();
    let before = std::fs::read_to_string(root.join("charts/tiny/Chart.yaml")).unwrap();
    xtask()
        .current_dir(root)
        .args(["new", "tiny"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("charts/tiny already exists; nothing was written"));
    assert_eq!(std::fs::read_to_string(root.join("charts/tiny/Chart.yaml")).unwrap(), before);
}

/// `new` follows the real library: a temp catalog holds the repository's
/// `charts/common`, its configuration and `schemas/`; the new chart must lint with no error.
#[test]
fn a_new_chart_lints_clean_and_its_readme_is_current() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // ct.yaml and the files it names beside it (lintconf.yaml, chart_schema.yaml).
    for entry in std::fs::read_dir(repo).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            std::fs::copy(entry.path(), root.join(&name)).unwrap();
        }
    }
    copy_dir(&repo.join("schemas"), &root.join("schemas"));
    copy_dir(&repo.join("charts/common"), &root.join("charts/common"));
    let _ = std::fs::remove_dir_all(root.join("charts/common/charts"));

    xtask()
        .current_dir(root)
        .args(["new", "demo-app"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("created charts/demo-app/values.schema.json"))
        .stdout(predicate::str::contains("created charts/demo-app/templates/tests/test-http.yaml"));
    for file in [".helmignore", "ci/lint/route-values.yaml", "templates/NOTES.txt", "README.md"] {
        assert!(root.join("charts/demo-app").join(file).is_file(), "{file} missing");
    }
    let helmignore = std::fs::read_to_string(root.join("charts/demo-app/.helmignore")).unwrap();
    assert!(helmignore.lines().any(|l| l == "snapshots/"));

    let out = xtask().current_dir(root).args(["lint", "--format", "json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<_> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error" && d["allowed"].is_null())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Images pinned by digest like the catalog's charts; the one warning left is the
    // catalog's too: it ships no Gateway API CRD to validate the route scenario's HTTPRoute.
    let warnings: Vec<_> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["chart"] == "demo-app" && d["rule"] != "kube/unknown-kind")
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
    assert_eq!(out.status.code(), Some(0));
    // The catalog supports both Helm majors.
    xtask().current_dir(root).args(["--helm", "3", "lint", "demo-app"]).assert().code(0);
    xtask().current_dir(root).args(["docs", "--check"]).assert().code(0);
}

#[test]
fn new_without_the_library_says_so_and_writes_nothing() {
    let tmp = copy_of("good");
    let root = tmp.path();
    xtask()
        .current_dir(root)
        .args(["new", "demo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no `common` library chart in the catalog"));
    assert!(!root.join("charts/demo").exists());
}

#[test]
fn generated_text_cannot_forge_a_marker() {
    let tmp = copy_of("docs");
    let root = tmp.path();
    xtask().current_dir(root).arg("docs").assert().code(0);
    let readme = root.join("charts/full/README.md");
    let before = std::fs::read_to_string(&readme).unwrap();
    let top_before = std::fs::read_to_string(root.join("README.md")).unwrap();
    // A description holding every marker, on lines of its own (a folded block keeps them apart).
    let chart_yaml = root.join("charts/full/Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    let forged = format!(
        "description: |\n  Forged.\n  {}\n  {}\n  {}\n  {}\n",
        docs::MANUAL_START,
        docs::MANUAL_END,
        docs::CATALOG_START,
        docs::CATALOG_END
    );
    let text: String = text
        .lines()
        .map(|l| if l.starts_with("description:") { forged.clone() } else { format!("{l}\n") })
        .collect();
    std::fs::write(&chart_yaml, text).unwrap();
    for _ in 0..3 {
        xtask().current_dir(root).arg("docs").assert().code(0);
    }
    let after = std::fs::read_to_string(&readme).unwrap();
    let manual = format!("{}{MANUAL}{}", docs::MANUAL_START, docs::MANUAL_END);
    assert!(before.contains(&manual) && after.contains(&manual), "manual section lost:\n{after}");
    assert_eq!(after.matches(docs::MANUAL_START).count(), 1, "{after}");
    let top = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert_eq!(top.matches(docs::CATALOG_END).count(), 1, "{top}");
    assert_eq!(top.lines().count(), top_before.lines().count(), "the table was appended again:\n{top}");
    xtask().current_dir(root).args(["docs", "--check"]).assert().code(0);
}

#[test]
fn docs_writes_every_writable_readme_and_names_the_unwritable_one() {
    let tmp = copy_of("docs");
    let root = tmp.path();
    let full = root.join("charts/full");
    let before = std::fs::read_to_string(full.join("README.md")).unwrap();
    let out = support::read_only(&[&full], root, &["docs"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("cannot write charts/full/README.md"), "{stderr}");
    // The others were still written.
    assert!(stdout.contains("created charts/lib/README.md"), "{stdout}");
    assert!(root.join("charts/bare/README.md").is_file());
    assert_eq!(std::fs::read_to_string(full.join("README.md")).unwrap(), before);
}
