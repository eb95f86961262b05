//! `cargo xtask package --image-owner OWNER`: the images this repository builds
//! (images/<name>) are pushed as ghcr.io/<owner>/<name> by the release
//! workflow, so a packaged chart must run the image of the owner that released
//! it. A catalog of `common` + `yaldap` + `images/yaldap` is packaged in a
//! temporary folder and the archive rendered with the pinned helm.

mod support;

use std::path::Path;
use support::{copy_dir, workspace_root, xtask_in};

/// A catalog with the library, yaldap and its image folder.
fn catalog() -> tempfile::TempDir {
    let root = workspace_root();
    let tmp = tempfile::tempdir().unwrap();
    for f in ["ct.yaml", "harness.yaml"] {
        std::fs::copy(root.join(f), tmp.path().join(f)).unwrap();
    }
    for dir in ["charts/common", "charts/yaldap", "images/yaldap"] {
        copy_dir(&root.join(dir), &tmp.path().join(dir));
    }
    tmp
}

fn package(dir: &Path, out: &str, owner: Option<&str>) -> std::process::Output {
    let mut cmd = xtask_in(dir);
    cmd.args(["package", "--out", out]);
    if let Some(o) = owner {
        cmd.arg(format!("--image-owner={o}"));
    }
    cmd.env_remove("SOURCE_DATE_EPOCH").output().unwrap()
}

fn archive(dir: &Path, out: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir.join(out))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("yaldap-"))
        .expect("a yaldap archive")
}

fn file_in(tgz: &Path, name: &str) -> String {
    let bytes = std::fs::read(tgz).unwrap();
    let entries = nex_harness::release::archive::read_entries(&bytes).unwrap();
    let e = entries.iter().find(|e| e.path == format!("yaldap/{name}")).unwrap_or_else(|| panic!("{name}"));
    String::from_utf8(e.data.clone()).unwrap()
}

/// The image the packaged chart runs by default.
fn rendered_image(tgz: &Path) -> String {
    let helm =
        nex_harness::helm::Helm::locate(nex_harness::helm::Major::V4, &nex_harness::provision::cache_root())
            .expect("pinned helm");
    let out = helm.command().args(["template", "nex"]).arg(tgz).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let docs = support::documents(&String::from_utf8_lossy(&out.stdout));
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").expect("a Deployment");
    deploy["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap().to_owned()
}

#[test]
fn the_packaged_chart_runs_the_image_of_the_given_owner() {
    let tmp = catalog();
    let dir = tmp.path();
    let run = package(dir, "acme", Some("acme"));
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let tgz = archive(dir, "acme");
    assert_eq!(rendered_image(&tgz), "ghcr.io/acme/yaldap:v0.2.0");
    let chart = file_in(&tgz, "Chart.yaml");
    assert!(
        chart.contains("image: ghcr.io/acme/yaldap:v0.2.0") && !chart.contains("ghcr.io/nex-charts/"),
        "{chart}"
    );
    let readme = file_in(&tgz, "README.md");
    assert!(!readme.contains("ghcr.io/nex-charts/yaldap"), "{readme}");
    // The chart repository alias and the source repository are not image names.
    assert!(
        readme.contains("nex-charts/yaldap --version") && readme.contains("github.com/nex-charts/nex-charts")
    );

    // No owner, or the one the charts name in git: the archive is what git holds, byte for byte.
    let plain = package(dir, "plain", None);
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    let same = package(dir, "same", Some("nex-charts"));
    assert!(same.status.success(), "{}", String::from_utf8_lossy(&same.stderr));
    let (p, s) = (archive(dir, "plain"), archive(dir, "same"));
    assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&s).unwrap());
    assert_eq!(rendered_image(&p), "ghcr.io/nex-charts/yaldap:v0.2.0");
    // The library has no image of ours: its archive does not change with the owner.
    let lib = |out: &str| {
        std::fs::read_dir(dir.join(out))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("common-"))
            .map(|p| std::fs::read(p).unwrap())
    };
    assert_eq!(lib("acme"), lib("plain"));
}

#[test]
fn a_bad_owner_is_a_usage_error_and_a_pinned_digest_is_refused() {
    let tmp = catalog();
    let dir = tmp.path();
    for bad in ["Acme", "-acme", "a/b"] {
        let run = package(dir, "dist", Some(bad));
        assert_eq!(run.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&run.stderr).contains("--image-owner"), "{bad}");
        assert!(!dir.join("dist").join("index.yaml").exists(), "{bad}: nothing is written");
    }
    // A digest pinned for nex-charts' image is not in another owner's registry.
    let values = dir.join("charts/yaldap/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    let pinned = format!("sha256:{}", "a".repeat(64));
    assert!(text.contains("  digest: \"\"\n"));
    std::fs::write(&values, text.replacen("  digest: \"\"\n", &format!("  digest: \"{pinned}\"\n"), 1))
        .unwrap();
    let run = package(dir, "dist", Some("acme"));
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains(&pinned) && err.contains("ghcr.io/acme/yaldap"), "{err}");
    assert!(!dir.join("dist").join("index.yaml").exists(), "nothing is written");
    // Under its own owner the pin holds.
    assert!(package(dir, "dist", Some("nex-charts")).status.success());
}

/// The release packages with the owner its `images` job pushed under: both take
/// the workflow's repository owner, lower-cased.
#[test]
fn the_release_packages_with_the_owner_it_pushed_the_images_under() {
    let root = workspace_root();
    let workflow = std::fs::read_to_string(root.join(".github/workflows/release.yaml")).unwrap();
    let step = workflow
        .split("- name: ")
        .find(|s| s.starts_with("cargo xtask package"))
        .expect("the release's package step");
    assert!(step.contains("OWNER: ${{ github.repository_owner }}"), "{step}");
    assert!(step.contains("--image-owner \"${OWNER,,}\""), "{step}");
    let publish = std::fs::read_to_string(root.join(".github/scripts/publish-catalog-image")).unwrap();
    assert!(publish.contains("owner=\"${GITHUB_REPOSITORY_OWNER,,}\""), "publish-catalog-image's owner");
    assert!(publish.contains("ref=\"ghcr.io/$owner/$IMAGE:$version\""), "publish-catalog-image's reference");
    assert_eq!(nex_harness::release::image_owner::catalog_images(&root), ["yaldap"]);
}
