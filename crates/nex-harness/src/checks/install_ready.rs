//! `ct/install-ready`: every scenario `ct install` will install must be able to
//! become ready on the kind cluster `cargo xtask ct install` makes
//! ([`crate::kind`]): ct installs each with `helm install --wait`, in one
//! namespace enforcing Pod Security "restricted", then runs `helm test`.
//!
//! Judged per scenario ct installs (each `ci/*-values.yaml`, or the defaults
//! without one; [`crate::catalog::Chart::ct_install_scenarios`]), over what it
//! renders, hooks and tests included:
//! - a pod the namespace's Pod Security level rejects (the catalog's policy
//!   exceptions do not move an admission controller);
//! - a Secret, ConfigMap, PersistentVolumeClaim or ServiceAccount a pod needs
//!   that the scenario does not render and the kind job's fixtures do not hold
//!   (a missing key of a fixture too); a pod waits for them forever;
//! - a kind no built-in API group serves and no installed CRD defines;
//! - a claim whose StorageClass kind lacks (`""` binds only pre-made volumes);
//! - a `LoadBalancer` Service: kind has no load balancer, and Helm 3's `--wait`
//!   waits for its ingress address (helm v3.17.2 `pkg/kube/ready.go` serviceReady);
//! - an object in a namespace the cluster does not have;
//! - a node selector on a label the install matrix's nodes do not share.
//!
//! Not judged: a chart whose runtime contract (`runtime.yaml`) needs a credential
//! from an outside service (Tailscale's auth key): the install skips it.
//! Not judged (a render cannot show it): an outside service the application
//! needs at start (a database, an LDAP or SMTP server, a real auth key). Such a
//! scenario belongs under `ci/lint/` too. Missing `imagePullSecrets` are not a
//! finding: the kubelet pulls without them.

use super::objects::{self, Finding};
use crate::catalog::Scenario;
use crate::diag::Diagnostic;
use crate::kind;
use crate::load::LoadedChart;
use crate::manifest::Object;
use crate::rule::{CATALOG, Rule};
use serde_json::Value;
use std::collections::BTreeSet;

// A house rule about this repository's kind job (`cargo xtask ct install`: a namespace
// enforcing "restricted", the fixtures folder), not about ct: other repositories install
// with their own cluster set-up, so profile ct leaves it off unless harness.yaml turns it on.
pub const RULE_INSTALL_READY: Rule = Rule::error(
    "ct/install-ready",
    CATALOG,
    "a scenario `ct install` installs cannot become ready on the kind job's cluster: a pod its Pod Security level (restricted, unless a Namespace fixture declares privileged) rejects, a Secret/ConfigMap/claim/ServiceAccount a pod needs that neither the scenario nor `.github/kind/ct-fixtures/` makes, a kind without an installed CRD, a missing StorageClass, a LoadBalancer Service, a missing namespace, a node selector the install matrix's nodes do not share",
);
pub const RULES: &[Rule] = &[RULE_INSTALL_READY];

/// API groups every Kubernetes API server serves (no CRD needed).
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
];

const HINT: &str = "move the scenario's file to ci/lint/ (still linted and rendered, never installed by ct), \
or give the kind job what it needs in .github/kind/ct-fixtures/";
const DEFAULTS_HINT: &str = "give the chart a ci/*-values.yaml that installs on kind (ct then installs that \
instead of the defaults), or give the kind job what it needs in .github/kind/ct-fixtures/";

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    if loaded.meta.is_library() {
        return Vec::new();
    }
    // `cargo xtask ct install` skips a chart whose runtime contract needs an outside
    // credential (`--excluded-charts`): nothing of it is installed on kind.
    if let Some(Ok(Ok(contract))) = loaded.files.runtime.as_ref().map(|s| s.content.as_ref())
        && contract.needs_outside_credential().is_some()
    {
        return Vec::new();
    }
    let empty = kind::Fixtures::default();
    let fixtures = loaded.kind_fixtures.as_deref().unwrap_or(&empty);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for scenario in loaded.chart.ct_install_scenarios() {
        for r in loaded.renderings.iter().filter(|r| r.scenario == *scenario && r.succeeded()) {
            let view = Cluster { fixtures, rendered: &r.objects, chart_crds: &loaded.chart_crd_kinds };
            for obj in &r.objects {
                for f in findings(obj, &view) {
                    let f = f.hint(if scenario.values_file.is_some() { HINT } else { DEFAULTS_HINT });
                    let mut d = objects::diagnostic(loaded, obj, &scenario.name, &f);
                    d.message = format!("{} ({})", d.message, installs(scenario));
                    if seen.insert((scenario.name.clone(), d.message.clone())) {
                        out.push(d);
                    }
                }
            }
        }
    }
    out
}

/// `ct install runs ci/x-values.yaml` / `ct install runs the defaults`.
fn installs(s: &Scenario) -> String {
    match &s.values_file {
        Some(f) => {
            let shown: Vec<_> = f.iter().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
            let shown: std::path::PathBuf = shown.iter().collect();
            format!("ct install runs {}", shown.display())
        }
        None => "ct install runs the defaults: the chart has no ci/*-values.yaml".to_owned(),
    }
}

/// What exists once the scenario is installed: the kind job's fixtures and the scenario's objects.
struct Cluster<'a> {
    fixtures: &'a kind::Fixtures,
    rendered: &'a [Object],
    chart_crds: &'a [String],
}

impl Cluster<'_> {
    fn rendered(&self, kind: &str, name: &str) -> bool {
        self.rendered.iter().any(|o| o.kind() == kind && o.name() == name)
    }

    fn crd_kinds(&self) -> BTreeSet<String> {
        let mut kinds: BTreeSet<String> = self.chart_crds.iter().cloned().collect();
        kinds.extend(self.fixtures.crd_kinds());
        for o in self.rendered.iter().filter(|o| o.kind() == "CustomResourceDefinition") {
            let group = o.value.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
            let kind = o.value.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or_default();
            kinds.insert(format!("{group}/{kind}"));
        }
        kinds
    }

    fn storage_classes(&self) -> BTreeSet<String> {
        let mut classes: BTreeSet<String> = kind::STORAGE_CLASSES.iter().map(|s| s.to_string()).collect();
        let made = self.rendered.iter().chain(self.fixtures.objects.iter().map(|(_, o)| o));
        classes.extend(made.filter(|o| o.kind() == "StorageClass").map(|o| o.name().to_owned()));
        classes
    }
}

/// A reference a pod cannot start without.
struct Needed {
    kind: &'static str,
    name: String,
    key: Option<String>,
    path: String,
    what: String,
}

fn findings(obj: &Object, cluster: &Cluster<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let api = obj.api_version();
    let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    if !BUILT_IN_GROUPS.contains(&group) && !cluster.crd_kinds().contains(&format!("{group}/{}", obj.kind()))
    {
        out.push(
            Finding::error(
                RULE_INSTALL_READY,
                "/kind",
                format!(
                    "{api} {} needs a CRD the kind job does not install (helm install fails: no matches for kind)",
                    obj.kind()
                ),
            )
        );
    }
    if let Some(ns) = obj.value.pointer("/metadata/namespace").and_then(Value::as_str)
        && ns != kind::TEST_NAMESPACE
        && !kind::NAMESPACES.contains(&ns)
        && !cluster.rendered("Namespace", ns)
    {
        out.push(Finding::error(
            RULE_INSTALL_READY,
            "/metadata/namespace",
            format!("goes to namespace {ns}, which the kind cluster does not have"),
        ));
    }
    match obj.kind() {
        "Service"
            if obj.value.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
                && obj
                    .value
                    .pointer("/spec/externalIPs")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty) =>
        {
            out.push(Finding::error(
                RULE_INSTALL_READY,
                "/spec/type",
                "a LoadBalancer Service never gets an address on kind, and Helm 3's --wait waits for one",
            ));
        }
        "PersistentVolumeClaim" => {
            out.extend(storage_class(&obj.value["spec"], "/spec", "the claim", cluster))
        }
        "StatefulSet" => {
            for (i, t) in obj
                .value
                .pointer("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let name = t.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?");
                out.extend(storage_class(
                    &t["spec"],
                    &format!("/spec/volumeClaimTemplates/{i}/spec"),
                    &format!("claim template {name}"),
                    cluster,
                ));
            }
        }
        _ => {}
    }
    let Some((spec, sp)) = objects::pod_spec(obj) else { return out };

    let level = cluster.fixtures.pod_security();
    let pss = if level == "privileged" { Vec::new() } else { super::pss::findings(obj) };
    let rejected: Vec<String> = pss.iter().map(|f| format!("{}: {}", f.rule, f.message)).collect();
    if let Some(first) = pss.first() {
        out.push(Finding::error(
            RULE_INSTALL_READY,
            first.path.clone(),
            format!(
                "the test namespace's Pod Security \"{level}\" level rejects its pods ({})",
                rejected.join("; ")
            ),
        ));
    }
    for (label, value) in spec.get("nodeSelector").and_then(Value::as_object).into_iter().flatten() {
        let value = value.as_str().unwrap_or_default();
        if !kind::NODE_LABELS.contains(&(label.as_str(), value)) {
            out.push(
                Finding::error(
                    RULE_INSTALL_READY,
                    format!("{sp}/nodeSelector/{}", label.replace('~', "~0").replace('/', "~1")),
                    format!(
                        "selects nodes with {label}={value}: the install matrix runs amd64 and arm64 kind nodes, so some of its jobs have none"
                    ),
                )
                );
        }
    }
    for need in needed(spec, sp) {
        let made = cluster.rendered(need.kind, &need.name);
        let fixture = cluster.fixtures.get(need.kind, &need.name);
        let message = match (made, fixture) {
            (true, _) => continue,
            (false, None) => format!(
                "{} {} {}, which neither the scenario renders nor {} holds",
                need.what,
                need.kind,
                need.name,
                kind::FIXTURES_DIR
            ),
            (false, Some(f)) => match &need.key {
                Some(key) if !has_key(f, key) => format!(
                    "{} key {key} of {} {}, which the fixture in {} lacks",
                    need.what,
                    need.kind,
                    need.name,
                    kind::FIXTURES_DIR
                ),
                _ => continue,
            },
        };
        out.push(Finding::error(RULE_INSTALL_READY, need.path, message));
    }
    out
}

fn storage_class(spec: &Value, path: &str, what: &str, cluster: &Cluster<'_>) -> Option<Finding> {
    let class = spec.get("storageClassName")?.as_str()?;
    let known = cluster.storage_classes();
    if known.contains(class) {
        return None;
    }
    let why = if class.is_empty() {
        "storageClassName \"\" binds only a pre-made volume, and kind has none".to_owned()
    } else {
        format!(
            "StorageClass {class} does not exist on kind (it has {})",
            known.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    Some(Finding::error(
        RULE_INSTALL_READY,
        format!("{path}/storageClassName"),
        format!("{what} stays Pending: {why}"),
    ))
}

fn has_key(obj: &Object, key: &str) -> bool {
    ["data", "stringData", "binaryData"].iter().any(|f| obj.value.get(f).and_then(|d| d.get(key)).is_some())
}

/// What a pod spec cannot start without (optional references left out).
fn needed(spec: &Value, sp: &str) -> Vec<Needed> {
    let optional = |v: &Value| v.get("optional").and_then(Value::as_bool) == Some(true);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut out = Vec::new();
    let account = text(spec, "serviceAccountName").or_else(|| text(spec, "serviceAccount"));
    if let Some(name) = account.filter(|n| n != "default") {
        out.push(Needed {
            kind: "ServiceAccount",
            name,
            key: None,
            path: format!("{sp}/serviceAccountName"),
            what: "runs as".into(),
        });
    }
    for (i, vol) in spec.get("volumes").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let vp = format!("{sp}/volumes/{i}");
        let items = |v: &Value| -> Vec<Option<String>> {
            match v.get("items").and_then(Value::as_array) {
                Some(items) => items.iter().map(|it| text(it, "key")).collect(),
                None => vec![None],
            }
        };
        if let Some(s) = vol.get("secret").filter(|s| !optional(s))
            && let Some(name) = text(s, "secretName")
        {
            for key in items(s) {
                out.push(Needed {
                    kind: "Secret",
                    name: name.clone(),
                    key,
                    path: format!("{vp}/secret"),
                    what: "mounts".into(),
                });
            }
        }
        if let Some(c) = vol.get("configMap").filter(|c| !optional(c))
            && let Some(name) = text(c, "name")
        {
            for key in items(c) {
                out.push(Needed {
                    kind: "ConfigMap",
                    name: name.clone(),
                    key,
                    path: format!("{vp}/configMap"),
                    what: "mounts".into(),
                });
            }
        }
        if let Some(name) = vol.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) {
            out.push(Needed {
                kind: "PersistentVolumeClaim",
                name: name.to_owned(),
                key: None,
                path: format!("{vp}/persistentVolumeClaim"),
                what: "mounts".into(),
            });
        }
        for (j, src) in
            vol.pointer("/projected/sources").and_then(Value::as_array).into_iter().flatten().enumerate()
        {
            for (field, kind) in [("secret", "Secret"), ("configMap", "ConfigMap")] {
                if let Some(s) = src.get(field).filter(|s| !optional(s))
                    && let Some(name) = text(s, "name")
                {
                    for key in items(s) {
                        out.push(Needed {
                            kind,
                            name: name.clone(),
                            key,
                            path: format!("{vp}/projected/sources/{j}/{field}"),
                            what: "mounts".into(),
                        });
                    }
                }
            }
        }
    }
    for c in objects::containers(spec, sp) {
        for (i, e) in c.value.get("env").and_then(Value::as_array).into_iter().flatten().enumerate() {
            for (field, kind) in [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")] {
                if let Some(r) = e.pointer(&format!("/valueFrom/{field}")).filter(|r| !optional(r))
                    && let Some(name) = text(r, "name")
                {
                    out.push(Needed {
                        kind,
                        name,
                        key: text(r, "key"),
                        path: format!("{}/env/{i}/valueFrom/{field}", c.path),
                        what: format!("{} reads", c.label),
                    });
                }
            }
        }
        for (i, e) in c.value.get("envFrom").and_then(Value::as_array).into_iter().flatten().enumerate() {
            for (field, kind) in [("secretRef", "Secret"), ("configMapRef", "ConfigMap")] {
                if let Some(r) = e.get(field).filter(|r| !optional(r))
                    && let Some(name) = text(r, "name")
                {
                    out.push(Needed {
                        kind,
                        name,
                        key: None,
                        path: format!("{}/envFrom/{i}/{field}", c.path),
                        what: format!("{} reads", c.label),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object { source: None, line: 1, value: v }
    }

    fn restricted_pod(extra: Value) -> Value {
        let mut spec = json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "x", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
        });
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
               "spec": {"template": {"spec": spec}}})
    }

    fn run(objects: &[Value], fixtures: &kind::Fixtures) -> Vec<String> {
        let rendered: Vec<Object> = objects.iter().cloned().map(obj).collect();
        let cluster = Cluster { fixtures, rendered: &rendered, chart_crds: &[] };
        rendered
            .iter()
            .flat_map(|o| findings(o, &cluster))
            .map(|f| format!("{} {}", f.path, f.message))
            .collect()
    }

    fn fixtures(objects: &[Value]) -> kind::Fixtures {
        kind::Fixtures { objects: objects.iter().cloned().map(|v| ("f.yaml".into(), obj(v))).collect() }
    }

    #[test]
    fn a_restricted_pod_with_what_it_needs_is_clean() {
        let pod = restricted_pod(json!({"serviceAccountName": "app", "volumes": [
            {"name": "c", "configMap": {"name": "app"}},
            {"name": "s", "secret": {"secretName": "mine", "optional": true}}]}));
        let made = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}});
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}});
        assert_eq!(run(&[pod, made, sa], &kind::Fixtures::default()), Vec::<String>::new());
    }

    #[test]
    fn what_a_pod_needs_must_be_rendered_or_a_fixture_with_the_key() {
        let pod = restricted_pod(json!({
            "serviceAccountName": "robot",
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
                        {"name": "t", "secret": {"secretName": "tls", "items": [{"key": "tls.crt", "path": "c"}]}}],
            "containers": [{"name": "app", "image": "x",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "auth", "key": "password"}}}],
                "envFrom": [{"configMapRef": {"name": "env"}}]}]}));
        let found = run(std::slice::from_ref(&pod), &kind::Fixtures::default());
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found[0].contains("runs as ServiceAccount robot"), "{found:#?}");
        assert!(found.iter().any(|f| f.contains("container \"app\" reads Secret auth")), "{found:#?}");
        let fx = fixtures(&[
            json!({"kind": "ServiceAccount", "metadata": {"name": "robot"}}),
            json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "data"}}),
            json!({"kind": "Secret", "metadata": {"name": "tls"}, "data": {"tls.key": "eA=="}}),
            json!({"kind": "Secret", "metadata": {"name": "auth"}, "stringData": {"password": "x"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "env"}, "data": {}}),
        ]);
        let found = run(&[pod], &fx);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains(
            "mounts key tls.crt of Secret tls, which the fixture in .github/kind/ct-fixtures lacks"
        ));
    }

    #[test]
    fn pods_the_namespace_rejects_and_nodes_it_cannot_find() {
        let pod = restricted_pod(
            json!({"hostNetwork": true, "nodeSelector": {"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux"}}),
        );
        let found = run(&[pod], &kind::Fixtures::default());
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("/spec/template/spec/hostNetwork the test namespace's Pod Security \"restricted\" level rejects its pods (pss/host-namespaces: hostNetwork is true)"), "{found:#?}");
        assert!(found[1].starts_with(
            "/spec/template/spec/nodeSelector/kubernetes.io~1arch selects nodes with kubernetes.io/arch=arm64"
        ));
    }

    #[test]
    fn kinds_without_crds_load_balancers_storage_and_namespaces() {
        let route = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}});
        let lb = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "gateway"}, "spec": {"type": "LoadBalancer"}});
        let ext = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "e"}, "spec": {"type": "LoadBalancer", "externalIPs": ["1.2.3.4"]}});
        let pvc = |class: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": class}, "spec": {"storageClassName": class}});
        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "local-path"}}]}});
        let found = run(
            &[route.clone(), lb, ext, pvc(""), pvc("standard"), pvc("fast"), sts],
            &kind::Fixtures::default(),
        );
        assert_eq!(found.len(), 6, "{found:#?}");
        assert!(found[0].contains("gateway.networking.k8s.io/v1 HTTPRoute needs a CRD"));
        assert!(found[1].contains("namespace gateway"));
        assert!(found[2].contains("LoadBalancer Service never gets an address"));
        assert!(found[3].contains("storageClassName \"\" binds only a pre-made volume"));
        assert!(found[4].contains("StorageClass fast does not exist on kind (it has standard)"));
        assert!(found[5].starts_with(
            "/spec/volumeClaimTemplates/0/spec/storageClassName claim template data stays Pending"
        ));
        // A CRD among the fixtures makes the kind installable.
        let crd = json!({"kind": "CustomResourceDefinition", "metadata": {"name": "httproutes.gateway.networking.k8s.io"},
            "spec": {"group": "gateway.networking.k8s.io", "names": {"kind": "HTTPRoute"}}});
        assert_eq!(run(&[route], &fixtures(&[crd])), Vec::<String>::new());
    }
}
