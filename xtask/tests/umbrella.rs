//! Helm template names are global across a release's charts: an umbrella chart
//! holding one of ours beside a chart on a Bitnami-style `common` library must
//! render both as each renders alone. And no helper in `charts/` is defined
//! outside the `nex-charts.` prefix.
//!
//! The umbrella is built with the real pinned helm (`helm dependency build` of
//! file:// dependencies, then `helm template`), under Helm 4 and Helm 3, from
//! `xtask/tests/fixtures/umbrella` and a temporary copy of the real
//! `charts/glance` and `charts/common`.

use serde_json::Value;
use std::path::Path;

use nex_harness::helm::{Helm, Major};

mod support;
use support::copy_dir;

use support::{documents, workspace_root as root};

fn helm_ok(helm: &Helm, args: &[&str], dir: &Path) -> String {
    let out = helm.command().args(args).current_dir(dir).output().expect("run helm");
    assert!(out.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A chart folder without what the harness vendors or keeps beside it.
fn copy_chart(from: &Path, to: &Path) {
    copy_dir(from, to);
    for generated in ["charts", "snapshots", "Chart.lock"] {
        let p = to.join(generated);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else if p.is_file() {
            std::fs::remove_file(&p).unwrap();
        }
    }
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in the render"))
}

#[test]
fn our_chart_and_a_bitnami_style_chart_render_side_by_side_as_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    copy_chart(&root().join("charts/common"), &t.join("catalog/charts/common"));
    copy_chart(&root().join("charts/glance"), &t.join("catalog/charts/glance"));
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/umbrella"), t);

    let cache = nex_harness::provision::cache_root();
    for major in [Major::V4, Major::V3] {
        let helm = Helm::locate(major, &cache).expect("pinned helm");
        for chart in ["catalog/charts/glance", "shop", "homelab"] {
            helm_ok(&helm, &["dependency", "build", chart], t);
        }
        let render =
            |chart: &str| documents(&helm_ok(&helm, &["template", "rel", chart, "--namespace", "apps"], t));
        let umbrella = render("homelab");
        let glance_alone = render("catalog/charts/glance");

        // Every object glance renders alone, it renders identically in the umbrella.
        assert!(glance_alone.len() > 4);
        for object in &glance_alone {
            let kind = object["kind"].as_str().unwrap_or_default();
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            assert_eq!(
                named(&umbrella, kind, name),
                object,
                "{major:?}: {kind}/{name} differs in the umbrella"
            );
        }
        // Spelled out: our names, labels and image, not the other library's.
        let deployment = named(&umbrella, "Deployment", "rel-glance");
        assert_eq!(deployment["metadata"]["labels"]["app.kubernetes.io/name"], "glance");
        assert!(deployment["metadata"]["labels"].get("shop.example.org/library").is_none());
        let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap();
        assert!(image.starts_with("glanceapp/glance:v"), "{image}");

        // The other chart gets its own library's helpers: "<name>-<release>",
        // "<registry>/<repository>:<tag>", its own label, the umbrella's labels.
        let shop = named(&umbrella, "Deployment", "shop-rel");
        let labels = &shop["metadata"]["labels"];
        assert_eq!(labels["shop.example.org/library"], "shop-common");
        assert_eq!(labels["team"], "shop");
        assert_eq!(
            shop["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example.org/shop/api:1.2.3"
        );
    }
}

/// `{{ define "NAME" }}` / `{{- define "NAME" -}}` in a template file.
fn defined_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("define \"") {
        let after = &rest[at + "define \"".len()..];
        let before = rest[..at].trim_end();
        if (before.ends_with("{{") || before.ends_with("{{-"))
            && let Some(end) = after.find('"')
        {
            names.push(after[..end].to_owned());
        }
        rest = after;
    }
    names
}

#[test]
fn every_helper_in_charts_is_under_the_nex_charts_prefix() {
    let charts = root().join("charts");
    let mut checked = 0;
    for chart in std::fs::read_dir(&charts).unwrap() {
        let chart = chart.unwrap().path();
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let templates = chart.join("templates");
        // `charts/<chart>/charts/` holds vendored copies of the library: checked at their source.
        for entry in
            walkdir::WalkDir::new(&templates).into_iter().flatten().filter(|e| e.file_type().is_file())
        {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            for helper in defined_names(&text) {
                let own = format!("nex-charts.{name}.");
                // A chart's own helpers under its name; only the library defines `nex-charts.common.*`.
                assert!(
                    helper.starts_with(&own),
                    "{}: helper {helper:?} is not under {own:?}",
                    entry.path().display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} helpers found: is the scan reading the templates?");
    // The scan itself finds a stray name.
    assert_eq!(
        defined_names("{{- define \"common.names.fullname\" -}}x{{ end }}"),
        vec!["common.names.fullname"]
    );
    assert_eq!(defined_names("{{/* define \"not.a.helper\" */}}"), Vec::<String>::new());
}
