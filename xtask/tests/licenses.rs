//! Licences: each chart's `artifacthub.io/license` is the SPDX id recorded for
//! the software it packages (`schemas/upstream/licenses.yaml`, read from the
//! upstream licence file at the pinned tag), and the repository's own LICENSE
//! is the Apache-2.0 text Cargo's `license` names.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use support::workspace_root;

const RECORD: &str = "schemas/upstream/licenses.yaml";

fn record() -> Value {
    let text = std::fs::read_to_string(workspace_root().join(RECORD)).expect(RECORD);
    serde_saphyr::from_str(&text).expect("licenses.yaml parses")
}

fn chart_yaml(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).expect("Chart.yaml");
    serde_saphyr::from_str(&text).expect("Chart.yaml parses")
}

/// The title a licence text with this SPDX id starts with.
fn heading_of(spdx: &str) -> &'static str {
    match spdx {
        "Apache-2.0" => "Apache License Version 2.0",
        "GPL-3.0-only" | "GPL-3.0-or-later" => "GNU GENERAL PUBLIC LICENSE Version 3",
        "AGPL-3.0-only" | "AGPL-3.0-or-later" => "GNU AFFERO GENERAL PUBLIC LICENSE Version 3",
        "BSD-3-Clause" => "BSD 3-Clause License",
        "MIT" => "MIT License",
        other => panic!("{RECORD}: no known heading for {other}; add it here after reading the text"),
    }
}

#[test]
fn every_charts_license_annotation_is_the_spdx_id_of_its_upstream_at_the_pinned_tag() {
    let record = record();
    let charts = record["charts"].as_object().expect("charts:");
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(workspace_root().join("charts")).unwrap().flatten() {
        let dir = entry.path();
        if !dir.join("Chart.yaml").is_file() {
            continue;
        }
        let meta = chart_yaml(&dir);
        let name = meta["name"].as_str().unwrap().to_owned();
        seen.insert(name.clone());
        let Some(want) = charts.get(&name) else {
            problems.push(format!("{name}: not in {RECORD}"));
            continue;
        };
        let spdx = want["spdx"].as_str().unwrap_or_default();
        let annotation = meta["annotations"]["artifacthub.io/license"].as_str().unwrap_or("(none)");
        if annotation != spdx {
            problems.push(format!(
                "{name}: artifacthub.io/license is {annotation}, but {} at {} is {spdx}",
                want["repository"].as_str().unwrap_or("?"),
                want["tag"].as_str().unwrap_or("?")
            ));
        }
        if let Some(app) = meta["appVersion"].as_str() {
            let tag = want["tag"].as_str().unwrap_or_default();
            if tag != app && tag.strip_prefix('v') != Some(app) {
                problems.push(format!(
                    "{name}: the licence was read at {tag}, the chart pins {app}: read it again at the new tag"
                ));
            }
        }
        let heading = want["heading"].as_str().unwrap_or_default();
        if !heading.starts_with(heading_of(spdx)) {
            problems.push(format!("{name}: a licence headed `{heading}` is not {spdx}"));
        }
    }
    let listed: BTreeSet<String> = charts.keys().cloned().collect();
    for extra in listed.difference(&seen) {
        problems.push(format!("{RECORD} lists {extra}, which is no chart"));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_repository_is_licensed_as_cargo_says() {
    let root = workspace_root();
    let license = std::fs::read_to_string(root.join("LICENSE")).expect("a LICENSE file at the root");
    let title: Vec<&str> = license.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).collect();
    assert_eq!(title, ["Apache License", "Version 2.0, January 2004"], "LICENSE is not the Apache-2.0 text");
    assert!(license.contains("END OF TERMS AND CONDITIONS"), "LICENSE is cut short");
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(cargo.lines().any(|l| l.trim() == r#"license = "Apache-2.0""#), "Cargo.toml's license");
    // The library chart is this repository's code: its annotation is the repository's licence.
    assert_eq!(record()["charts"]["common"]["spdx"], "Apache-2.0");
}
