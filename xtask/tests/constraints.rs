//! The harness reads `kubeVersion` as helm does: a table of constraints ×
//! Kubernetes versions, each judged by the real (pinned) helm 4 and helm 3 —
//! `helm template --kube-version V` fails when the chart's `kubeVersion`
//! rejects V — and by `nex_harness::constraint`. They must agree on every cell.

use nex_harness::constraint::{Constraint, Version};
use nex_harness::helm::{Helm, Major};

const CONSTRAINTS: &[&str] = &[
    ">=1.25.0-0",
    ">= 1.25.0",
    "1.30",
    "=1.30",
    "1.30.0",
    "!=1.30",
    "!=1.30.1",
    "~1.29",
    "~1.29.3",
    "^1.28",
    "^0.28",
    ">1.30",
    ">1.30.0",
    "<=1.30",
    "<1.30",
    "1.26 - 1.29",
    ">=1.25.0-0 <1.30.0-0",
    ">=1.25, <1.30",
    "<1.20 || >=1.33",
    "1.2x",
    "1.x",
    ">=1.26.0-0, !=1.28",
    "~1.31.0-0",
    "latest",
    ">=1.25 <",
];

const VERSIONS: &[&str] =
    &["1.25.0", "1.28.4", "1.29.0", "1.30.0", "1.30.1", "1.31.0", "1.33.2", "1.30.0-gke.1", "1.31.2-eks.7"];

fn harness(major: Major, c: &str, v: &str) -> bool {
    let v = Version::parse(v).expect("a version");
    Constraint::parse(c).is_ok_and(|c| match major {
        // helm 4 judges the release part of the Kubernetes version only.
        Major::V4 => c.admits_kube(&v),
        Major::V3 => c.matches_helm3(&v),
    })
}

#[test]
fn kube_version_constraints_agree_with_helm_4() {
    agree_with(Major::V4);
}

#[test]
fn kube_version_constraints_agree_with_helm_3() {
    agree_with(Major::V3);
}

fn agree_with(major: Major) {
    let helm = Helm::locate(major, &nex_harness::provision::cache_root()).expect("pinned helm");
    let tmp = tempfile::tempdir().unwrap();
    let cells: Vec<(usize, &str, &str)> =
        CONSTRAINTS.iter().enumerate().flat_map(|(i, c)| VERSIONS.iter().map(move |v| (i, *c, *v))).collect();
    for (i, c) in CONSTRAINTS.iter().enumerate() {
        let dir = tmp.path().join(format!("c{i}"));
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        let chart = format!("apiVersion: v2\nname: c{i}\nversion: 0.1.0\nkubeVersion: {c:?}\n");
        std::fs::write(dir.join("Chart.yaml"), chart).unwrap();
        std::fs::write(
            dir.join("templates/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        )
        .unwrap();
    }
    let judged: Vec<(String, bool, bool, String)> = std::thread::scope(|scope| {
        let halves: Vec<_> = cells
            .chunks(cells.len())
            .map(|chunk| {
                let (helm, tmp) = (&helm, tmp.path());
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(i, c, v)| {
                            let out = helm.template(&tmp.join(format!("c{i}")), None, Some(v), &[]).unwrap();
                            let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                            (format!("{c:?} with {v}"), out.status.success(), harness(major, c, v), said)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let wrong: Vec<String> = judged
        .iter()
        .filter(|(_, helm, ours, _)| helm != ours)
        .map(|(cell, helm, ours, said)| format!("{cell}: helm {helm}, harness {ours} ({said})"))
        .collect();
    assert!(wrong.is_empty(), "disagreements with helm:\n{}", wrong.join("\n"));
    // The table is not trivially one-sided.
    assert!(judged.iter().any(|j| j.1) && judged.iter().any(|j| !j.1));
}
