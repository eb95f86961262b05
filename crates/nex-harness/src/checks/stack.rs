//! Stack rules: what only shows when releases are judged together — a name a
//! release writes that no Service answers, a NetworkPolicy that drops a flow
//! the stack needs, a Secret nobody makes, requests that do not fit the node,
//! an image without the node's architecture, two releases making one object.
//!
//! Pure: the stack's renderings come in as a [`View`], findings go out.

use crate::diag::{Diagnostic, Location};
use crate::manifest::Object;
use crate::quantity;
use crate::rule::{EVERY, Rule};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A stack file or one of its values files is broken (reported by `crate::stack::file`).
pub const RULE_FILE: Rule = Rule::error(
    "stack/file",
    EVERY,
    "(`stack lint`) a stack file or one of its values files is broken: an unknown key, a wrong type, a chart folder or values file that does not exist, a node or release named twice, a key given twice in a values file",
);
/// A release's `helm template` failed (reported by `crate::stack`).
pub const RULE_RENDER: Rule =
    Rule::error("stack/render", EVERY, "(`stack lint`) a release of the stack cannot be rendered");
pub const RULE_REFERENCE: Rule = Rule::error(
    "stack/reference",
    EVERY,
    "(`stack lint`) a Service address a release writes (`svc.ns[.svc[.cluster.local]][:port]` in config, env, args, a Middleware; an HTTPRoute backendRef; an Ingress backend) that no Service of the stack, nor its `external:` list, answers on that port",
);
pub const RULE_NETWORK_POLICY: Rule = Rule::error(
    "stack/network-policy",
    EVERY,
    "(`stack lint`) a flow the stack needs (each reference, and gateway → each routed Service) that the NetworkPolicies of the source (egress) or the destination (ingress) deny, evaluated as Kubernetes does",
);
pub const RULE_SECRET_REF: Rule = Rule::error(
    "stack/secret-ref",
    EVERY,
    "(`stack lint`) a Secret or ConfigMap a pod reads (volume, env, envFrom, imagePullSecrets) that no release renders and `external:` does not declare",
);
pub const RULE_BUDGET: Rule = Rule::error(
    "stack/budget",
    EVERY,
    "(`stack lint`) a node whose pods' requests exceed what it offers after the reserve; a warning when memory limits overcommit it",
);
pub const RULE_ARCH: Rule = Rule::error(
    "stack/arch",
    EVERY,
    "(`stack lint`) an image without a build for the architecture of the node(s) it runs on (from `images.lock.yaml`)",
);
pub const RULE_NAME_CLASH: Rule = Rule::error(
    "stack/name-clash",
    EVERY,
    "(`stack lint`) two releases render the same kind, namespace and name",
);
pub const RULES: &[Rule] = &[
    RULE_FILE,
    RULE_REFERENCE,
    RULE_NETWORK_POLICY,
    RULE_SECRET_REF,
    RULE_BUDGET,
    RULE_ARCH,
    RULE_NAME_CLASH,
    RULE_RENDER,
];

/// Namespace a routed request comes from when the stack names no gateway: a
/// namespace no policy can know, so only "from anywhere" admits it.
pub const UNNAMED_GATEWAY_NAMESPACE: &str = "(any ingress controller)";

/// A rendered release, with where its parts are written.
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// Namespaced objects carry their namespace (the release's when the template left it out).
    pub objects: Vec<Object>,
    /// Its entry in the stack file.
    pub at: Location,
    /// The pinned node, if any.
    pub node: Option<String>,
    /// Values files in merge order, parsed (to point at the value a finding is about).
    pub values: Vec<(std::path::PathBuf, crate::yaml::Node)>,
}

pub struct Node {
    pub name: String,
    pub arch: String,
    pub cpu_millis: u64,
    pub memory: u64,
    pub at: Location,
}

pub struct External {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub ports: Vec<u16>,
}

pub struct Gateway {
    pub namespace: String,
    pub pod_labels: BTreeMap<String, String>,
}

pub struct View<'a> {
    pub stack: &'a str,
    pub releases: &'a [Release],
    pub nodes: &'a [Node],
    pub reserve_cpu_millis: u64,
    pub reserve_memory: u64,
    pub external: &'a [External],
    pub gateway: Option<&'a Gateway>,
    /// Extra labels per namespace (besides `kubernetes.io/metadata.name`).
    pub namespace_labels: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Image reference (as rendered, digest stripped) → platforms (`linux/arm64`), when known.
    pub platforms: &'a BTreeMap<String, Vec<String>>,
}

/// Every stack rule over one stack.
pub fn check(view: &View<'_>) -> Vec<Diagnostic> {
    let index = Index::of(view);
    let mut out = name_clash(view);
    out.extend(secret_refs(view, &index));
    let (refs, mut ref_findings) = references(view, &index);
    out.append(&mut ref_findings);
    out.extend(network_policy(view, &index, &refs));
    out.extend(budget(view).1);
    out.extend(arch(view));
    out
}

// ---------------------------------------------------------------- objects

/// The stack's objects, indexed once per check: every lookup by name is a map
/// lookup, not a scan of every object (a 4 000-object stack took 50 s).
struct Index<'a> {
    /// (kind, namespace, name) of every object.
    names: BTreeSet<(&'a str, &'a str, &'a str)>,
    /// Services by (namespace, name), the first rendered one.
    services: BTreeMap<(&'a str, &'a str), &'a Object>,
    /// NetworkPolicies by namespace.
    policies: BTreeMap<&'a str, Vec<&'a Object>>,
    /// Workload pods (hooks left out): all, by namespace, by release.
    pods: Vec<Pod<'a>>,
    pods_in: BTreeMap<&'a str, Vec<usize>>,
    pods_of: BTreeMap<usize, Vec<usize>>,
    external: &'a [External],
}

impl<'a> Index<'a> {
    fn of(view: &'a View<'_>) -> Self {
        let mut index = Index {
            names: BTreeSet::new(),
            services: BTreeMap::new(),
            policies: BTreeMap::new(),
            pods: pods(view, false),
            pods_in: BTreeMap::new(),
            pods_of: BTreeMap::new(),
            external: view.external,
        };
        for o in view.releases.iter().flat_map(|r| &r.objects) {
            index.names.insert((o.kind(), namespace_of(o), o.name()));
            match o.kind() {
                "Service" => {
                    index.services.entry((namespace_of(o), o.name())).or_insert(o);
                }
                "NetworkPolicy" => index.policies.entry(namespace_of(o)).or_default().push(o),
                _ => {}
            }
        }
        for (i, p) in index.pods.iter().enumerate() {
            index.pods_in.entry(p.namespace).or_default().push(i);
            index.pods_of.entry(p.release).or_default().push(i);
        }
        index
    }

    /// An object of the stack (or one `external:` declares) with this kind, namespace and name.
    fn exists(&self, kind: &str, namespace: &str, name: &str) -> bool {
        self.names.contains(&(kind, namespace, name))
            || self.external.iter().any(|e| {
                e.kind == kind && e.name == name && e.namespace.as_deref().is_none_or(|n| n == namespace)
            })
    }

    fn service(&self, namespace: &str, name: &str) -> Option<&'a Object> {
        self.services.get(&(namespace, name)).copied()
    }

    fn policies_in(&self, namespace: &str) -> &[&'a Object] {
        self.policies.get(namespace).map_or(&[], Vec::as_slice)
    }

    fn pods_in(&self, namespace: &str) -> impl Iterator<Item = &Pod<'a>> {
        self.pods_in.get(namespace).into_iter().flatten().map(|i| &self.pods[*i])
    }

    fn pods_of(&self, release: usize) -> impl Iterator<Item = &Pod<'a>> {
        self.pods_of.get(&release).into_iter().flatten().map(|i| &self.pods[*i])
    }
}

pub(crate) fn namespace_of(o: &Object) -> &str {
    o.value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn is_hook(o: &Object) -> bool {
    o.value.pointer("/metadata/annotations/helm.sh~1hook").is_some()
}

/// A pod template of a workload: (labels, pod spec, replicas).
pub(crate) struct Pod<'a> {
    pub(crate) release: usize,
    pub(crate) namespace: &'a str,
    pub(crate) owner: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) spec: &'a Value,
    /// Copies; `None` for a DaemonSet (one per node).
    replicas: Option<u64>,
}

pub(crate) fn pods<'a>(view: &'a View<'_>, with_hooks: bool) -> Vec<Pod<'a>> {
    let mut out = Vec::new();
    for (ri, r) in view.releases.iter().enumerate() {
        for o in &r.objects {
            if is_hook(o) && !with_hooks {
                continue;
            }
            let (template, replicas) = match o.kind() {
                "Deployment" | "StatefulSet" | "ReplicaSet" => (
                    o.value.pointer("/spec/template"),
                    Some(o.value.pointer("/spec/replicas").and_then(Value::as_u64).unwrap_or(1)),
                ),
                "DaemonSet" => (o.value.pointer("/spec/template"), None),
                "Job" => (o.value.pointer("/spec/template"), Some(1)),
                "CronJob" => (o.value.pointer("/spec/jobTemplate/spec/template"), Some(1)),
                "Pod" => (Some(&o.value), Some(1)),
                _ => (None, None),
            };
            let Some(t) = template else { continue };
            let Some(spec) = t.get("spec") else { continue };
            out.push(Pod {
                release: ri,
                namespace: namespace_of(o),
                owner: o.id(),
                labels: string_map(t.pointer("/metadata/labels")),
                spec,
                replicas,
            });
        }
    }
    out
}

pub(crate) fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect())
        .unwrap_or_default()
}

pub(crate) fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["containers", "initContainers"]
        .into_iter()
        .flat_map(move |k| spec.get(k).and_then(Value::as_array).into_iter().flatten())
}

/// Where a finding about text a release wrote points: the values file that
/// holds the text, else the release's entry in the stack file.
fn place(release: &Release, needle: &str) -> Location {
    if !needle.is_empty() {
        for (path, root) in release.values.iter().rev() {
            let mut found = None;
            root.walk(&mut |_, node, _| {
                if found.is_none() && node.as_str().is_some_and(|s| s.contains(needle)) {
                    found = Some(node.span.start);
                }
            });
            if let Some(at) = found {
                return Location::at(path, at.line.max(1), at.column.max(1));
            }
        }
    }
    release.at.clone()
}

// ---------------------------------------------------------------- name-clash

fn name_clash(view: &View<'_>) -> Vec<Diagnostic> {
    let mut seen: BTreeMap<(String, String, String), &str> = BTreeMap::new();
    let mut out = Vec::new();
    for r in view.releases {
        for o in &r.objects {
            if is_hook(o) {
                continue;
            }
            let key = (o.kind().to_owned(), namespace_of(o).to_owned(), o.name().to_owned());
            match seen.get(&key) {
                Some(first) if *first != r.name => out.push(
                    Diagnostic::error(
                        RULE_NAME_CLASH,
                        &r.name,
                        format!(
                            "{} {}{} is rendered by release `{first}` and by release `{}`",
                            key.0,
                            if key.1.is_empty() { String::new() } else { format!("{}/", key.1) },
                            key.2,
                            r.name
                        ),
                    )
                    .at(r.at.clone())
                    .hint("give one of the releases another name, or turn the object off in its values"),
                ),
                Some(_) => {}
                None => {
                    seen.insert(key, &r.name);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------- secret-ref

pub(crate) fn exists(view: &View<'_>, kind: &str, namespace: &str, name: &str) -> bool {
    view.releases
        .iter()
        .flat_map(|r| &r.objects)
        .any(|o| o.kind() == kind && namespace_of(o) == namespace && o.name() == name)
        || view.external.iter().any(|e| {
            e.kind == kind && e.name == name && e.namespace.as_deref().is_none_or(|n| n == namespace)
        })
}

fn secret_refs(view: &View<'_>, index: &Index<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut reported = BTreeSet::new();
    for pod in pods(view, true) {
        let mut refs: Vec<(&str, String)> = Vec::new();
        let optional = |v: &Value| v.get("optional").and_then(Value::as_bool) == Some(true);
        for vol in pod.spec.get("volumes").and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = vol.get("secret").filter(|s| !optional(s)) {
                refs.extend(s.get("secretName").and_then(Value::as_str).map(|n| ("Secret", n.to_owned())));
            }
            if let Some(c) = vol.get("configMap").filter(|c| !optional(c)) {
                refs.extend(c.get("name").and_then(Value::as_str).map(|n| ("ConfigMap", n.to_owned())));
            }
            for src in vol.pointer("/projected/sources").and_then(Value::as_array).into_iter().flatten() {
                for (key, kind) in [("secret", "Secret"), ("configMap", "ConfigMap")] {
                    if let Some(s) = src.get(key).filter(|s| !optional(s)) {
                        refs.extend(s.get("name").and_then(Value::as_str).map(|n| (kind, n.to_owned())));
                    }
                }
            }
        }
        for c in containers(pod.spec) {
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                for (key, kind) in [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")] {
                    if let Some(r) = e.pointer(&format!("/valueFrom/{key}")).filter(|r| !optional(r)) {
                        refs.extend(r.get("name").and_then(Value::as_str).map(|n| (kind, n.to_owned())));
                    }
                }
            }
            for e in c.get("envFrom").and_then(Value::as_array).into_iter().flatten() {
                for (key, kind) in [("secretRef", "Secret"), ("configMapRef", "ConfigMap")] {
                    if let Some(r) = e.get(key).filter(|r| !optional(r)) {
                        refs.extend(r.get("name").and_then(Value::as_str).map(|n| (kind, n.to_owned())));
                    }
                }
            }
        }
        for s in pod.spec.get("imagePullSecrets").and_then(Value::as_array).into_iter().flatten() {
            refs.extend(s.get("name").and_then(Value::as_str).map(|n| ("Secret", n.to_owned())));
        }
        let release = &view.releases[pod.release];
        for (kind, name) in refs {
            if index.exists(kind, pod.namespace, &name)
                || !reported.insert((kind, pod.namespace.to_owned(), name.clone()))
            {
                continue;
            }
            out.push(
                Diagnostic::error(
                    RULE_SECRET_REF,
                    &release.name,
                    format!(
                        "{} reads {kind} {}/{name}, which no release of the stack renders and `external:` does not declare",
                        pod.owner, pod.namespace
                    ),
                )
                .at(place(release, &name))
                .hint("create it (and list it under `external:` in the stack file), or fix the name"),
            );
        }
    }
    out
}

// ---------------------------------------------------------------- references

/// A Service endpoint a release's objects name.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The release whose object names it (the flow's source), or `None` for routed traffic.
    pub from: Option<usize>,
    pub what: String,
    pub namespace: String,
    pub service: String,
    /// Service port (number) when written; `None`: every port of the Service.
    pub port: Option<u16>,
    /// A port written by name (an Ingress backend's `port.name`) that the
    /// Service does not name: the backend leads nowhere.
    pub unknown_port_name: Option<String>,
    pub at: Location,
    pub chart: String,
}

fn services<'a>(view: &'a View<'_>) -> impl Iterator<Item = &'a Object> {
    view.releases.iter().flat_map(|r| &r.objects).filter(|o| o.kind() == "Service")
}

fn stack_namespaces(view: &View<'_>) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = view.releases.iter().map(|r| r.namespace.clone()).collect();
    set.extend(view.external.iter().filter_map(|e| e.namespace.clone()));
    set
}

/// Host[:port] names a string holds that point into the cluster: `svc.ns`,
/// `svc.ns.svc`, `svc.ns.svc.cluster.local` with `ns` a namespace of the stack.
fn hosts_in(text: &str, namespaces: &BTreeSet<String>) -> Vec<(String, String, Option<u16>, String)> {
    let mut out = Vec::new();
    let is_host = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':';
    for token in text.split(|c: char| !is_host(c)) {
        let token = token.trim_matches(|c| c == '.' || c == ':');
        let (host, port) = match token.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                (h, p.parse::<u16>().ok())
            }
            Some((h, "")) => (h, None),
            Some(_) => continue,
            None => (token, None),
        };
        let host = host.trim_end_matches('.');
        let labels: Vec<&str> = host.split('.').collect();
        let (svc, ns) = match labels.as_slice() {
            [svc, ns] => (*svc, *ns),
            [svc, ns, "svc"] => (*svc, *ns),
            [svc, ns, "svc", "cluster", "local"] => (*svc, *ns),
            _ => continue,
        };
        if svc.is_empty() || !namespaces.contains(ns) {
            continue;
        }
        out.push((svc.to_owned(), ns.to_owned(), port, host.to_owned()));
    }
    out
}

/// Strings an object writes that may hold an address, with their JSON
/// pointer: every string outside `metadata` (config files in ConfigMaps, env,
/// args, a Middleware's forwardAuth address…), and a Secret's `data` decoded.
fn strings_of(o: &Object) -> Vec<(String, String)> {
    fn walk(v: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
        match v {
            Value::String(s) => out.push((path.clone(), s.clone())),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    walk(item, path, out);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&crate::yaml::escape_token(k));
                    walk(item, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let Some(map) = o.value.as_object() else { return out };
    for (k, v) in map.iter().filter(|(k, _)| k.as_str() != "metadata") {
        let mut path = format!("/{k}");
        if o.kind() == "Secret" && k == "data" {
            for (key, val) in v.as_object().into_iter().flatten() {
                if let Some(decoded) = val.as_str().and_then(base64_decode) {
                    out.push((format!("/data/{key}"), decoded));
                }
            }
            continue;
        }
        walk(v, &mut path, &mut out);
    }
    out
}

/// Objects the gateway or ingress controller reads (routes, Traefik's own kinds).
fn gateway_side(o: &Object) -> bool {
    let group = o.api_version().split('/').next().unwrap_or("");
    matches!(group, "traefik.io" | "traefik.containo.us" | "gateway.networking.k8s.io")
}

pub(crate) fn base64_decode(s: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=') {
        let v = ALPHABET.iter().position(|a| *a == b)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

fn references(view: &View<'_>, index: &Index<'_>) -> (Vec<Reference>, Vec<Diagnostic>) {
    let namespaces = stack_namespaces(view);
    let mut refs = Vec::new();
    for (ri, r) in view.releases.iter().enumerate() {
        let push_text = |refs: &mut Vec<Reference>, from: Option<usize>, what: String, text: &str| {
            for (svc, ns, port, host) in hosts_in(text, &namespaces) {
                let needle = match port {
                    Some(p) => format!("{host}:{p}"),
                    None => host.clone(),
                };
                refs.push(Reference {
                    from,
                    what: what.clone(),
                    namespace: ns,
                    service: svc,
                    port,
                    unknown_port_name: None,
                    at: place(r, &needle).clone(),
                    chart: r.name.clone(),
                });
            }
        };
        for o in &r.objects {
            if is_hook(o) {
                continue;
            }
            // A proxy's own configuration (a Traefik Middleware's forwardAuth
            // address) is dialled by the gateway, not by the release's pods.
            let from = if gateway_side(o) { None } else { Some(ri) };
            for (pointer, text) in strings_of(o) {
                push_text(&mut refs, from, format!("{} {pointer}", o.id()), &text);
            }
            match o.kind() {
                "HTTPRoute" | "GRPCRoute" | "TCPRoute" | "TLSRoute" | "UDPRoute" => {
                    for rule in o.value.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten()
                    {
                        for b in rule.get("backendRefs").and_then(Value::as_array).into_iter().flatten() {
                            let kind = b.get("kind").and_then(Value::as_str).unwrap_or("Service");
                            if kind != "Service" {
                                continue;
                            }
                            let Some(name) = b.get("name").and_then(Value::as_str) else { continue };
                            let ns = b.get("namespace").and_then(Value::as_str).unwrap_or(namespace_of(o));
                            refs.push(Reference {
                                from: None,
                                what: format!("{} backendRef", o.id()),
                                namespace: ns.to_owned(),
                                service: name.to_owned(),
                                port: b
                                    .get("port")
                                    .and_then(Value::as_u64)
                                    .and_then(|p| u16::try_from(p).ok()),
                                unknown_port_name: None,
                                at: place(r, name),
                                chart: r.name.clone(),
                            });
                        }
                    }
                }
                "Ingress" => {
                    let mut backends: Vec<&Value> =
                        o.value.pointer("/spec/defaultBackend/service").into_iter().collect();
                    for rule in o.value.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten()
                    {
                        for p in rule.pointer("/http/paths").and_then(Value::as_array).into_iter().flatten() {
                            backends.extend(p.pointer("/backend/service"));
                        }
                    }
                    for b in backends {
                        let Some(name) = b.get("name").and_then(Value::as_str) else { continue };
                        let mut unknown_port_name = None;
                        let port = match b.pointer("/port/number").and_then(Value::as_u64) {
                            Some(p) => u16::try_from(p).ok(),
                            None => {
                                // A named port: resolve it on the Service.
                                let pname = b.pointer("/port/name").and_then(Value::as_str).unwrap_or("");
                                let found = index.service(namespace_of(o), name).and_then(|s| {
                                    service_ports(s).into_iter().find(|p| p.name == pname).map(|p| p.port)
                                });
                                if found.is_none() && !pname.is_empty() {
                                    unknown_port_name = Some(pname.to_owned());
                                }
                                found
                            }
                        };
                        refs.push(Reference {
                            from: None,
                            what: format!("{} backend", o.id()),
                            namespace: namespace_of(o).to_owned(),
                            service: name.to_owned(),
                            port,
                            unknown_port_name,
                            at: place(r, name),
                            chart: r.name.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    let mut findings = Vec::new();
    let mut resolved = Vec::new();
    let mut seen = BTreeSet::new();
    for r in refs {
        let problem = match index.service(&r.namespace, &r.service) {
            Some(s) => match (r.port, &r.unknown_port_name) {
                (_, Some(name)) => {
                    let named: Vec<String> = service_ports(s)
                        .iter()
                        .map(|p| if p.name.is_empty() { p.port.to_string() } else { format!("{:?}", p.name) })
                        .collect();
                    let has = if named.is_empty() {
                        "it has no ports".to_owned()
                    } else {
                        format!("it names {}", named.join(", "))
                    };
                    Some(format!("Service {}/{} names no port {name:?} ({has})", r.namespace, r.service))
                }
                (Some(p), _) if !service_ports(s).iter().any(|sp| sp.port == p) => Some(format!(
                    "Service {}/{} has no port {p} (it serves {})",
                    r.namespace,
                    r.service,
                    service_ports(s).iter().map(|p| p.port.to_string()).collect::<Vec<_>>().join(", ")
                )),
                _ => None,
            },
            None => match view.external.iter().find(|e| {
                e.kind == "Service"
                    && e.name == r.service
                    && e.namespace.as_deref().is_none_or(|n| n == r.namespace)
            }) {
                Some(e) => match r.port {
                    Some(p) if !e.ports.is_empty() && !e.ports.contains(&p) => {
                        Some(format!("external Service {}/{} declares no port {p}", r.namespace, r.service))
                    }
                    _ => None,
                },
                None => Some(format!(
                    "no Service {}/{} in the stack or its `external:` list",
                    r.namespace, r.service
                )),
            },
        };
        match problem {
            Some(p) => {
                if seen.insert((
                    r.chart.clone(),
                    r.namespace.clone(),
                    r.service.clone(),
                    r.port,
                    r.unknown_port_name.clone(),
                )) {
                    findings.push(
                        Diagnostic::error(RULE_REFERENCE, &r.chart, format!("{} names {}: {p}", r.what, endpoint(&r)))
                            .at(r.at.clone())
                            .hint("name a Service and port the stack renders (check the release name, namespace and port), or declare it under `external:`"),
                    );
                }
            }
            None => resolved.push(r),
        }
    }
    (resolved, findings)
}

fn endpoint(r: &Reference) -> String {
    match r.port {
        Some(p) => format!("{}.{}:{p}", r.service, r.namespace),
        None => format!("{}.{}", r.service, r.namespace),
    }
}

pub(crate) fn service<'a>(view: &'a View<'_>, namespace: &str, name: &str) -> Option<&'a Object> {
    services(view).find(|s| namespace_of(s) == namespace && s.name() == name)
}

pub(crate) struct ServicePort {
    pub(crate) name: String,
    pub(crate) port: u16,
    pub(crate) target: Value,
    pub(crate) protocol: String,
}

pub(crate) fn service_ports(s: &Object) -> Vec<ServicePort> {
    s.value
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p.get("port")?.as_u64()?).ok()?;
            Some(ServicePort {
                name: p.get("name").and_then(Value::as_str).unwrap_or("").to_owned(),
                port,
                target: p.get("targetPort").cloned().unwrap_or(Value::from(port)),
                protocol: p.get("protocol").and_then(Value::as_str).unwrap_or("TCP").to_owned(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------- network policy

/// One end of a flow: pods in a namespace with labels.
pub(crate) struct Peer<'a> {
    pub(crate) namespace: String,
    pub(crate) labels: BTreeMap<String, String>,
    /// The pod spec, to resolve named ports (destination side).
    pub(crate) spec: Option<&'a Value>,
}

fn network_policy(view: &View<'_>, index: &Index<'_>, refs: &[Reference]) -> Vec<Diagnostic> {
    let gateway = view.gateway.map_or_else(
        || Peer { namespace: UNNAMED_GATEWAY_NAMESPACE.to_owned(), labels: BTreeMap::new(), spec: None },
        |g| Peer { namespace: g.namespace.clone(), labels: g.pod_labels.clone(), spec: None },
    );
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for r in refs {
        let Some(svc) = index.service(&r.namespace, &r.service) else { continue };
        let selector = string_map(svc.value.pointer("/spec/selector"));
        if selector.is_empty() {
            continue;
        }
        let dests: Vec<&Pod<'_>> = index
            .pods_in(&r.namespace)
            .filter(|p| {
                p.namespace == r.namespace && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
            })
            .collect();
        let ports: Vec<ServicePort> =
            service_ports(svc).into_iter().filter(|p| r.port.is_none_or(|want| want == p.port)).collect();
        // A release naming its own Service (allowed hosts, self checks) is no flow between releases.
        if r.from.is_some_and(|ri| dests.iter().all(|d| d.release == ri)) {
            continue;
        }
        let sources: Vec<Peer<'_>> = match r.from {
            None => vec![Peer {
                namespace: gateway.namespace.clone(),
                labels: gateway.labels.clone(),
                spec: None,
            }],
            Some(ri) => index
                .pods_of(ri)
                .filter(|p| p.release == ri)
                .map(|p| Peer {
                    namespace: p.namespace.to_owned(),
                    labels: p.labels.clone(),
                    spec: Some(p.spec),
                })
                .collect(),
        };
        for src in &sources {
            for d in &dests {
                let dst =
                    Peer { namespace: d.namespace.to_owned(), labels: d.labels.clone(), spec: Some(d.spec) };
                for sp in &ports {
                    let Some(target) = resolve_target(&sp.target, d.spec) else { continue };
                    let named = sp.target.as_str().map(str::to_owned);
                    let verdict = if !allowed(
                        view,
                        index.policies_in(&src.namespace),
                        Direction::Egress,
                        src,
                        &dst,
                        target,
                        named.as_deref(),
                        &sp.protocol,
                    ) {
                        Some("egress from the source")
                    } else if !allowed(
                        view,
                        index.policies_in(&dst.namespace),
                        Direction::Ingress,
                        &dst,
                        src,
                        target,
                        named.as_deref(),
                        &sp.protocol,
                    ) {
                        Some("ingress to the destination")
                    } else {
                        None
                    };
                    let Some(side) = verdict else { continue };
                    let from = match r.from {
                        Some(ri) => format!(
                            "the pods of release `{}` (namespace {})",
                            view.releases[ri].name, src.namespace
                        ),
                        None => format!(
                            "the gateway (namespace {}, {})",
                            gateway.namespace,
                            show_labels(&gateway.labels)
                        ),
                    };
                    if seen.insert((
                        r.chart.clone(),
                        r.namespace.clone(),
                        r.service.clone(),
                        target,
                        from.clone(),
                    )) {
                        out.push(
                            Diagnostic::error(
                                RULE_NETWORK_POLICY,
                                &r.chart,
                                format!(
                                    "{} needs {from} → Service {}/{} port {} (pod port {target}/{}), but the NetworkPolicies deny it ({side})",
                                    r.what, r.namespace, r.service, sp.port, sp.protocol
                                ),
                            )
                            .at(r.at.clone())
                            .hint("admit the flow in the values of the release whose policy drops it (networkPolicy ingress/egress), or name the gateway in the stack file"),
                        );
                    }
                }
            }
        }
    }
    out
}

pub(crate) fn show_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "any pod".into();
    }
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

pub(crate) fn resolve_target(target: &Value, spec: &Value) -> Option<u16> {
    match target {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(name) => containers(spec)
            .flat_map(|c| c.get("ports").and_then(Value::as_array).into_iter().flatten())
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|p| p.get("containerPort")?.as_u64())
            .and_then(|p| u16::try_from(p).ok()),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Direction {
    Ingress,
    Egress,
}

/// Kubernetes' reading: traffic `subject` sends (egress) or receives
/// (ingress) is allowed when no policy selecting `subject` has that type, or
/// some such policy has a rule whose peers match `other` and whose ports match.
#[allow(clippy::too_many_arguments)]
pub(crate) fn allowed(
    view: &View<'_>,
    policies: &[&Object],
    dir: Direction,
    subject: &Peer<'_>,
    other: &Peer<'_>,
    port: u16,
    port_name: Option<&str>,
    protocol: &str,
) -> bool {
    let selecting: Vec<&&Object> = policies
        .iter()
        .filter(|p| namespace_of(p) == subject.namespace)
        .filter(|p| selects(p.value.pointer("/spec/podSelector"), &subject.labels))
        .filter(|p| has_type(p, dir))
        .collect();
    if selecting.is_empty() {
        return true;
    }
    let (rules_key, peers_key) = match dir {
        Direction::Ingress => ("ingress", "from"),
        Direction::Egress => ("egress", "to"),
    };
    // On the ingress side the port is the subject's own; on egress, the other's.
    let port_owner = match dir {
        Direction::Ingress => subject.spec,
        Direction::Egress => other.spec,
    };
    selecting.iter().any(|p| {
        p.value.pointer(&format!("/spec/{rules_key}")).and_then(Value::as_array).into_iter().flatten().any(
            |rule| {
                let peers_ok = match rule.get(peers_key).and_then(Value::as_array) {
                    None => true,
                    Some(peers) if peers.is_empty() => true,
                    Some(peers) => peers.iter().any(|peer| peer_matches(view, peer, namespace_of(p), other)),
                };
                let ports_ok = match rule.get("ports").and_then(Value::as_array) {
                    None => true,
                    Some(ports) if ports.is_empty() => true,
                    Some(ports) => {
                        ports.iter().any(|pp| port_matches(pp, port, port_name, protocol, port_owner))
                    }
                };
                peers_ok && ports_ok
            },
        )
    })
}

pub(crate) fn has_type(policy: &Object, dir: Direction) -> bool {
    match policy.value.pointer("/spec/policyTypes").and_then(Value::as_array) {
        Some(types) => types.iter().any(|t| {
            t.as_str()
                == Some(match dir {
                    Direction::Ingress => "Ingress",
                    Direction::Egress => "Egress",
                })
        }),
        None => match dir {
            Direction::Ingress => true,
            Direction::Egress => policy.value.pointer("/spec/egress").is_some(),
        },
    }
}

fn peer_matches(view: &View<'_>, peer: &Value, policy_ns: &str, other: &Peer<'_>) -> bool {
    if let Some(block) = peer.get("ipBlock") {
        // Pod addresses are unknown before install: only "everywhere" is known to match.
        let cidr = block.get("cidr").and_then(Value::as_str).unwrap_or("");
        return cidr == "0.0.0.0/0" || cidr == "::/0";
    }
    let ns_sel = peer.get("namespaceSelector");
    let pod_sel = peer.get("podSelector");
    let ns_ok = match ns_sel {
        None => other.namespace == policy_ns,
        Some(sel) => {
            let mut labels = view.namespace_labels.get(&other.namespace).cloned().unwrap_or_default();
            labels.insert("kubernetes.io/metadata.name".into(), other.namespace.clone());
            if other.namespace == UNNAMED_GATEWAY_NAMESPACE {
                // An unknown namespace matches only a selector that selects every namespace.
                labels.clear();
            }
            selects(Some(sel), &labels)
        }
    };
    let pod_ok = match pod_sel {
        None => true,
        Some(sel) => {
            if other.namespace == UNNAMED_GATEWAY_NAMESPACE && other.labels.is_empty() {
                is_empty_selector(sel)
            } else {
                selects(Some(sel), &other.labels)
            }
        }
    };
    ns_ok && pod_ok
}

fn is_empty_selector(sel: &Value) -> bool {
    sel.get("matchLabels").and_then(Value::as_object).is_none_or(|m| m.is_empty())
        && sel.get("matchExpressions").and_then(Value::as_array).is_none_or(|m| m.is_empty())
}

/// A label selector; absent selects everything, as `{}` does.
pub(crate) fn selects(sel: Option<&Value>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = sel else { return true };
    let labels_ok = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let exprs_ok = sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let have = labels.get(key);
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h.as_str())),
            "NotIn" => have.is_none_or(|h| !values.contains(&h.as_str())),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

pub(crate) fn port_matches(
    pp: &Value,
    port: u16,
    port_name: Option<&str>,
    protocol: &str,
    owner: Option<&Value>,
) -> bool {
    let proto = pp.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
    if proto != protocol {
        return false;
    }
    match pp.get("port") {
        None => true,
        Some(Value::Number(n)) => {
            let start = n.as_u64().unwrap_or(0);
            let end = pp.get("endPort").and_then(Value::as_u64).unwrap_or(start);
            (start..=end).contains(&u64::from(port))
        }
        Some(Value::String(name)) => {
            port_name == Some(name.as_str())
                || owner.and_then(|s| resolve_target(&Value::String(name.clone()), s)) == Some(port)
        }
        _ => false,
    }
}

// ---------------------------------------------------------------- budget

/// One row of the budget table: a node (or the pool of unpinned work).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetRow {
    pub node: String,
    pub allocatable_cpu_millis: u64,
    pub allocatable_memory: u64,
    pub requested_cpu_millis: u64,
    pub requested_memory: u64,
    pub limited_memory: u64,
}

fn resources(spec: &Value, kind: &str) -> (u64, u64) {
    let sum = |list: &str| -> Vec<(u64, u64)> {
        spec.get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                let get = |r: &str, f: fn(&str) -> Option<u64>| {
                    c.pointer(&format!("/resources/{kind}/{r}"))
                        .and_then(quantity::text_of)
                        .and_then(|t| f(&t))
                        .unwrap_or(0)
                };
                (get("cpu", quantity::cpu_millis), get("memory", quantity::bytes))
            })
            .collect()
    };
    let main = sum("containers").into_iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    // Init containers run one at a time before the others: the pod needs the larger.
    let init = sum("initContainers").into_iter().fold((0, 0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    (main.0.max(init.0), main.1.max(init.1))
}

/// Per-node budget rows and findings. Work pinned to a node counts there;
/// the rest is spread over the stack's nodes (judged against their sum).
pub fn budget(view: &View<'_>) -> (Vec<BudgetRow>, Vec<Diagnostic>) {
    let mut rows: Vec<BudgetRow> = view
        .nodes
        .iter()
        .map(|n| BudgetRow {
            node: n.name.clone(),
            allocatable_cpu_millis: n.cpu_millis.saturating_sub(view.reserve_cpu_millis),
            allocatable_memory: n.memory.saturating_sub(view.reserve_memory),
            requested_cpu_millis: 0,
            requested_memory: 0,
            limited_memory: 0,
        })
        .collect();
    if rows.is_empty() {
        return (rows, Vec::new());
    }
    let mut pool = (0u64, 0u64, 0u64);
    for pod in pods(view, false) {
        let (cpu, mem) = resources(pod.spec, "requests");
        let (_, lim) = resources(pod.spec, "limits");
        let lim = lim.max(mem);
        let release = &view.releases[pod.release];
        match (pod.replicas, &release.node) {
            (None, _) => {
                for row in &mut rows {
                    row.requested_cpu_millis += cpu;
                    row.requested_memory += mem;
                    row.limited_memory += lim;
                }
            }
            (Some(n), Some(node)) => {
                if let Some(row) = rows.iter_mut().find(|r| &r.node == node) {
                    row.requested_cpu_millis += cpu * n;
                    row.requested_memory += mem * n;
                    row.limited_memory += lim * n;
                }
            }
            (Some(n), None) => {
                pool.0 += cpu * n;
                pool.1 += mem * n;
                pool.2 += lim * n;
            }
        }
    }
    let mut out = Vec::new();
    if rows.len() == 1 {
        rows[0].requested_cpu_millis += pool.0;
        rows[0].requested_memory += pool.1;
        rows[0].limited_memory += pool.2;
    } else if pool != (0, 0, 0) {
        let total = |f: fn(&BudgetRow) -> u64| rows.iter().map(f).sum::<u64>();
        rows.push(BudgetRow {
            node: "(all nodes)".into(),
            allocatable_cpu_millis: total(|r| r.allocatable_cpu_millis),
            allocatable_memory: total(|r| r.allocatable_memory),
            requested_cpu_millis: total(|r| r.requested_cpu_millis) + pool.0,
            requested_memory: total(|r| r.requested_memory) + pool.1,
            limited_memory: total(|r| r.limited_memory) + pool.2,
        });
    }
    for row in &rows {
        let at = view.nodes.iter().find(|n| n.name == row.node).map_or_else(
            || view.nodes.first().map(|n| n.at.clone()).unwrap_or_else(|| Location::file(view.stack)),
            |n| n.at.clone(),
        );
        if row.requested_cpu_millis > row.allocatable_cpu_millis
            || row.requested_memory > row.allocatable_memory
        {
            out.push(
                Diagnostic::error(
                    RULE_BUDGET,
                    "",
                    format!(
                        "node {}: the stack requests {} CPU and {} memory, but {} CPU and {} memory are allocatable (after the reserve)",
                        row.node,
                        quantity::show_cpu(row.requested_cpu_millis),
                        quantity::show_bytes(row.requested_memory),
                        quantity::show_cpu(row.allocatable_cpu_millis),
                        quantity::show_bytes(row.allocatable_memory)
                    ),
                )
                .at(at.clone())
                .hint("lower the releases' resources.requests, pin releases to other nodes, or add a node"),
            );
        } else if row.limited_memory > row.allocatable_memory {
            out.push(
                Diagnostic::warning(
                    RULE_BUDGET,
                    "",
                    format!(
                        "node {}: memory limits add up to {}, over the {} allocatable: pods may be OOM-killed under load",
                        row.node,
                        quantity::show_bytes(row.limited_memory),
                        quantity::show_bytes(row.allocatable_memory)
                    ),
                )
                .at(at),
            );
        }
    }
    (rows, out)
}

// ---------------------------------------------------------------- arch

fn arch(view: &View<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if view.platforms.is_empty() {
        return out;
    }
    let mut seen = BTreeSet::new();
    for pod in pods(view, true) {
        let release = &view.releases[pod.release];
        let archs: BTreeSet<&str> = match &release.node {
            Some(n) => view.nodes.iter().filter(|x| &x.name == n).map(|x| x.arch.as_str()).collect(),
            None => view.nodes.iter().map(|x| x.arch.as_str()).collect(),
        };
        for c in containers(pod.spec) {
            let Some(image) = c.get("image").and_then(Value::as_str) else { continue };
            let key = image.split('@').next().unwrap_or(image);
            let Some(platforms) = view.platforms.get(key).or_else(|| view.platforms.get(image)) else {
                continue;
            };
            for a in &archs {
                let want = format!("linux/{a}");
                if !platforms.iter().any(|p| p == &want || p.starts_with(&format!("{want}/")))
                    && seen.insert((key.to_owned(), a.to_string()))
                {
                    out.push(
                        Diagnostic::error(
                            RULE_ARCH,
                            &release.name,
                            format!(
                                "image {key} ({}) has no {want} build, but the stack's node(s) run {a}",
                                platforms.join(", ")
                            ),
                        )
                        .at(place(release, key.rsplit(':').nth(1).unwrap_or(key)))
                        .hint("choose an image built for the node's architecture, or pin the release to a node that can run it"),
                    );
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

    fn release(name: &str, ns: &str, objects: Vec<Value>) -> Release {
        Release {
            name: name.into(),
            namespace: ns.into(),
            objects: objects.into_iter().map(obj).collect(),
            at: Location::at("stack.yaml", 1, 1),
            node: None,
            values: Vec::new(),
        }
    }

    fn deploy(ns: &str, name: &str, app: &str, port: u16, env: Vec<Value>) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
          "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [
            {"name": "c", "image": format!("example/{app}:1"), "env": env,
             "ports": [{"name": "http", "containerPort": port}],
             "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}}]}}}})
    }

    fn service(ns: &str, name: &str, app: &str, port: u16) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
          "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": port, "targetPort": "http"}]}})
    }

    fn deny_all_but(ns: &str, app: &str, from_ns: Option<&str>) -> Value {
        let from = match from_ns {
            Some(n) => json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}}]),
            None => json!([{"podSelector": {}}]),
        };
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": app, "namespace": ns},
          "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"],
                   "ingress": [{"from": from, "ports": [{"port": "http"}]}]}})
    }

    struct Fixture {
        releases: Vec<Release>,
        nodes: Vec<Node>,
        external: Vec<External>,
        gateway: Option<Gateway>,
        platforms: BTreeMap<String, Vec<String>>,
    }

    impl Fixture {
        fn new(releases: Vec<Release>) -> Self {
            Self {
                releases,
                nodes: Vec::new(),
                external: Vec::new(),
                gateway: None,
                platforms: BTreeMap::new(),
            }
        }
        fn run(&self) -> Vec<Diagnostic> {
            let labels = BTreeMap::new();
            check(&View {
                stack: "stack.yaml",
                releases: &self.releases,
                nodes: &self.nodes,
                reserve_cpu_millis: 500,
                reserve_memory: 1024 * 1024 * 1024,
                external: &self.external,
                gateway: self.gateway.as_ref(),
                namespace_labels: &labels,
                platforms: &self.platforms,
            })
        }
    }

    fn rules(d: &[Diagnostic]) -> Vec<(&str, &str)> {
        d.iter().map(|d| (d.rule.as_str(), d.chart.as_str())).collect()
    }

    fn app_and_db(url: &str) -> Vec<Release> {
        vec![
            release(
                "app",
                "web",
                vec![deploy("web", "app", "app", 8080, vec![json!({"name": "DB", "value": url})])],
            ),
            release(
                "db",
                "data",
                vec![deploy("data", "db", "db", 5432, vec![]), service("data", "db", "db", 5432)],
            ),
        ]
    }

    #[test]
    fn an_ingress_backend_names_its_port_by_number_or_by_the_services_name_for_it() {
        let with_ingress = |port: Value| {
            let mut rel = app_and_db("db.data.svc:5432");
            rel[1].objects.push(obj(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "db", "namespace": "data"},
                "spec": {"rules": [{"host": "db.example.org", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "db", "port": port}}}]}}]}})));
            Fixture::new(rel).run()
        };
        assert!(with_ingress(json!({"name": "http"})).is_empty());
        assert!(with_ingress(json!({"number": 5432})).is_empty());
        let d = with_ingress(json!({"name": "grpc"}));
        assert_eq!(rules(&d), [(RULE_REFERENCE.id, "db")], "{d:?}");
        assert!(d[0].message.contains("names no port \"grpc\" (it names \"http\")"), "{}", d[0].message);
        let d = with_ingress(json!({"number": 5433}));
        assert_eq!(rules(&d), [(RULE_REFERENCE.id, "db")], "{d:?}");
    }

    #[test]
    fn a_policy_rule_with_empty_peers_or_ports_admits_all_of_them() {
        // `from: []` admits every source, `ports: []` every port (Kubernetes' reading of an empty list).
        for rule in [json!({"from": [], "ports": []}), json!({"ports": []}), json!({"from": []})] {
            let mut rel = app_and_db("db.data.svc:5432");
            rel[1].objects.push(obj(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "db", "namespace": "data"},
                "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"], "ingress": [rule]}})));
            assert!(Fixture::new(rel).run().is_empty(), "{rule}");
        }
    }

    #[test]
    fn a_reference_to_a_service_of_the_stack_is_clean() {
        assert!(Fixture::new(app_and_db("postgres://db.data.svc.cluster.local:5432/x")).run().is_empty());
        assert!(Fixture::new(app_and_db("db.data:5432")).run().is_empty());
    }

    #[test]
    fn a_reference_to_no_service_or_port_is_reported_on_its_release() {
        let d = Fixture::new(app_and_db("postgres://dbx.data.svc:5432/x")).run();
        assert_eq!(rules(&d), [(RULE_REFERENCE.id, "app")], "{d:?}");
        assert!(d[0].message.contains("no Service data/dbx"), "{}", d[0].message);
        let d = Fixture::new(app_and_db("db.data.svc:5433")).run();
        assert_eq!(rules(&d), [(RULE_REFERENCE.id, "app")], "{d:?}");
        assert!(d[0].message.contains("has no port 5433"), "{}", d[0].message);
    }

    #[test]
    fn an_external_service_resolves_a_reference() {
        let mut f = Fixture::new(app_and_db("ldap://dir.data.svc:389"));
        assert_eq!(rules(&f.run()), [(RULE_REFERENCE.id, "app")]);
        f.external.push(External {
            kind: "Service".into(),
            namespace: Some("data".into()),
            name: "dir".into(),
            ports: vec![389],
        });
        assert!(f.run().is_empty());
    }

    #[test]
    fn an_external_service_resolves_only_its_own_name_namespace_kind_and_ports() {
        let external = |kind: &str, namespace: Option<&str>, name: &str, ports: Vec<u16>| External {
            kind: kind.into(),
            namespace: namespace.map(Into::into),
            name: name.into(),
            ports,
        };
        let run = |e: External| {
            let mut f = Fixture::new(app_and_db("ldap://dir.data.svc:389"));
            f.external.push(e);
            rules(&f.run()).into_iter().map(|(r, c)| (r.to_owned(), c.to_owned())).collect::<Vec<_>>()
        };
        let reported = vec![(RULE_REFERENCE.id.to_owned(), "app".to_owned())];
        assert!(run(external("Service", Some("data"), "dir", vec![389])).is_empty());
        assert!(run(external("Service", None, "dir", vec![])).is_empty(), "any namespace, any port");
        assert_eq!(run(external("Service", Some("data"), "other", vec![389])), reported, "another name");
        assert_eq!(run(external("Service", Some("web"), "dir", vec![389])), reported, "another namespace");
        assert_eq!(run(external("Secret", Some("data"), "dir", vec![389])), reported, "another kind");
        assert_eq!(run(external("Service", Some("data"), "dir", vec![636])), reported, "another port");
    }

    #[test]
    fn a_policy_that_admits_only_its_namespace_drops_the_other_release() {
        let mut rel = app_and_db("db.data.svc:5432");
        rel[1].objects.push(obj(deny_all_but("data", "db", None)));
        let d = Fixture::new(rel).run();
        assert_eq!(rules(&d), [(RULE_NETWORK_POLICY.id, "app")], "{d:?}");
        assert!(d[0].message.contains("ingress to the destination"), "{}", d[0].message);

        let mut rel = app_and_db("db.data.svc:5432");
        rel[1].objects.push(obj(deny_all_but("data", "db", Some("web"))));
        assert!(Fixture::new(rel).run().is_empty());
    }

    #[test]
    fn egress_policies_of_the_source_are_evaluated() {
        let mut rel = app_and_db("db.data.svc:5432");
        rel[0].objects.push(obj(json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "app", "namespace": "web"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}})));
        let d = Fixture::new(rel).run();
        assert_eq!(rules(&d), [(RULE_NETWORK_POLICY.id, "app")], "{d:?}");
        assert!(d[0].message.contains("egress from the source"), "{}", d[0].message);
    }

    fn routed(policy_from: Value) -> Vec<Release> {
        vec![release(
            "app",
            "web",
            vec![
                deploy("web", "app", "app", 8080, vec![]),
                service("web", "app", "app", 80),
                json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "app", "namespace": "web"},
              "spec": {"rules": [{"backendRefs": [{"name": "app", "port": 80}]}]}}),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "app", "namespace": "web"},
              "spec": {"podSelector": {"matchLabels": {"app": "app"}}, "policyTypes": ["Ingress"],
                       "ingress": [{"from": policy_from, "ports": [{"port": "http"}]}]}}),
            ],
        )]
    }

    #[test]
    fn the_gateway_must_reach_every_routed_service() {
        let kube_system =
            json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]);
        let mut f = Fixture::new(routed(kube_system.clone()));
        // No gateway named: any controller must be admitted.
        assert_eq!(rules(&f.run()), [(RULE_NETWORK_POLICY.id, "app")]);
        f.gateway = Some(Gateway { namespace: "envoy".into(), pod_labels: BTreeMap::new() });
        assert_eq!(rules(&f.run()), [(RULE_NETWORK_POLICY.id, "app")]);
        f.gateway = Some(Gateway { namespace: "kube-system".into(), pod_labels: BTreeMap::new() });
        assert!(f.run().is_empty());
        // "From anywhere" admits the unnamed controller too.
        let anywhere = json!([{"namespaceSelector": {}}]);
        assert!(Fixture::new(routed(anywhere)).run().is_empty());
    }

    #[test]
    fn a_missing_secret_is_reported_unless_external_or_optional() {
        let mut d = deploy(
            "web",
            "app",
            "app",
            8080,
            vec![json!({"name": "K", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "k"}}})],
        );
        let mut f = Fixture::new(vec![release("app", "web", vec![d.clone()])]);
        assert_eq!(rules(&f.run()), [(RULE_SECRET_REF.id, "app")]);
        f.external.push(External {
            kind: "Secret".into(),
            namespace: Some("web".into()),
            name: "keys".into(),
            ports: vec![],
        });
        assert!(f.run().is_empty());
        d["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["optional"] =
            json!(true);
        assert!(Fixture::new(vec![release("app", "web", vec![d])]).run().is_empty());
        // Rendered by another release of the stack: found.
        let secret =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys", "namespace": "web"}});
        let user = deploy(
            "web",
            "app",
            "app",
            8080,
            vec![json!({"name": "K", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "k"}}})],
        );
        assert!(
            Fixture::new(vec![release("app", "web", vec![user]), release("keys", "web", vec![secret])])
                .run()
                .is_empty()
        );
    }

    #[test]
    fn the_budget_counts_requests_per_node_after_the_reserve() {
        let mut f = Fixture::new(app_and_db("db.data:5432"));
        let node = |mem: u64| Node {
            name: "pi".into(),
            arch: "arm64".into(),
            cpu_millis: 4000,
            memory: mem,
            at: Location::at("stack.yaml", 3, 5),
        };
        f.nodes = vec![node(8 * 1024 * 1024 * 1024)];
        assert!(f.run().is_empty());
        let view_rows = {
            let labels = BTreeMap::new();
            budget(&View {
                stack: "stack.yaml",
                releases: &f.releases,
                nodes: &f.nodes,
                reserve_cpu_millis: 500,
                reserve_memory: 1024 * 1024 * 1024,
                external: &[],
                gateway: None,
                namespace_labels: &labels,
                platforms: &BTreeMap::new(),
            })
            .0
        };
        assert_eq!(view_rows[0].requested_cpu_millis, 500);
        assert_eq!(view_rows[0].requested_memory, 512 * 1024 * 1024);
        assert_eq!(view_rows[0].allocatable_cpu_millis, 3500);
        // 1.25 GiB node, 1 GiB reserve: 512 Mi requested does not fit.
        f.nodes = vec![node(1280 * 1024 * 1024)];
        let d = f.run();
        assert_eq!(rules(&d), [(RULE_BUDGET.id, "")], "{d:?}");
        assert_eq!(d[0].location, Some(Location::at("stack.yaml", 3, 5)));
        // Fits requests, but limits overcommit: a warning.
        f.nodes = vec![node(1024 * 1024 * 1024 + 600 * 1024 * 1024)];
        let d = f.run();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, crate::diag::Severity::Warning);
    }

    #[test]
    fn two_releases_rendering_one_object_clash() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "namespace": "web"}});
        let d =
            Fixture::new(vec![release("a", "web", vec![cm.clone()]), release("b", "web", vec![cm])]).run();
        assert_eq!(rules(&d), [(RULE_NAME_CLASH.id, "b")]);
    }

    #[test]
    fn an_image_without_the_nodes_arch_is_reported() {
        let mut f = Fixture::new(vec![release("app", "web", vec![deploy("web", "app", "app", 80, vec![])])]);
        f.nodes = vec![Node {
            name: "pi".into(),
            arch: "arm64".into(),
            cpu_millis: 4000,
            memory: 8 << 30,
            at: Location::at("s", 1, 1),
        }];
        f.platforms.insert("example/app:1".into(), vec!["linux/amd64".into()]);
        assert_eq!(rules(&f.run()), [(RULE_ARCH.id, "app")]);
        f.platforms.insert("example/app:1".into(), vec!["linux/amd64".into(), "linux/arm64/v8".into()]);
        assert!(f.run().is_empty());
    }

    /// A stack of `n` releases of 10 objects each, every release calling the
    /// previous one's Service and reading its own Secret and ConfigMap, behind
    /// NetworkPolicies and a route; the last release reads a Secret nobody makes.
    fn big_stack(n: usize) -> Vec<Release> {
        (0..n)
            .map(|i| {
                let ns = format!("ns{}", i % 20);
                let prev = i.saturating_sub(1);
                let url = format!("http://svc-{prev}.ns{}.svc:80/api", prev % 20);
                let secret = if i + 1 == n { "nobody-makes-this".to_owned() } else { format!("secret-{i}") };
                let mut d = deploy(&ns, &format!("app-{i}"), &format!("app-{i}"), 80, vec![
                    json!({"name": "UPSTREAM", "value": url}),
                    json!({"name": "KEY", "valueFrom": {"secretKeyRef": {"name": secret, "key": "k"}}}),
                ]);
                d["spec"]["template"]["spec"]["volumes"] = json!([{"name": "c", "configMap": {"name": format!("cm-{i}")}}]);
                let mut objects = vec![
                    d,
                    service(&ns, &format!("svc-{i}"), &format!("app-{i}"), 80),
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("secret-{i}"), "namespace": ns}}),
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}"), "namespace": ns},
                           "data": {"config.yaml": format!("upstream: {url}\n")}}),
                    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": format!("np-{i}"), "namespace": ns},
                           "spec": {"podSelector": {"matchLabels": {"app": format!("app-{i}")}}, "policyTypes": ["Ingress"],
                                    "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": "http"}]}]}}),
                    json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": format!("r-{i}"), "namespace": ns},
                           "spec": {"rules": [{"backendRefs": [{"name": format!("svc-{i}"), "port": 80}]}]}}),
                ];
                for j in 0..4 {
                    objects.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("extra-{i}-{j}"), "namespace": ns}, "data": {"a": "b"}}));
                }
                let values = crate::yaml::parse(&format!("upstream: \"{url}\"\nkey: {secret}\n")).unwrap();
                Release {
                    values: vec![(format!("values/{i}.yaml").into(), values.docs.into_iter().next().unwrap())],
                    ..release(&format!("r{i}"), &ns, objects.into_iter().collect())
                }
            })
            .collect()
    }

    #[test]
    fn a_stack_of_4000_objects_is_judged_without_quadratic_work() {
        let f = Fixture::new(big_stack(400));
        assert_eq!(f.releases.iter().map(|r| r.objects.len()).sum::<usize>(), 4000);
        let d = f.run();
        // Everything resolves but the one Secret nobody makes, placed at its values line.
        assert_eq!(rules(&d), [(RULE_SECRET_REF.id, "r399")], "{d:#?}");
        assert_eq!(d[0].location, Some(Location::at("values/399.yaml", 2, 6)));
    }

    #[test]
    fn hosts_are_read_from_urls_and_host_port_pairs() {
        let ns: BTreeSet<String> = ["nex".to_owned()].into();
        let h =
            hosts_in("ldap://nex-yaldap.nex.svc.cluster.local:389/dc=x, http://a.nex:80 b.example.com", &ns);
        assert_eq!(
            h.iter().map(|(s, n, p, _)| (s.as_str(), n.as_str(), *p)).collect::<Vec<_>>(),
            [("nex-yaldap", "nex", Some(389)), ("a", "nex", Some(80))]
        );
    }
}

/// Exact answers of the small helpers the stack rules stand on (each pins what a
/// surviving mutant of the Hardening III sample changed).
#[cfg(test)]
mod helper_answers {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object { source: None, line: 1, value: v }
    }

    #[test]
    fn base64_decodes_padded_unpadded_and_refuses_what_is_not_text() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some("hello"));
        assert_eq!(base64_decode("aGk=").as_deref(), Some("hi"));
        assert_eq!(base64_decode("YWJj").as_deref(), Some("abc"));
        assert_eq!(base64_decode("aHR0cDovL2RiLmFwcHM6NTQzMg==\n").as_deref(), Some("http://db.apps:5432"));
        assert_eq!(base64_decode("a!b"), None);
        assert_eq!(base64_decode("/w=="), None, "0xFF is not UTF-8");
    }

    #[test]
    fn selectors_and_ports_answer_as_kubernetes_does() {
        let labels: BTreeMap<String, String> = [("app".to_owned(), "web".to_owned())].into();
        let expr = |key: &str, op: &str| json!({"matchExpressions": [{"key": key, "operator": op}]});
        assert!(selects(Some(&expr("tier", "DoesNotExist")), &labels));
        assert!(!selects(Some(&expr("app", "DoesNotExist")), &labels));
        assert!(selects(Some(&expr("app", "Exists")), &labels));
        assert!(selects(None, &labels));
        // A policy port without `port` admits every port of its protocol.
        assert!(port_matches(&json!({}), 8080, None, "TCP", None));
        assert!(!port_matches(&json!({}), 53, None, "UDP", None));
        assert!(port_matches(&json!({"protocol": "UDP"}), 53, None, "UDP", None));
        assert!(port_matches(&json!({"port": 80, "endPort": 90}), 85, None, "TCP", None));
        assert!(!port_matches(&json!({"port": 80}), 81, None, "TCP", None));
    }

    #[test]
    fn cluster_hosts_are_found_with_dashes_dots_and_ports() {
        let namespaces: BTreeSet<String> = ["home".to_owned()].into();
        let found =
            hosts_in("url: http://my-svc.home.svc.cluster.local:8080/x, other.elsewhere:1", &namespaces);
        assert_eq!(
            found,
            [(
                "my-svc".to_owned(),
                "home".to_owned(),
                Some(8080),
                "my-svc.home.svc.cluster.local".to_owned()
            )]
        );
        assert_eq!(hosts_in("db.home", &namespaces), [("db".into(), "home".into(), None, "db.home".into())]);
        // A port that is not a number is no host:port (`db.home:http`); an empty one is none.
        assert!(hosts_in("db.home:http", &namespaces).is_empty());
        assert_eq!(hosts_in("db.home:", &namespaces), [("db".into(), "home".into(), None, "db.home".into())]);
        // Leading dots and colons are not part of a host (`DB=:db.home`, an ellipsis before one).
        for text in ["DB=:db.home", "see ..db.home"] {
            assert_eq!(
                hosts_in(text, &namespaces),
                [("db".into(), "home".into(), None, "db.home".into())],
                "{text}"
            );
        }
    }

    #[test]
    fn a_secrets_data_is_read_decoded_and_other_strings_as_they_are() {
        let secret = obj(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"url": "aHR0cDovL2RiLmFwcHM6NTQzMg=="}}));
        let data = |o: &Object| {
            strings_of(o).into_iter().filter(|(p, _)| p.starts_with("/data/")).collect::<Vec<_>>()
        };
        assert_eq!(data(&secret), [("/data/url".to_owned(), "http://db.apps:5432".to_owned())]);
        let cm = obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"url": "aHR0cA=="}}));
        assert_eq!(data(&cm), [("/data/url".to_owned(), "aHR0cA==".to_owned())]);
    }

    fn release(objects: Vec<Value>) -> Release {
        Release {
            name: "r".into(),
            namespace: "apps".into(),
            objects: objects.into_iter().map(obj).collect(),
            at: Location::at("stack.yaml", 1, 1),
            node: None,
            values: Vec::new(),
        }
    }

    fn view<'a>(
        releases: &'a [Release],
        nodes: &'a [Node],
        labels: &'a BTreeMap<String, BTreeMap<String, String>>,
        platforms: &'a BTreeMap<String, Vec<String>>,
    ) -> View<'a> {
        View {
            stack: "stack.yaml",
            releases,
            nodes,
            reserve_cpu_millis: 0,
            reserve_memory: 0,
            external: &[],
            gateway: None,
            namespace_labels: labels,
            platforms,
        }
    }

    #[test]
    fn a_cronjobs_pod_counts_and_a_daemonsets_requests_land_on_every_node() {
        let spec = json!({"containers": [{"name": "c", "image": "x:1",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]});
        let releases = [release(vec![
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "job"},
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": spec.clone()}}}}}),
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"},
                "spec": {"template": {"spec": spec}}}),
        ])];
        let nodes = [Node {
            name: "pi".into(),
            arch: "arm64".into(),
            cpu_millis: 4000,
            memory: 8 << 30,
            at: Location::at("stack.yaml", 3, 5),
        }];
        let (labels, platforms) = (BTreeMap::new(), BTreeMap::new());
        let v = view(&releases, &nodes, &labels, &platforms);
        let owners: Vec<String> = pods(&v, false).into_iter().map(|p| p.owner).collect();
        assert_eq!(owners.len(), 2, "{owners:?}");
        let rows = budget(&v).0;
        assert_eq!(rows[0].requested_cpu_millis, 200, "the CronJob's pod and the DaemonSet's");
        assert_eq!(rows[0].requested_memory, 128 << 20);
    }
}
