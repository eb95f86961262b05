//! Snapshot tests of the real catalog: every chart × scenario of `charts/`
//! rendered with the pinned Helm 4 (release `nex`, namespace `nex`, the newest
//! Kubernetes of the chart's matrix) and held against its reviewed snapshot in
//! `charts/<chart>/snapshots/<scenario>.snap`. Helm 3 must render the same.
//!
//! With `CI=true` a missing or stale snapshot fails and nothing is written
//! (insta's `auto` mode). Locally a changed render is written beside the
//! snapshot as `.snap.new`; accept with `cargo insta review`, or without
//! cargo-insta: `INSTA_UPDATE=always cargo test --test snapshots`.

use nex_harness::cache::{self, Cache};
use nex_harness::catalog::{Chart, Scenario};
use nex_harness::helm::{Helm, Major};
use nex_harness::manifest::{self, Object};
use nex_harness::render::{self, RenderInputs};
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn meta(chart: &Chart) -> serde_json::Value {
    let text = std::fs::read_to_string(chart.dir.join("Chart.yaml")).unwrap_or_default();
    serde_saphyr::from_str(&text).unwrap_or_default()
}

/// The masked snapshot text of one scenario under one helm, or why there is none.
fn render_text(
    helm: &Helm,
    cache: &Cache,
    chart: &Chart,
    scenario: &Scenario,
    kube: &str,
) -> Result<String, String> {
    let meta = nex_harness::files::read_chart_meta(&chart.dir);
    nex_harness::deps::ensure(chart, &meta, helm).map_err(|e| format!("cannot vendor dependencies: {e}"))?;
    let fingerprint = cache::chart_fingerprint(&chart.dir);
    let inputs = RenderInputs { chart_dir: &chart.dir, meta: &meta, fingerprint: &fingerprint, helm, cache };
    let values = scenario.values_file.as_deref();
    let out = render::template(&inputs, values, Some(kube))?;
    if !out.success {
        return Err(format!("helm {} template failed:\n{}", helm.version, out.stderr));
    }
    let (mut objects, errors) = manifest::split(&out.stdout);
    if let Some(e) = errors.first() {
        return Err(format!("rendered YAML does not parse: {e:?}"));
    }
    if uses_randomness(chart) && objects.iter().any(may_be_random) {
        // A second, uncached render: whatever differs is random and must be masked.
        let again = helm.template(&chart.dir, values, Some(kube), &[]).map_err(|e| e.to_string())?;
        let (other, _) = manifest::split(&String::from_utf8_lossy(&again.stdout));
        nex_harness::snapshot::mask(&mut objects, &other).map_err(|paths| {
            format!("values differ between two renders and are not masked: {}", paths.join(", "))
        })?;
    }
    Ok(nex_harness::snapshot::text(&objects))
}

/// Functions whose output changes from one render to the next: the engine's
/// generators (not `lookup`, which `helm template` answers with nothing, always),
/// the clock, and `shuffle`.
fn random_functions() -> impl Iterator<Item = &'static str> {
    nex_harness::checks::secret_keep::GENERATORS
        .iter()
        .copied()
        .filter(|f| *f != "lookup")
        .chain(["now", "shuffle"])
}

/// Whether the chart's templates (or its local dependencies') call a random function.
fn uses_randomness(chart: &Chart) -> bool {
    let mut dirs = vec![chart.dir.join("templates")];
    dirs.extend(
        nex_harness::deps::local_dependencies(&chart.dir).into_iter().map(|(_, d)| d.join("templates")),
    );
    dirs.iter().flat_map(|d| walkdir::WalkDir::new(d).into_iter().flatten()).any(|e| {
        std::fs::read_to_string(e.path()).is_ok_and(|t| {
            random_functions().any(|f| t.split(|c: char| !c.is_alphanumeric()).any(|w| w == f))
        })
    })
}

fn may_be_random(o: &Object) -> bool {
    o.kind() == "Secret" || o.value.to_string().contains("\"checksum/")
}

#[test]
fn every_chart_and_scenario_matches_its_snapshot_under_helm_4_and_helm_3() {
    let root = workspace();
    let config = nex_harness::config::CtConfig::load(&root).expect("ct.yaml");
    let charts = nex_harness::catalog::discover(&root, &config).expect("catalog");
    assert!(!charts.is_empty(), "the catalog has no charts");
    let cache_root = nex_harness::provision::cache_root();
    let cache = Cache::new(&cache_root);
    let helm4 = Helm::locate(Major::V4, &cache_root).expect("helm 4");
    let helm3 = Helm::locate(Major::V3, &cache_root).expect("helm 3");

    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0;
    for chart in &charts {
        let meta = meta(chart);
        let snap_dir = chart.dir.join("snapshots");
        let scenarios: BTreeSet<&str> = chart.scenarios.iter().map(|s| s.name.as_str()).collect();
        // A snapshot whose scenario is gone would otherwise rot silently.
        for entry in std::fs::read_dir(&snap_dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".snap")
                && (!scenarios.contains(stem) || meta["type"] == "library")
            {
                failures.push(format!(
                    "{}: snapshot {name} has no scenario (no ci/{stem}-values.yaml); delete it",
                    chart.name
                ));
            }
        }
        if meta["type"] == "library" {
            continue;
        }
        let versions = nex_harness::kube::versions::matrix(meta["kubeVersion"].as_str()).unwrap_or_default();
        let Some(kube) = versions.last() else {
            failures.push(format!("{}: kubeVersion allows no known Kubernetes version", chart.name));
            continue;
        };
        for scenario in &chart.scenarios {
            let label = format!("{} / {}", chart.name, scenario.name);
            let text4 = match render_text(&helm4, &cache, chart, scenario, kube) {
                Ok(t) => t,
                Err(e) => {
                    failures.push(format!("{label}: {e}"));
                    continue;
                }
            };
            match render_text(&helm3, &cache, chart, scenario, kube) {
                Ok(t3) if t3 == text4 => {}
                Ok(t3) => failures.push(format!(
                    "{label}: Helm 3 renders differently from Helm 4:\n{}",
                    similar::TextDiff::from_lines(&text4, &t3).unified_diff().header("helm 4", "helm 3")
                )),
                Err(e) => failures.push(format!("{label}: {e}")),
            }
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(&snap_dir);
            settings.set_prepend_module_to_snapshot(false);
            settings.set_omit_expression(true);
            settings.set_description(format!(
                "helm template nex charts/{} --namespace nex --kube-version {kube}{}",
                chart.name,
                scenario
                    .values_file
                    .as_ref()
                    .map(|f| format!(" --values {}", f.strip_prefix(&chart.dir).unwrap_or(f).display()))
                    .unwrap_or_default()
            ));
            let name = scenario.name.clone();
            let result = catch_unwind(AssertUnwindSafe(|| {
                settings.bind(|| insta::assert_snapshot!(name, text4));
            }));
            if result.is_err() {
                failures.push(format!(
                    "{label}: snapshot {} is missing or stale",
                    snap_dir.join(format!("{}.snap", scenario.name)).display()
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} snapshots failed:\n{}\n\nReview the .snap.new files and accept with `cargo insta review` \
         or `INSTA_UPDATE=always cargo test --test snapshots`.",
        failures.len(),
        failures.join("\n")
    );
}
