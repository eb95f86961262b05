//! Local dependencies packed without helm (`nex_harness::vendor`) give helm the
//! same chart as `helm dependency update` does: every chart of the catalog with
//! a `file://` dependency is vendored both ways, in two copies of the
//! repository, and every scenario is rendered by the real helm from each.

use nex_harness::helm::{Helm, Major};
use std::path::{Path, PathBuf};

mod support;
use support::{copy_dir, workspace_root};

/// A copy of the catalog's charts (without vendored archives) under `dir`.
fn copy_catalog(dir: &Path) -> PathBuf {
    let charts = dir.join("charts");
    for entry in std::fs::read_dir(workspace_root().join("charts")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &charts.join(entry.file_name()));
            let _ = std::fs::remove_dir_all(charts.join(entry.file_name()).join("charts"));
        }
    }
    charts
}

/// Every values file a chart's scenarios use (`None`: the defaults).
fn scenarios(chart: &Path) -> Vec<Option<PathBuf>> {
    let mut out = vec![None];
    for dir in [chart.join("ci"), chart.join("ci/lint")] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("-values.yaml"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(Some));
    }
    out
}

/// A render with what differs on every run masked: the Secrets' data (made
/// by `randAlphaNum` and bcrypt's salt) and the checksums of Secrets.
fn masked(text: &str) -> String {
    text.split("\n---")
        .map(|doc| {
            let secret = doc.contains("\nkind: Secret\n");
            doc.lines()
                .map(|l| match l.split_once(": ") {
                    Some((key, _)) if secret && key.starts_with("  ") && !key.starts_with("   ") => {
                        format!("{key}: <generated>")
                    }
                    Some((key, _)) if key.trim() == "checksum/secret" => format!("{key}: <generated>"),
                    _ => l.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n---")
}

fn template(helm: &Helm, chart: &Path, values: Option<&Path>) -> String {
    let mut cmd = helm.command();
    cmd.args(["template", "nex"]).arg(chart).args(["--namespace", "nex"]);
    if let Some(v) = values {
        cmd.arg("--values").arg(v);
    }
    let out = cmd.output().expect("run helm template");
    masked(&format!(
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

#[test]
fn packed_dependencies_render_as_helm_vendored_ones() {
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm 4");
    let (by_helm, by_us) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (helm_charts, our_charts) = (copy_catalog(by_helm.path()), copy_catalog(by_us.path()));
    let mut compared = 0;
    let mut names: Vec<String> = std::fs::read_dir(&our_charts)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let (ours, theirs) = (our_charts.join(&name), helm_charts.join(&name));
        let meta = nex_harness::files::read_chart_meta(&ours);
        let deps = meta.local_dependencies(&ours);
        if deps.is_empty() {
            continue;
        }
        assert_eq!(
            nex_harness::vendor::local(&ours, &meta, &deps, false),
            Some(Ok(())),
            "{name}: the catalog's dependencies are the plain case"
        );
        let mut cmd = helm.command();
        cmd.args(["dependency", "update", "--skip-refresh"]).arg(&theirs);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let listing = |dir: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(dir.join("charts"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(listing(&ours), listing(&theirs), "{name}: the same archives in charts/");
        for archive in listing(&ours) {
            let files = |dir: &Path| {
                let bytes = std::fs::read(dir.join("charts").join(&archive)).unwrap();
                let mut v: Vec<(String, Vec<u8>)> = nex_harness::archive::read_entries(&bytes)
                    .unwrap()
                    .into_iter()
                    // helm writes Chart.yaml anew from its parse; its content is compared by the renders.
                    .map(|e| {
                        (e.path.clone(), if e.path.ends_with("/Chart.yaml") { Vec::new() } else { e.data })
                    })
                    .collect();
                v.sort();
                v
            };
            assert!(files(&ours) == files(&theirs), "{name}: {archive} holds other files than helm's");
        }
        for values in scenarios(&ours) {
            let theirs_values = values.as_ref().map(|v| theirs.join(v.strip_prefix(&ours).unwrap()));
            let (a, b) = (
                template(&helm, &ours, values.as_deref()),
                template(&helm, &theirs, theirs_values.as_deref()),
            );
            // Paths in messages name each copy's folder.
            let b = b.replace(&*helm_charts.to_string_lossy(), &our_charts.to_string_lossy());
            assert_eq!(a, b, "{name} {values:?}: the renders differ");
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} scenarios compared");
}
