//! What a warm lint reads (issue 26): linting one named chart touches that
//! chart, its `file://` dependencies, the settings and the cache, and no other
//! chart, CRD folder, lock or kind fixture; catalog-wide inputs it does not read are still
//! noticed when they change. The reads are the harness's own record
//! (`NEX_TRACE_READS`), not a system-call trace.

mod support;

use std::path::{Path, PathBuf};

/// A catalog of three charts (`shop` on the `file://` library `shop-common`,
/// and `tiny`), a CRD folder and an image lock.
fn catalog() -> tempfile::TempDir {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(t.join("ct.yaml"), "chart-dirs:\n  - charts\n").unwrap();
    support::copy_dir(&fixtures.join("umbrella/shop"), &t.join("charts/shop"));
    support::copy_dir(&fixtures.join("umbrella/shop-common"), &t.join("charts/shop-common"));
    support::copy_dir(&fixtures.join("good/charts/tiny"), &t.join("charts/tiny"));
    let crd = "schemas/crds/traefik/traefik.io_tlsstores.yaml";
    std::fs::create_dir_all(t.join("schemas/crds")).unwrap();
    std::fs::copy(support::workspace_root().join(crd), t.join("schemas/crds/tlsstores.yaml")).unwrap();
    std::fs::copy(support::workspace_root().join("images.lock.yaml"), t.join("images.lock.yaml")).unwrap();
    let kind = t.join(".github/kind/ct-fixtures");
    std::fs::create_dir_all(&kind).unwrap();
    std::fs::write(kind.join("secret.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shop-db\n")
        .unwrap();
    tmp
}

/// `lint ARGS` with the cache at `cache`; the files it read, and its JSON report.
fn lint(cat: &Path, cache: &Path, args: &[&str]) -> (Vec<PathBuf>, serde_json::Value) {
    let trace = cat.join("reads.txt");
    let _ = std::fs::remove_file(&trace);
    let out = support::xtask_in(cat)
        .args(["lint", "--format", "json"])
        .args(args)
        .env("NEX_CACHE_DIR", cache)
        .env("NEX_TRACE_READS", &trace)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&out.stderr));
    let reads = std::fs::read_to_string(&trace).unwrap_or_default().lines().map(PathBuf::from).collect();
    (reads, serde_json::from_slice(&out.stdout).expect("JSON report"))
}

fn rules(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["rule"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_warm_named_chart_reads_that_chart_its_dependencies_the_settings_and_the_cache_only() {
    let cat = catalog();
    let root = cat.path().canonicalize().unwrap();
    let cache = support::private_cache(&support::workspace_root());
    let cache_dir = cache.path().canonicalize().unwrap();
    let (cold, _) = lint(&root, &cache_dir, &["charts/shop"]);
    assert!(
        cold.iter().any(|p| p.starts_with(root.join("schemas/crds"))),
        "a cold run reads the CRDs: {cold:#?}"
    );
    // The cache keeps what a file's stamp stands for only once it is a few
    // seconds old (a write in the same clock tick would go unseen otherwise).
    std::thread::sleep(std::time::Duration::from_millis(4100));
    lint(&root, &cache_dir, &["charts/shop"]);
    let (warm, report) = lint(&root, &cache_dir, &["charts/shop"]);

    let allowed = |p: &Path| {
        p.starts_with(root.join("charts/shop/"))
            || p.starts_with(root.join("charts/shop-common/"))
            || p.starts_with(&cache_dir)
            || ["ct.yaml", "harness.yaml"].iter().any(|s| p == root.join(s))
    };
    let strays: Vec<&PathBuf> = warm.iter().filter(|p| !allowed(p)).collect();
    assert!(strays.is_empty(), "a warm named run read {strays:#?}");
    assert!(warm.contains(&root.join("charts/shop/Chart.yaml")), "{warm:#?}");
    assert!(warm.iter().any(|p| p.starts_with(&cache_dir)), "{warm:#?}");
    let clean = rules(&report);

    // Not read is not unseen: a broken CRD file and a broken lock are reported.
    std::fs::write(root.join("schemas/crds/broken.yaml"), "kind: [\n").unwrap();
    let (_, report) = lint(&root, &cache_dir, &["charts/shop"]);
    assert!(rules(&report).contains(&"kube/crd".to_owned()), "{report:#}");
    std::fs::remove_file(root.join("schemas/crds/broken.yaml")).unwrap();
    std::fs::write(root.join("images.lock.yaml"), "version: [\n").unwrap();
    let (_, report) = lint(&root, &cache_dir, &["charts/shop"]);
    assert!(rules(&report).contains(&"image/lock".to_owned()), "{report:#}");
    std::fs::copy(support::workspace_root().join("images.lock.yaml"), root.join("images.lock.yaml")).unwrap();
    assert_eq!(rules(&lint(&root, &cache_dir, &["charts/shop"]).1), clean);
    // Nor a broken kind fixture: the run stops, naming it.
    let fixture = root.join(".github/kind/ct-fixtures/secret.yaml");
    std::fs::write(&fixture, "kind: Secret\n").unwrap();
    let out = support::xtask_in(&root)
        .args(["lint", "charts/shop"])
        .env("NEX_CACHE_DIR", &cache_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secret.yaml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
