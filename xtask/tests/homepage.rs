//! homepage: where each config file under /app/config comes from. With
//! `existingConfigMap` the user's ConfigMap holds the seven files they write
//! (settings.yaml … custom.js); kubernetes.yaml still comes from `kubernetes`,
//! so it always agrees with the RBAC the chart grants (`kubernetes.enabled`).

mod support;

use nex_harness::helm::{Helm, Major};
use serde_json::Value;
use std::collections::BTreeMap;

fn render(sets: &[&str]) -> Vec<Value> {
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm 4");
    let dir = support::workspace_root().join("charts/homepage");
    let meta = nex_harness::files::read_chart_meta(&dir);
    nex_harness::deps::ensure(&nex_harness::catalog::load(&dir), &meta, &helm).expect("vendor the library");
    let mut cmd = helm.command();
    cmd.args(["template", "nex"]).arg(&dir).args(["--namespace", "nex"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().expect("run helm");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    support::documents(&String::from_utf8_lossy(&out.stdout))
}

/// Each file under /app/config → (ConfigMap name, key) it is mounted from.
fn config_files(objects: &[Value]) -> BTreeMap<String, (String, String)> {
    let deploy = objects.iter().find(|o| o["kind"] == "Deployment").expect("a Deployment");
    let spec = &deploy["spec"]["template"]["spec"];
    let volumes: BTreeMap<&str, &Value> =
        spec["volumes"].as_array().unwrap().iter().map(|v| (v["name"].as_str().unwrap(), v)).collect();
    let mut out = BTreeMap::new();
    for m in spec["containers"][0]["volumeMounts"].as_array().unwrap() {
        let path = m["mountPath"].as_str().unwrap();
        let Some(file) = path.strip_prefix("/app/config/") else { continue };
        let volume = volumes[m["name"].as_str().unwrap()];
        let cm = volume["configMap"]["name"].as_str().expect("a configMap volume").to_owned();
        out.insert(file.to_owned(), (cm, m["subPath"].as_str().unwrap_or(file).to_owned()));
    }
    out
}

fn config_map<'a>(objects: &'a [Value], name: &str) -> Option<&'a Value> {
    objects.iter().find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
}

#[test]
fn without_existing_config_map_every_file_comes_from_the_charts_config_map() {
    let objects = render(&[]);
    let files = config_files(&objects);
    assert_eq!(files.len(), 8, "{files:?}");
    assert!(files.values().all(|(cm, _)| cm == "nex-homepage"), "{files:?}");
    let cm = config_map(&objects, "nex-homepage").expect("the chart's ConfigMap");
    assert_eq!(cm["data"]["kubernetes.yaml"], "mode: disabled");
}

#[test]
fn with_existing_config_map_kubernetes_yaml_still_comes_from_the_kubernetes_values() {
    for (sets, mode) in [
        (&["existingConfigMap=mine"][..], "disabled"),
        (&["existingConfigMap=mine", "kubernetes.enabled=true"][..], "cluster"),
    ] {
        let objects = render(sets);
        let files = config_files(&objects);
        let theirs: Vec<&String> = files.iter().filter(|(_, (cm, _))| cm == "mine").map(|(f, _)| f).collect();
        assert_eq!(
            theirs,
            [
                "bookmarks.yaml",
                "custom.css",
                "custom.js",
                "docker.yaml",
                "services.yaml",
                "settings.yaml",
                "widgets.yaml"
            ],
            "{sets:?}: {files:?}"
        );
        let (cm, key) = &files["kubernetes.yaml"];
        assert_ne!(cm, "mine", "{sets:?}: kubernetes.yaml is mounted from the user's ConfigMap");
        let ours = config_map(&objects, cm).unwrap_or_else(|| panic!("{sets:?}: no ConfigMap {cm} rendered"));
        let text = ours["data"][key.as_str()].as_str().expect("kubernetes.yaml");
        assert!(text.contains(&format!("mode: {mode}")), "{sets:?}: {text}");
        // Only kubernetes.yaml: the rest is the user's.
        assert_eq!(ours["data"].as_object().unwrap().len(), 1, "{ours}");
    }
}
