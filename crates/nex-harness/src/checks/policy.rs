//! The catalog's own rules on rendered objects (`policy/*`), and the check that
//! runs them together with the Pod Security controls and applies the chart's
//! declared exceptions.

use super::objects::{self, Finding};
use super::pss;
use crate::diag::Diagnostic;
use crate::load::LoadedChart;
use crate::manifest::Object;
use crate::rule::{CATALOG, Rule};
use crate::yaml::child;
use serde_json::Value;
use std::collections::BTreeMap;

pub mod exceptions;

pub const RULE_READ_ONLY_ROOT_FS: Rule =
    Rule::error("policy/read-only-root-fs", CATALOG, "a container without `readOnlyRootFilesystem: true`")
        .exceptable();
pub const RULE_RESOURCES: Rule = Rule::error(
    "policy/resources",
    CATALOG,
    "a container without a CPU request, a memory request and a memory limit",
)
.exceptable();
pub const RULE_PROBES: Rule = Rule::error("policy/probes", CATALOG, "a long-running container (not init, not in a Job, CronJob or bare Pod) without `readinessProbe` and `livenessProbe`").exceptable();
pub const RULE_IMAGE_TAG: Rule =
    Rule::error("policy/image-tag", CATALOG, "an image without a tag, or tagged `latest`").exceptable();
pub const RULE_IMAGE_DIGEST: Rule =
    Rule::warning("policy/image-digest", CATALOG, "an image not pinned by digest").exceptable();
pub const RULE_SERVICE_ACCOUNT_TOKEN: Rule = Rule::error("policy/service-account-token", CATALOG, "a pod that mounts a service account token (neither it nor its ServiceAccount sets `automountServiceAccountToken: false`) though the chart binds no Role").exceptable();
pub const RULE_SELECTOR_LABELS: Rule = Rule::error("policy/selector-labels", CATALOG, "a selector (workload, Service, PodDisruptionBudget, NetworkPolicy) holding a version label or value; selectors are immutable").exceptable();
pub const RULE_RECOMMENDED_LABELS: Rule = Rule::error("policy/recommended-labels", CATALOG, "an object without `app.kubernetes.io/name`, `/instance`, `/version` and `/managed-by: Helm`, or a pod template without name and instance").exceptable();
pub const RULE_HARDCODED_IMAGE: Rule = Rule::error(
    "policy/hardcoded-image",
    CATALOG,
    "a container image whose repository is not in the chart's values (written into a template)",
)
.exceptable();
pub const RULES: &[Rule] = &[
    RULE_READ_ONLY_ROOT_FS,
    RULE_RESOURCES,
    RULE_PROBES,
    RULE_IMAGE_TAG,
    RULE_IMAGE_DIGEST,
    RULE_SERVICE_ACCOUNT_TOKEN,
    RULE_SELECTOR_LABELS,
    RULE_RECOMMENDED_LABELS,
    RULE_HARDCODED_IMAGE,
    super::secret_keep::RULE,
];

/// Labels every object carries (Kubernetes' recommended labels, as helm sets them).
pub const RECOMMENDED_LABELS: &[&str] = &[
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
];

/// What a rule needs to know beyond the object: the rest of the rendering and the chart.
pub struct Context<'a> {
    /// The rendering holds a Role/ClusterRole binding: the pods need their token.
    pub grants_rbac: bool,
    /// ServiceAccounts of the rendering: name → automountServiceAccountToken.
    pub service_accounts: BTreeMap<String, Option<bool>>,
    pub chart_version: &'a str,
    pub app_version: &'a str,
    /// The values the rendering was made from (values.yaml and the scenario's file), as text.
    pub values: Vec<&'a str>,
}

/// The `pss` and `policy` check: every rendering's objects, exceptions applied.
pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let (exceptions, mut diags) = exceptions::parse(loaded);
    let chart_version = loaded.meta.version.as_deref().unwrap_or("");
    let app_version = loaded.meta.app_version.as_deref().unwrap_or("");
    for r in loaded.renderings.iter() {
        let scenario = r.scenario.name.as_str();
        let mut values = vec![loaded.values_texts.get("default").map(String::as_str).unwrap_or("")];
        if r.scenario.values_file.is_some() {
            values.push(loaded.values_texts.get(scenario).map(String::as_str).unwrap_or(""));
        }
        let ctx = Context {
            grants_rbac: r.objects.iter().any(|o| matches!(o.kind(), "RoleBinding" | "ClusterRoleBinding")),
            service_accounts: r
                .objects
                .iter()
                .filter(|o| o.kind() == "ServiceAccount")
                .map(|o| {
                    (
                        o.name().to_owned(),
                        o.value.get("automountServiceAccountToken").and_then(Value::as_bool),
                    )
                })
                .collect(),
            chart_version,
            app_version,
            values,
        };
        let template_of = |o: &Object| {
            let source = o.source.as_deref()?;
            let file = crate::load::source_path(&loaded.chart, &loaded.local_dependencies, source)?;
            loaded.templates.get(&file).cloned()
        };
        for (obj, f) in super::secret_keep::findings(&r.objects, template_of) {
            let mut d = objects::diagnostic(loaded, obj, scenario, &f);
            d.allowed = exceptions.allow(f.rule, obj, scenario);
            diags.push(d);
        }
        let runtime =
            super::runtime::contract(loaded).map(|c| (c, super::runtime::Rendered::new(c, &r.objects)));
        for obj in &r.objects {
            let mut found = pss::findings(obj);
            found.extend(findings(obj, &ctx));
            if let Some((contract, rendered)) = &runtime {
                found.extend(super::runtime::findings(contract, rendered, obj));
            }
            if let Some(lock) = loaded.images_lock.as_deref() {
                found.extend(super::image::findings(obj, lock, true));
            }
            for f in found {
                let mut d = objects::diagnostic(loaded, obj, scenario, &f);
                d.allowed = exceptions.allow_in(f.rule, obj, scenario, &loaded.settings.release);
                diags.push(d);
            }
        }
    }
    diags.extend(exceptions.unused(loaded));
    diags
}

pub fn findings(obj: &Object, ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    labels(obj, &mut out);
    selector_labels(obj, ctx, &mut out);
    let Some((spec, sp)) = objects::pod_spec(obj) else {
        return out;
    };
    let runs_to_completion = matches!(obj.kind(), "Job" | "CronJob" | "Pod");

    let token = spec.get("automountServiceAccountToken").and_then(Value::as_bool);
    if !ctx.grants_rbac && token != Some(false) {
        let sa = spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("default");
        let sa_off = ctx.service_accounts.get(sa).copied().flatten() == Some(false);
        if token == Some(true) || !sa_off {
            out.push(
                Finding::error(
                    RULE_SERVICE_ACCOUNT_TOKEN,
                    child(sp, "automountServiceAccountToken"),
                    "mounts a service account token but the chart grants no RBAC",
                )
                .hint("set automountServiceAccountToken: false"),
            );
        }
    }

    let (meta, meta_path) = objects::pod_metadata(obj);
    let pod_labels = meta.and_then(|m| m.get("labels")).and_then(Value::as_object);
    for l in ["app.kubernetes.io/name", "app.kubernetes.io/instance"] {
        if !pod_labels.is_some_and(|m| m.contains_key(l)) {
            out.push(Finding::error(
                RULE_RECOMMENDED_LABELS,
                child(meta_path, "labels"),
                format!("the pod template has no {l} label"),
            ));
        }
    }

    for c in objects::containers(spec, sp) {
        if c.ephemeral {
            continue;
        }
        let who = c.label.as_str();
        let sc = c.value.get("securityContext").unwrap_or(&Value::Null);
        if sc.get("readOnlyRootFilesystem").and_then(Value::as_bool) != Some(true) {
            out.push(
                Finding::error(
                    RULE_READ_ONLY_ROOT_FS,
                    format!("{}/securityContext/readOnlyRootFilesystem", c.path),
                    format!("{who} has a writable root filesystem"),
                )
                .hint("set readOnlyRootFilesystem: true and mount an emptyDir where the app writes"),
            );
        }
        let res = c.value.get("resources").unwrap_or(&Value::Null);
        let mut missing = Vec::new();
        for (p, what) in [
            ("/requests/cpu", "a CPU request"),
            ("/requests/memory", "a memory request"),
            ("/limits/memory", "a memory limit"),
        ] {
            if res.pointer(p).is_none_or(Value::is_null) {
                missing.push(what);
            }
        }
        if !missing.is_empty() {
            out.push(Finding::error(
                RULE_RESOURCES,
                child(&c.path, "resources"),
                format!("{who} lacks {}", and_list(&missing)),
            ));
        }
        if !c.init && !runs_to_completion {
            for probe in ["readinessProbe", "livenessProbe"] {
                if c.value.get(probe).is_none_or(Value::is_null) {
                    out.push(Finding::error(
                        RULE_PROBES,
                        child(&c.path, probe),
                        format!("{who} has no {probe}"),
                    ));
                }
            }
        }
        image(c.value, &c.path, who, ctx, &mut out);
    }
    out
}

fn image(container: &Value, path: &str, who: &str, ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let ip = child(path, "image");
    let Some(image) = container.get("image").and_then(Value::as_str) else {
        out.push(Finding::error(RULE_IMAGE_TAG, ip, format!("{who} has no image")));
        return;
    };
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let (repo_last, tag) = match last.split_once(':') {
        Some((r, t)) => (r, Some(t)),
        None => (last, None),
    };
    match (tag, digest) {
        (Some("latest"), _) => out.push(
            Finding::error(RULE_IMAGE_TAG, ip.clone(), format!("{who} uses the `latest` tag ({image})"))
                .hint("pin a version tag (and a digest)"),
        ),
        (None, None) => out.push(
            Finding::error(
                RULE_IMAGE_TAG,
                ip.clone(),
                format!("{who} has no image tag ({image}), so `latest`"),
            )
            .hint("pin a version tag (and a digest)"),
        ),
        _ => {}
    }
    // A digest of an algorithm nobody verifies (`md5:0`) pins nothing.
    let weak = digest.and_then(crate::images::reference::digest_problem);
    if digest.is_none() || weak.is_some() {
        let why = weak.map(|w| format!(" ({w})")).unwrap_or_default();
        out.push(
            Finding::warning(
                RULE_IMAGE_DIGEST,
                ip.clone(),
                format!("{who} image {image} is not pinned by digest{why}"),
            )
            .hint("add the digest (`tag@sha256:...`) to the image values"),
        );
    }
    if !repo_last.is_empty() && !ctx.values.iter().any(|v| v.contains(repo_last)) {
        out.push(
            Finding::error(
                RULE_HARDCODED_IMAGE,
                ip,
                format!("{who} image {image} does not come from values"),
            )
            .hint("take the registry, repository, tag and digest from .Values"),
        );
    }
}

fn labels(obj: &Object, out: &mut Vec<Finding>) {
    let labels = obj.value.pointer("/metadata/labels").and_then(Value::as_object);
    let missing: Vec<&str> =
        RECOMMENDED_LABELS.iter().copied().filter(|l| !labels.is_some_and(|m| m.contains_key(*l))).collect();
    if !missing.is_empty() {
        out.push(
            Finding::error(
                RULE_RECOMMENDED_LABELS,
                "/metadata/labels",
                format!("lacks {}", missing.join(", ")),
            )
            .hint("use the common library's standard labels"),
        );
    }
    if let Some(m) = labels
        && m.get("app.kubernetes.io/managed-by").and_then(Value::as_str).is_some_and(|v| v != "Helm")
    {
        out.push(Finding::error(
            RULE_RECOMMENDED_LABELS,
            "/metadata/labels/app.kubernetes.io~1managed-by",
            "app.kubernetes.io/managed-by is not `Helm`",
        ));
    }
}

/// Selectors are immutable on a live workload: a version in one makes every
/// upgrade fail, so selectors must hold only stable labels.
fn selector_labels(obj: &Object, ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let pointers: &[&str] = match obj.kind() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "PodDisruptionBudget" => {
            &["/spec/selector/matchLabels"]
        }
        "Service" | "ReplicationController" => &["/spec/selector"],
        "NetworkPolicy" => &["/spec/podSelector/matchLabels"],
        _ => &[],
    };
    for p in pointers {
        let Some(m) = obj.value.pointer(p).and_then(Value::as_object) else { continue };
        for (k, v) in m {
            let v = v.as_str().unwrap_or("");
            let versioned_key =
                matches!(k.as_str(), "app.kubernetes.io/version" | "helm.sh/chart" | "chart" | "version");
            let versioned_value = [ctx.chart_version, ctx.app_version]
                .iter()
                .any(|ver| !ver.is_empty() && (v == *ver || v.ends_with(&format!("-{ver}"))));
            if versioned_key || versioned_value {
                out.push(
                    Finding::error(RULE_SELECTOR_LABELS, child(p, k), format!("selector label {k}={v} changes with versions"))
                        .hint("selectors are immutable: use only app.kubernetes.io/name and app.kubernetes.io/instance"),
                );
            }
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context<'static> {
        Context {
            grants_rbac: false,
            service_accounts: BTreeMap::new(),
            chart_version: "0.1.0",
            app_version: "1.2.3",
            values: vec!["image:\n  repository: example/app\n  tag: 1.2.3\n"],
        }
    }

    fn labels() -> Value {
        json!({"app.kubernetes.io/name": "a", "app.kubernetes.io/instance": "nex",
            "app.kubernetes.io/version": "1.2.3", "app.kubernetes.io/managed-by": "Helm"})
    }

    fn good_container() -> Value {
        json!({"name": "c", "image": "docker.io/example/app:1.2.3@sha256:abababababababababababababababababababababababababababababababab",
            "securityContext": {"readOnlyRootFilesystem": true},
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
            "readinessProbe": {"httpGet": {"port": 80}}, "livenessProbe": {"httpGet": {"port": 80}}})
    }

    fn deployment(container: Value, selector: Value) -> Object {
        Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nex-a", "labels": labels()},
                "spec": {"selector": {"matchLabels": selector}, "template": {"metadata": {"labels": labels()},
                "spec": {"automountServiceAccountToken": false, "containers": [container]}}}}),
        }
    }

    fn rules(o: &Object) -> Vec<&'static str> {
        findings(o, &ctx()).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn missing_resources_read_as_english() {
        let sel = json!({"app.kubernetes.io/name": "a", "app.kubernetes.io/instance": "nex"});
        let mut c = good_container();
        c["resources"] = json!({"limits": {"memory": "32Mi"}});
        let messages: Vec<String> = findings(&deployment(c, sel), &ctx())
            .into_iter()
            .filter(|f| f.rule == "policy/resources")
            .map(|f| f.message)
            .collect();
        assert_eq!(messages, [r#"container "c" lacks a CPU request and a memory request"#]);
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn a_compliant_deployment_passes() {
        let sel = json!({"app.kubernetes.io/name": "a", "app.kubernetes.io/instance": "nex"});
        assert_eq!(rules(&deployment(good_container(), sel)), Vec::<&str>::new());
    }

    #[test]
    fn latest_missing_digest_and_hardcoded_images_are_caught() {
        let sel = json!({"app.kubernetes.io/name": "a"});
        let mut c = good_container();
        c["image"] = json!("example/app:latest");
        assert_eq!(rules(&deployment(c.clone(), sel.clone())), ["policy/image-tag", "policy/image-digest"]);
        c["image"] = json!("busybox:1.36");
        assert_eq!(rules(&deployment(c, sel)), ["policy/image-digest", "policy/hardcoded-image"]);
    }

    #[test]
    fn missing_probes_resources_root_fs_token_and_versioned_selectors_are_caught() {
        let c = json!({"name": "c", "image": "example/app:1@sha256:abababababababababababababababababababababababababababababababab"});
        let mut d = deployment(c, json!({"app.kubernetes.io/version": "1.2.3"}));
        d.value["spec"]["template"]["spec"].as_object_mut().unwrap().remove("automountServiceAccountToken");
        let mut r = rules(&d);
        r.sort();
        assert_eq!(
            r,
            [
                "policy/probes",
                "policy/probes",
                "policy/read-only-root-fs",
                "policy/resources",
                "policy/selector-labels",
                "policy/service-account-token"
            ]
        );
    }

    #[test]
    fn every_object_needs_the_recommended_labels() {
        let o = Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        };
        let f = findings(&o, &ctx());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "policy/recommended-labels");
        assert!(f[0].message.contains("app.kubernetes.io/managed-by"));
    }

    /// Every finding as (rule, path): which input fired.
    fn fired(o: &Object, ctx: &Context<'_>) -> Vec<(&'static str, String)> {
        let mut f: Vec<_> = findings(o, ctx).into_iter().map(|f| (f.rule, f.path)).collect();
        f.sort();
        f
    }

    fn stable_selector() -> Value {
        json!({"app.kubernetes.io/name": "a", "app.kubernetes.io/instance": "nex"})
    }

    #[test]
    fn an_untagged_image_is_latest() {
        let mut c = good_container();
        c["image"] = json!("docker.io/example/app");
        let f: Vec<_> = findings(&deployment(c, stable_selector()), &ctx())
            .into_iter()
            .filter(|f| f.rule == "policy/image-tag")
            .collect();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].path, "/spec/template/spec/containers/0/image");
        assert!(f[0].message.contains("no image tag"), "{}", f[0].message);
        // A registry port is not a tag; a digest alone pins the image.
        let mut c = good_container();
        c["image"] = json!("registry.example.org:5000/example/app");
        assert!(rules(&deployment(c, stable_selector())).contains(&"policy/image-tag"));
        let mut c = good_container();
        c["image"] = json!(
            "docker.io/example/app@sha256:abababababababababababababababababababababababababababababababab"
        );
        assert!(!rules(&deployment(c, stable_selector())).contains(&"policy/image-tag"));
        // A digest nobody verifies does not pin the image.
        let mut c = good_container();
        c["image"] = json!("docker.io/example/app:1@md5:0");
        let f: Vec<_> = findings(&deployment(c, stable_selector()), &ctx())
            .into_iter()
            .filter(|f| f.rule == "policy/image-digest")
            .collect();
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("verified by nobody"), "{}", f[0].message);
    }

    #[test]
    fn service_and_network_policy_selectors_must_not_hold_versions() {
        let meta = json!({"name": "nex-a", "labels": labels()});
        let service = |selector: Value| Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"selector": selector}}),
        };
        let policy = |selector: Value| Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta,
                "spec": {"podSelector": {"matchLabels": selector}}}),
        };
        assert_eq!(fired(&service(stable_selector()), &ctx()), []);
        assert_eq!(fired(&policy(stable_selector()), &ctx()), []);
        let versioned =
            json!({"app.kubernetes.io/name": "a", "helm.sh/chart": "a-0.1.0", "tier": "web-1.2.3"});
        assert_eq!(
            fired(&service(versioned.clone()), &ctx()),
            [
                ("policy/selector-labels", "/spec/selector/helm.sh~1chart".to_owned()),
                ("policy/selector-labels", "/spec/selector/tier".to_owned()),
            ]
        );
        assert_eq!(
            fired(&policy(versioned), &ctx()),
            [
                ("policy/selector-labels", "/spec/podSelector/matchLabels/helm.sh~1chart".to_owned()),
                ("policy/selector-labels", "/spec/podSelector/matchLabels/tier".to_owned()),
            ]
        );
        // The chart version as a value is a version too; an unrelated value is not.
        let by_value = json!({"release": "0.1.0", "app": "a"});
        assert_eq!(
            fired(&service(by_value), &ctx()),
            [("policy/selector-labels", "/spec/selector/release".to_owned())]
        );
    }

    #[test]
    fn service_account_tokens_follow_the_pod_the_account_and_rbac() {
        let sel = stable_selector();
        let token =
            ("policy/service-account-token", "/spec/template/spec/automountServiceAccountToken".to_owned());
        let with = |pod_token: Option<bool>, sa: Option<&str>| {
            let mut d = deployment(good_container(), sel.clone());
            let spec = d.value["spec"]["template"]["spec"].as_object_mut().unwrap();
            match pod_token {
                Some(b) => spec.insert("automountServiceAccountToken".into(), json!(b)),
                None => spec.remove("automountServiceAccountToken"),
            };
            if let Some(sa) = sa {
                spec.insert("serviceAccountName".into(), json!(sa));
            }
            d
        };
        let mut sas = ctx();
        sas.service_accounts.insert("off".into(), Some(false));
        sas.service_accounts.insert("on".into(), Some(true));
        sas.service_accounts.insert("unset".into(), None);
        // The pod decides when it says so.
        assert_eq!(fired(&with(Some(false), Some("on")), &sas), []);
        assert_eq!(fired(&with(Some(true), Some("off")), &sas), std::slice::from_ref(&token));
        // Otherwise its service account does; the default account mounts.
        assert_eq!(fired(&with(None, Some("off")), &sas), []);
        assert_eq!(fired(&with(None, Some("on")), &sas), std::slice::from_ref(&token));
        assert_eq!(fired(&with(None, Some("unset")), &sas), std::slice::from_ref(&token));
        assert_eq!(fired(&with(None, None), &sas), std::slice::from_ref(&token));
        assert_eq!(fired(&with(None, Some("missing")), &sas), std::slice::from_ref(&token));
        // A chart that grants RBAC needs the token.
        let rbac = Context { grants_rbac: true, ..ctx() };
        assert_eq!(fired(&with(Some(true), None), &rbac), []);
    }

    /// `check` over a rendering: the ServiceAccounts of that rendering (and nothing else)
    /// decide the token rule, and every finding names its scenario.
    #[test]
    fn check_reads_the_renderings_service_accounts_and_names_the_scenario() {
        use crate::catalog::Scenario;
        use crate::process::ProcOutput;
        let mut loaded =
            crate::load::for_tests(&["default"], json!({"version": "0.1.0", "appVersion": "1.2.3"}));
        let mut pod = deployment(good_container(), stable_selector());
        let spec = pod.value["spec"]["template"]["spec"].as_object_mut().unwrap();
        spec.remove("automountServiceAccountToken");
        spec.insert("serviceAccountName".into(), json!("quiet"));
        let account = Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "quiet", "labels": labels()}, "automountServiceAccountToken": false}),
        };
        // A Deployment named like the account must not stand in for it.
        let mut decoy = deployment(good_container(), stable_selector());
        decoy.value["metadata"]["name"] = json!("loud");
        decoy.value["spec"]["template"]["spec"]["serviceAccountName"] = json!("loud");
        decoy.value["spec"]["template"]["spec"]
            .as_object_mut()
            .unwrap()
            .remove("automountServiceAccountToken");
        loaded.renderings = vec![crate::render::Rendering {
            scenario: Scenario { name: "default".into(), values_file: None },
            kube_version: "1.36.0".into(),
            output: Ok(ProcOutput {
                success: true,
                stdout: String::new(),
                stderr: String::new(),
                signal: None,
            }),
            objects: vec![account, pod, decoy],
            parse_errors: Vec::new(),
            validation: Vec::new(),
        }];
        let diags = check(&loaded);
        let tokens: Vec<&str> = diags
            .iter()
            .filter(|d| d.rule == "policy/service-account-token")
            .map(|d| d.message.split(':').next().unwrap())
            .collect();
        assert_eq!(tokens, ["Deployment/loud"], "{diags:#?}");
        assert!(diags.iter().all(|d| d.scenarios == ["default"]), "{diags:#?}");
    }

    /// Probes are for long-running containers: not init containers, not Jobs' pods.
    #[test]
    fn init_containers_and_jobs_need_no_probes() {
        let mut init = good_container();
        init["name"] = json!("setup");
        init.as_object_mut().unwrap().remove("readinessProbe");
        init.as_object_mut().unwrap().remove("livenessProbe");
        let mut d = deployment(good_container(), stable_selector());
        d.value["spec"]["template"]["spec"]["initContainers"] = json!([init.clone()]);
        assert_eq!(fired(&d, &ctx()), []);
        let job = Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "nex-a", "labels": labels()},
                "spec": {"template": {"metadata": {"labels": labels()},
                "spec": {"automountServiceAccountToken": false, "restartPolicy": "Never", "containers": [init]}}}}),
        };
        assert_eq!(fired(&job, &ctx()), []);
        // The same container as the main one of a Deployment does need them.
        let mut bare = good_container();
        bare.as_object_mut().unwrap().remove("readinessProbe");
        let d = deployment(bare, stable_selector());
        assert_eq!(
            fired(&d, &ctx()),
            [("policy/probes", "/spec/template/spec/containers/0/readinessProbe".to_owned())]
        );
    }
}
