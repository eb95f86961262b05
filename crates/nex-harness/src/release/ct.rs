//! chart-testing (`ct`) on a throwaway kind cluster. The argument lists and
//! the readiness analysis are pure functions (unit-tested here); `run_*` are
//! the edge that spawns docker, kind, kubectl and ct. No container runtime
//! exists on the development machines, so the cluster path runs in CI.

use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A pinned kind node image, read from `.github/tool-versions.env` as this
/// build was compiled with (the file CI reads too, and Renovate updates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImage {
    /// Kubernetes minor (`1.36`).
    pub minor: String,
    /// `kindest/node:vX.Y.Z@sha256:…`, digest-pinned as kind asks.
    pub image: String,
    /// The kind release that built it (the one to run it with).
    pub kind: String,
}

/// The pinned node images, in file order (newest first; the last is the
/// lowest Kubernetes the charts claim).
pub fn node_images() -> &'static [NodeImage] {
    static IMAGES: std::sync::LazyLock<Vec<NodeImage>> = std::sync::LazyLock::new(|| {
        // The file is compiled in and tested (tools::tests); a broken one cannot build a passing harness.
        crate::tools::ToolVersions::parse(crate::tools::COMPILED)
            .and_then(|t| t.node_images())
            .unwrap_or_default()
            .into_iter()
            .map(|(minor, image, kind)| NodeImage { minor, image, kind })
            .collect()
    });
    &IMAGES
}

/// The kind release CI installs (`KIND_VERSION`), the newest node image's.
pub fn kind_version() -> &'static str {
    static KIND: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        crate::tools::ToolVersions::parse(crate::tools::COMPILED)
            .ok()
            .and_then(|t| t.get("KIND_VERSION").map(str::to_owned))
            .unwrap_or_default()
    });
    &KIND
}

/// The namespace charts are installed into, labelled for Pod Security "restricted".
pub const TEST_NAMESPACE: &str = crate::kind::TEST_NAMESPACE;

/// A tool the cluster path needs, and how to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub how: &'static str,
}

pub const DOCKER: Tool = Tool {
    name: "docker",
    how: "install Docker Engine (or Docker Desktop) and start it; GitHub's ubuntu runners have it",
};
pub const KIND: Tool = Tool {
    name: "kind",
    how: "the kind release .github/tool-versions.env names for the node image (`go install sigs.k8s.io/kind@VERSION`); in CI helm/kind-action",
};
pub const CT: Tool = Tool {
    name: "ct",
    how: "the chart-testing release binary (with its etc/ folder), or in CI helm/chart-testing-action",
};
pub const KUBECTL: Tool = Tool {
    name: "kubectl",
    how: "the Kubernetes release binary matching the cluster version; GitHub's ubuntu runners have it",
};
pub const YAMLLINT: Tool = Tool { name: "yamllint", how: "`pip install yamllint`" };
pub const YAMALE: Tool = Tool { name: "yamale", how: "`pip install yamale`" };
pub const GIT: Tool = Tool { name: "git", how: "install git (ct compares charts against the target branch)" };

pub const LINT_TOOLS: &[Tool] = &[GIT, CT, YAMLLINT, YAMALE];
pub const INSTALL_TOOLS: &[Tool] = &[GIT, DOCKER, KIND, KUBECTL, CT];

/// The executable named `name` on `path` (a PATH value), if any.
pub fn find_on_path(name: &str, path: Option<&OsString>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

/// The tools missing from `path`, in the order given.
pub fn missing(tools: &[Tool], path: Option<&OsString>) -> Vec<Tool> {
    tools.iter().copied().filter(|t| find_on_path(t.name, path).is_none()).collect()
}

/// One message naming every missing tool and how to get it.
pub fn missing_message(missing: &[Tool]) -> String {
    let mut s = String::from("cannot run the cluster tests: missing on PATH:");
    for t in missing {
        s.push_str(&format!("\n  - {}: {}", t.name, t.how));
    }
    s
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The pinned node image for a Kubernetes version (`1.35`, `v1.35.8`, …).
pub fn node_image(kubernetes_version: &str) -> Result<&'static str, String> {
    let v = kubernetes_version.trim_start_matches('v');
    let minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
    let image =
        node_images().iter().find(|n| n.minor == minor).map(|n| n.image.as_str()).ok_or_else(|| {
            let known: Vec<&str> = node_images().iter().map(|n| n.minor.as_str()).collect();
            format!(
                "no pinned kind node image for Kubernetes {kubernetes_version}; pinned: {} (see {})",
                known.join(", "),
                crate::tools::FILE
            )
        })?;
    // A full version must be the pinned patch, or the pin would be a lie.
    if v.matches('.').count() == 2 && !image.contains(&format!(":v{v}@")) {
        return Err(format!("Kubernetes {kubernetes_version}: the pinned image for {minor} is {image}"));
    }
    Ok(image)
}

/// The Kubernetes version of a node image (`kindest/node:v1.25.16@…` → 1.25.16).
pub fn node_version(image: &str) -> Option<semver::Version> {
    let tag = image.split('@').next()?.rsplit(':').next()?;
    semver::Version::parse(tag.trim_start_matches('v')).ok()
}

/// Splits the charts to install into those whose `kubeVersion` admits the
/// cluster's version and those helm would refuse (chart, why). Input: (chart
/// folder, its kubeVersion constraint).
pub fn installable(
    charts: &[(String, Option<String>)],
    cluster: &semver::Version,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut keep = Vec::new();
    let mut skip = Vec::new();
    for (chart, constraint) in charts {
        match crate::kube::versions::admits(constraint.as_deref(), cluster) {
            Ok(false) => skip.push((
                chart.clone(),
                format!(
                    "kubeVersion {:?} excludes Kubernetes {cluster}",
                    constraint.as_deref().unwrap_or_default()
                ),
            )),
            // An unreadable constraint is ct's and helm's to report.
            Ok(true) | Err(_) => keep.push(chart.clone()),
        }
    }
    (keep, skip)
}

/// What `cargo xtask ct install` was asked to do.
#[derive(Debug, Clone)]
pub struct InstallPlan {
    pub cluster: String,
    pub node_image: String,
    pub kubeconfig: PathBuf,
    pub config: PathBuf,
    pub upgrade: bool,
    pub all: bool,
    pub charts: Vec<String>,
    pub extra: Vec<String>,
    /// Local images (`docker build` output) loaded into the node before installing: the
    /// images this repository builds, before their tag is published.
    pub load_images: Vec<String>,
    /// What is applied before ct runs: the namespace's level, objects in it ([`crate::kind`]).
    pub fixtures: crate::kind::Fixtures,
    /// Charts ct must skip (`--excluded-charts`): their runtime contract needs a
    /// credential from an outside service, which a kind cluster cannot give them.
    pub excluded: Vec<String>,
}

pub fn kind_create_args(plan: &InstallPlan) -> Vec<OsString> {
    let mut a: Vec<OsString> = ["create", "cluster", "--name", &plan.cluster, "--image", &plan.node_image]
        .iter()
        .map(OsString::from)
        .collect();
    a.extend(["--wait".into(), "180s".into(), "--kubeconfig".into(), plan.kubeconfig.clone().into()]);
    a
}

/// `kind load docker-image IMAGE --name CLUSTER`.
pub fn kind_load_args(plan: &InstallPlan, image: &str) -> Vec<OsString> {
    ["load", "docker-image", image, "--name", &plan.cluster].iter().map(OsString::from).collect()
}

pub fn kind_delete_args(plan: &InstallPlan) -> Vec<OsString> {
    ["delete", "cluster", "--name", &plan.cluster]
        .iter()
        .map(OsString::from)
        .chain(kubeconfig(plan))
        .collect()
}

fn kubeconfig(plan: &InstallPlan) -> [OsString; 2] {
    ["--kubeconfig".into(), plan.kubeconfig.clone().into()]
}

/// `kubectl apply` of the fixtures into the test namespace (the list on stdin); `None` without any.
pub fn fixtures_apply_args(plan: &InstallPlan) -> Option<Vec<OsString>> {
    plan.fixtures
        .has_objects()
        .then(|| ["apply", "--namespace", TEST_NAMESPACE, "-f", "-"].iter().map(OsString::from).collect())
}

/// `ct install`: the config passed explicitly (chart-testing-action's
/// CT_CONFIG_DIR would otherwise win), every release in the labelled namespace,
/// and no clean-up so a failed release can still be inspected (the whole
/// cluster is deleted afterwards).
pub fn ct_install_args(plan: &InstallPlan) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["install".into(), "--config".into(), plan.config.clone().into()];
    for s in
        ["--namespace", TEST_NAMESPACE, "--release-label", "app.kubernetes.io/instance", "--skip-clean-up"]
    {
        a.push(s.into());
    }
    if plan.upgrade {
        a.push("--upgrade".into());
    }
    push_selection(&mut a, plan.all, &plan.charts);
    if !plan.excluded.is_empty() {
        a.push("--excluded-charts".into());
        a.push(plan.excluded.join(",").into());
    }
    a.extend(plan.extra.iter().map(OsString::from));
    a
}

pub fn ct_lint_args(config: &Path, all: bool, charts: &[String], extra: &[String]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["lint".into(), "--config".into(), config.into()];
    push_selection(&mut a, all, charts);
    a.extend(extra.iter().map(OsString::from));
    a
}

fn push_selection(a: &mut Vec<OsString>, all: bool, charts: &[String]) {
    if all {
        a.push("--all".into());
    } else if !charts.is_empty() {
        a.push("--charts".into());
        a.push(charts.join(",").into());
    }
}

/// PATH with the harness's helm first, so ct runs the pinned Helm major.
pub fn path_with_helm(helm_bin: &Path, path: Option<&OsString>) -> OsString {
    let mut dirs: Vec<PathBuf> = helm_bin.parent().map(Path::to_path_buf).into_iter().collect();
    dirs.extend(path.map(std::env::split_paths).into_iter().flatten());
    std::env::join_paths(dirs).unwrap_or_default()
}

/// Workloads and pods in a `kubectl get … -o json` list that are not ready,
/// each as `Kind/name: why`.
pub fn not_ready(list: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for item in list.get("items").and_then(Value::as_array).into_iter().flatten() {
        let kind = item["kind"].as_str().unwrap_or("?");
        let name = item["metadata"]["name"].as_str().unwrap_or("?");
        let status = &item["status"];
        let num = |v: &Value| v.as_i64().unwrap_or(0);
        let why = match kind {
            "Deployment" | "StatefulSet" => {
                let want = item["spec"]["replicas"].as_i64().unwrap_or(1);
                let ready = num(&status["readyReplicas"]);
                (ready < want).then(|| format!("{ready}/{want} replicas ready"))
            }
            "DaemonSet" => {
                let (want, ready) = (num(&status["desiredNumberScheduled"]), num(&status["numberReady"]));
                (ready < want).then(|| format!("{ready}/{want} pods ready"))
            }
            "ReplicaSet" => failure_condition(status, "ReplicaFailure"),
            "Job" => failure_condition(status, "Failed"),
            "Pod" => pod_problem(status),
            "PersistentVolumeClaim" => {
                (status["phase"].as_str() != Some("Bound")).then(|| "not bound".to_owned())
            }
            _ => None,
        };
        if let Some(why) = why {
            out.push(format!("{kind}/{name}: {why}"));
        }
    }
    out
}

fn failure_condition(status: &Value, kind: &str) -> Option<String> {
    status["conditions"].as_array()?.iter().find_map(|c| {
        (c["type"] == kind && c["status"] == "True")
            .then(|| c["message"].as_str().or(c["reason"].as_str()).unwrap_or(kind).to_owned())
    })
}

fn pod_problem(status: &Value) -> Option<String> {
    let phase = status["phase"].as_str().unwrap_or("Unknown");
    if phase == "Succeeded" {
        return None;
    }
    for c in status["containerStatuses"].as_array().into_iter().flatten() {
        if c["ready"].as_bool() == Some(true) {
            continue;
        }
        let name = c["name"].as_str().unwrap_or("?");
        let state = &c["state"];
        let detail = state["waiting"]["reason"]
            .as_str()
            .or(state["terminated"]["reason"].as_str())
            .map(|r| format!("container {name} {r}"))
            .unwrap_or_else(|| format!("container {name} not ready"));
        return Some(detail);
    }
    if phase != "Running" {
        let reason = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["status"] == "False")
            .and_then(|c| c["message"].as_str().or(c["reason"].as_str()));
        return Some(match reason {
            Some(r) => format!("{phase}: {r}"),
            None => phase.to_owned(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> InstallPlan {
        InstallPlan {
            cluster: "nex-ct".into(),
            node_image: node_image("1.25").unwrap().into(),
            kubeconfig: "/tmp/kc".into(),
            config: "ct.yaml".into(),
            upgrade: true,
            all: false,
            charts: vec!["charts/glance".into(), "charts/gatus".into()],
            extra: vec!["--debug".into()],
            load_images: vec!["ghcr.io/nex-charts/yaldap:v0.2.0".into()],
            fixtures: crate::kind::Fixtures {
                objects: vec![(
                    "a.yaml".into(),
                    crate::manifest::Object {
                        source: None,
                        line: 1,
                        value: serde_json::json!({"kind": "Secret", "metadata": {"name": "s"}}),
                    },
                )],
            },
            excluded: Vec::new(),
        }
    }

    #[test]
    fn fixtures_are_applied_in_the_test_namespace() {
        let p = plan();
        assert_eq!(strings(fixtures_apply_args(&p).unwrap()), ["apply", "--namespace", "nex", "-f", "-"]);
        assert!(fixtures_apply_args(&InstallPlan { fixtures: Default::default(), ..p }).is_none());
    }

    #[test]
    fn local_images_are_loaded_into_the_named_cluster() {
        let p = plan();
        assert_eq!(
            strings(kind_load_args(&p, &p.load_images[0])),
            ["load", "docker-image", "ghcr.io/nex-charts/yaldap:v0.2.0", "--name", "nex-ct"]
        );
    }

    fn strings(a: Vec<OsString>) -> Vec<String> {
        a.into_iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn node_images_are_digest_pinned_and_chosen_by_version() {
        assert!(node_images().len() >= 2, "{:?}", node_images());
        for NodeImage { image, .. } in node_images() {
            assert!(image.starts_with("kindest/node:v") && image.contains("@sha256:"), "{image}");
            assert_eq!(image.rsplit(':').next().unwrap().len(), 64, "{image}");
        }
        assert!(node_image("v1.36").unwrap().contains("v1.36.1@"));
        assert!(node_image("1.25.16").unwrap().contains("v1.25.16@"));
        assert!(node_image("1.25.2").unwrap_err().contains("v1.25.16"));
        assert!(node_image("1.20").unwrap_err().contains("1.36, 1.25"));
    }

    #[test]
    fn the_pins_equal_the_tool_versions_file() {
        let t = crate::tools::ToolVersions::parse(crate::tools::COMPILED).unwrap();
        assert_eq!(t.get("KIND_VERSION"), Some(kind_version()));
        assert_eq!(t.node_images().unwrap().len(), node_images().len());
        assert_eq!(t.get("HELM_V4_VERSION"), Some(crate::provision::HELM_4.version));
        assert_eq!(t.get("HELM_V3_VERSION"), Some(crate::provision::HELM_3.version));
        // The newest node image is the pinned kind's own (a kind bump needs its images).
        assert_eq!(node_images()[0].kind, kind_version());
    }

    #[test]
    fn kind_and_ct_arguments() {
        let p = plan();
        assert_eq!(
            strings(kind_create_args(&p)),
            [
                "create",
                "cluster",
                "--name",
                "nex-ct",
                "--image",
                node_images()[1].image.as_str(),
                "--wait",
                "180s",
                "--kubeconfig",
                "/tmp/kc"
            ]
        );
        assert_eq!(
            strings(kind_delete_args(&p)),
            ["delete", "cluster", "--name", "nex-ct", "--kubeconfig", "/tmp/kc"]
        );
        let ct = strings(ct_install_args(&p));
        assert_eq!(&ct[..3], ["install", "--config", "ct.yaml"]);
        assert!(ct.windows(2).any(|w| w == ["--namespace", "nex"]));
        assert!(ct.contains(&"--upgrade".to_owned()) && ct.contains(&"--skip-clean-up".to_owned()));
        assert!(ct.windows(2).any(|w| w == ["--charts", "charts/glance,charts/gatus"]));
        assert_eq!(ct.last().unwrap(), "--debug");
        assert!(!ct.contains(&"--excluded-charts".to_owned()));
        let all =
            InstallPlan { upgrade: false, all: true, excluded: vec!["tailscale".into(), "x".into()], ..p };
        let ct = strings(ct_install_args(&all));
        assert!(ct.contains(&"--all".to_owned()) && !ct.contains(&"--upgrade".to_owned()));
        assert!(!ct.contains(&"--charts".to_owned()));
        assert!(ct.windows(2).any(|w| w == ["--excluded-charts", "tailscale,x"]), "{ct:?}");
        assert_eq!(
            strings(ct_lint_args(Path::new("ct.yaml"), false, &[], &[])),
            ["lint", "--config", "ct.yaml"]
        );
    }

    #[test]
    fn charts_whose_kube_version_excludes_the_cluster_are_skipped() {
        let v = node_version(node_image("1.25").unwrap()).unwrap();
        assert_eq!(v, semver::Version::new(1, 25, 16));
        let charts = vec![
            ("charts/glance".to_owned(), Some(">=1.25.0-0".to_owned())),
            ("charts/adguard-home".to_owned(), Some(">=1.26.0-0".to_owned())),
            ("charts/x".to_owned(), None),
        ];
        let (keep, skip) = installable(&charts, &v);
        assert_eq!(keep, ["charts/glance", "charts/x"]);
        assert_eq!(
            skip,
            [(
                "charts/adguard-home".to_owned(),
                "kubeVersion \">=1.26.0-0\" excludes Kubernetes 1.25.16".to_owned()
            )]
        );
        let (keep, skip) = installable(&charts, &node_version(node_image("1.36").unwrap()).unwrap());
        assert_eq!((keep.len(), skip.len()), (3, 0));
    }

    #[test]
    fn missing_tools_are_found_through_path() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("kind");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // A non-executable file does not count.
        std::fs::write(tmp.path().join("ct"), "").unwrap();
        let path = OsString::from(tmp.path());
        let gone = missing(&[DOCKER, KIND, CT], Some(&path));
        assert_eq!(gone, [DOCKER, CT]);
        let msg = missing_message(&gone);
        assert!(msg.contains("docker: install Docker") && msg.contains("ct: the chart-testing"), "{msg}");
        assert_eq!(missing(&[KIND], None), [KIND]);
        let with_helm = path_with_helm(Path::new("/opt/helm4/helm"), Some(&path));
        assert_eq!(std::env::split_paths(&with_helm).next().unwrap(), Path::new("/opt/helm4"));
    }

    #[test]
    fn names_what_never_became_ready() {
        let list = serde_json::json!({"items": [
            {"kind": "Deployment", "metadata": {"name": "nex-glance"}, "spec": {"replicas": 1}, "status": {}},
            {"kind": "Deployment", "metadata": {"name": "ok"}, "spec": {"replicas": 1}, "status": {"readyReplicas": 1}},
            {"kind": "ReplicaSet", "metadata": {"name": "nex-glance-5d8"}, "status": {"conditions": [
                {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                 "message": "pods \"nex-glance-5d8-x\" is forbidden: violates PodSecurity \"restricted:latest\""}]}},
            {"kind": "Pod", "metadata": {"name": "nex-gatus-0"}, "status": {"phase": "Pending", "containerStatuses": [
                {"name": "gatus", "ready": false, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}},
            {"kind": "Pod", "metadata": {"name": "nex-test"}, "status": {"phase": "Succeeded"}},
            {"kind": "Pod", "metadata": {"name": "nex-unscheduled"}, "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available"}]}},
            {"kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "status": {"phase": "Pending"}},
        ]});
        assert_eq!(
            not_ready(&list),
            [
                "Deployment/nex-glance: 0/1 replicas ready",
                "ReplicaSet/nex-glance-5d8: pods \"nex-glance-5d8-x\" is forbidden: violates PodSecurity \"restricted:latest\"",
                "Pod/nex-gatus-0: container gatus ImagePullBackOff",
                "Pod/nex-unscheduled: Pending: 0/1 nodes are available",
                "PersistentVolumeClaim/data: not bound",
            ]
        );
    }
}
