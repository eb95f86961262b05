//! Stack rules about what the stack serves and hands out: each exposure it
//! declares (`serves:`) reachable from outside the cluster, no password yaLDAP
//! would compare as plain text, and — for Argo CD — no Secret generated anew on
//! every render.
//!
//! Pure: the stack's renderings come in as a [`View`] plus an [`Outside`],
//! findings go out. NetworkPolicies are evaluated with the `stack/network-policy`
//! rule's reading of them ([`super::stack`]); the source a policy sees is what
//! the exposure's path delivers:
//!
//! - a LoadBalancer Service: with k3s' ServiceLB (`loadBalancer: servicelb`) the
//!   svclb pod in kube-system (klipper-lb DNATs to the Service and masquerades:
//!   `k3s-io/klipper-lb` `entry`, v0.4.9; its pods carry
//!   `svccontroller.k3s.cattle.io/svcname`/`svcnamespace`, `k3s-io/k3s`
//!   `pkg/cloudprovider/servicelb.go`); with `client-address` and
//!   `externalTrafficPolicy: Local`, the client's address; otherwise a source
//!   nothing is known about, which only a rule admitting any source admits;
//! - a NodePort equal to the port: the client's address under `Local`, else unknown;
//! - a hostPort: the client's address (the CNI's portmap DNATs without masquerading);
//! - hostNetwork: no NetworkPolicy selects a host-network pod.

use super::stack::{
    Direction, Peer, Release, UNNAMED_GATEWAY_NAMESPACE, View, allowed, containers, exists, has_type,
    is_hook, namespace_of, pods, port_matches, resolve_target, selects, service, service_ports, show_labels,
    string_map,
};
use crate::diag::{Diagnostic, Location};
use crate::manifest::Object;
use crate::rule::{EVERY, Rule};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

pub const RULE_EXPOSURE: Rule = Rule::error(
    "stack/exposure",
    EVERY,
    "(`stack lint`) something the stack file says it serves outside the cluster (`serves:`) that is not reachable: no LoadBalancer or NodePort Service, host port or hostNetwork exposes the port; no route serves the host through a Gateway the stack knows; a NetworkPolicy drops the traffic as the pod sees it (k3s' ServiceLB, a client address); a tailnet release that cannot dial out or does not advertise its routes",
);
pub const RULE_CREDENTIALS: Rule = Rule::error(
    "stack/credentials",
    EVERY,
    "(`stack lint`) a yaLDAP bind password (`!!ldap/bind:password`) in a rendered Secret or ConfigMap that is not a PHC hash yaLDAP can verify, so it would be compared as plain text (a placeholder left in becomes the password), in a release `plainTextPasswords:` does not name",
);
pub const RULE_RENDER_TIME_SECRET: Rule = Rule::error(
    "stack/render-time-secret",
    EVERY,
    "(`stack lint`, `gitops: [argocd]`) a Secret a release generates anew on every render (its data differs between two `helm template` runs): Argo CD renders with `helm template`, where `lookup` finds nothing, so every sync would replace it; make it once and name it (`existingSecret`)",
);
pub const RULES: &[Rule] = &[RULE_EXPOSURE, RULE_CREDENTIALS, RULE_RENDER_TIME_SECRET];

/// How an exposure reaches its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Lan,
    Gateway,
    Tailnet,
}

/// How LoadBalancer traffic reaches pods (the stack file's `loadBalancer:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancer {
    /// k3s' ServiceLB (klipper-lb): from a svclb pod in kube-system, masqueraded.
    ServiceLb,
    /// The client's own address (with `externalTrafficPolicy: Local`).
    ClientAddress,
}

/// The namespace ServiceLB runs its svclb pods in (k3s' default `--servicelb-namespace`).
pub const SERVICELB_NAMESPACE: &str = "kube-system";
/// Labels ServiceLB gives its svclb pods: the Service's name and namespace.
pub const SERVICELB_NAME_LABEL: &str = "svccontroller.k3s.cattle.io/svcname";
pub const SERVICELB_NAMESPACE_LABEL: &str = "svccontroller.k3s.cattle.io/svcnamespace";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortProtocol {
    pub port: u16,
    pub protocol: String,
}

impl PortProtocol {
    /// `53/UDP`.
    pub fn parse(text: &str) -> Option<Self> {
        let (port, protocol) = text.split_once('/')?;
        let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
        matches!(protocol, "TCP" | "UDP" | "SCTP").then(|| Self { port, protocol: protocol.to_owned() })
    }
}

impl std::fmt::Display for PortProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

/// An address range (`192.168.0.0/16`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    fn bits(&self) -> (u128, u32) {
        match self.addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)) << 96, 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    /// Whether every address of `inner` is in `self` (same family).
    pub fn contains(&self, inner: &Cidr) -> bool {
        let ((a, fa), (b, fb)) = (self.bits(), inner.bits());
        if fa != fb || inner.prefix < self.prefix {
            return false;
        }
        // Both families are left-aligned in 128 bits: the prefix is the top bits.
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        a & mask == b & mask
    }

    /// Whether the two ranges share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

/// One `serves:` entry of the stack file.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub name: String,
    pub description: Option<String>,
    pub over: Over,
    pub release: Option<String>,
    pub service: Option<String>,
    pub ports: Vec<PortProtocol>,
    /// CIDRs; empty: any IPv4 address.
    pub clients: Vec<String>,
    pub hosts: Vec<String>,
    pub routes: Vec<String>,
    /// Its `name:` in the stack file.
    pub at: Location,
}

/// A Secret whose data differed between two renders of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regenerated {
    pub release: String,
    /// `Secret ns/name`.
    pub secret: String,
    /// The data keys that differed.
    pub keys: Vec<String>,
}

/// What these rules need beside the [`View`].
pub struct Outside<'a> {
    pub serves: &'a [Exposure],
    pub load_balancer: Option<LoadBalancer>,
    /// (release, reason) allowed plain-text passwords.
    pub plain_text_passwords: &'a [(String, String)],
    /// The stack is deployed with Argo CD.
    pub argocd: bool,
    pub regenerated: &'a [Regenerated],
    /// The text of each values file, to point at a value inside a block scalar.
    pub values_text: &'a BTreeMap<PathBuf, String>,
}

/// Every rule of this module over one stack.
pub fn check(view: &View<'_>, outside: &Outside<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for e in outside.serves {
        out.extend(match e.over {
            Over::Lan => lan(view, outside, e),
            Over::Gateway => gateway(view, e),
            Over::Tailnet => tailnet(view, e),
        });
    }
    out.extend(credentials(view, outside));
    if outside.argocd {
        out.extend(render_time_secrets(view.releases, outside.regenerated));
    }
    out
}

fn release_index(view: &View<'_>, name: Option<&str>) -> Option<usize> {
    view.releases.iter().position(|r| Some(r.name.as_str()) == name)
}

fn finding(e: &Exposure, release: &str, message: String) -> Diagnostic {
    Diagnostic::error(RULE_EXPOSURE, release, format!("serves `{}`: {message}", e.name)).at(e.at.clone())
}

fn policies<'a>(view: &'a View<'_>) -> Vec<&'a Object> {
    view.releases.iter().flat_map(|r| &r.objects).filter(|o| o.kind() == "NetworkPolicy").collect()
}

// ---------------------------------------------------------------- lan

/// Who a NetworkPolicy sees connecting.
enum Source {
    Pod {
        namespace: String,
        labels: BTreeMap<String, String>,
        what: String,
    },
    Addresses(Vec<Cidr>),
    /// A source nothing is known about: only "from anywhere" admits it.
    Unknown(String),
    /// hostNetwork: no policy applies.
    Unfiltered,
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Pod { namespace, labels, what } => {
                format!("{what} (namespace {namespace}, {})", show_labels(labels))
            }
            Source::Addresses(c) => {
                format!("clients at {}", c.iter().map(show_cidr).collect::<Vec<_>>().join(", "))
            }
            Source::Unknown(why) => why.clone(),
            Source::Unfiltered => "the host network".into(),
        }
    }
}

fn show_cidr(c: &Cidr) -> String {
    format!("{}/{}", c.addr, c.prefix)
}

/// One way a port reaches the pods: what exposes it, the pods, the pod port and its name.
struct Way<'a> {
    what: String,
    /// Destination pods: (namespace, labels, spec).
    dests: Vec<(String, BTreeMap<String, String>, &'a Value)>,
    /// The Service port's targetPort (a number or a name), or the container port.
    target: Value,
    protocol: String,
    source: Source,
}

fn clients(e: &Exposure) -> Vec<Cidr> {
    let parsed: Vec<Cidr> = e.clients.iter().filter_map(|c| Cidr::parse(c)).collect();
    if parsed.is_empty() { vec![Cidr::parse("0.0.0.0/0").expect("a CIDR")] } else { parsed }
}

fn lan(view: &View<'_>, outside: &Outside<'_>, e: &Exposure) -> Vec<Diagnostic> {
    let Some(ri) = release_index(view, e.release.as_deref()) else { return Vec::new() };
    let release = &view.releases[ri];
    let all_pods = pods(view, false);
    let own_pods: Vec<_> = all_pods.iter().filter(|p| p.release == ri).collect();
    let services: Vec<&Object> = release
        .objects
        .iter()
        .filter(|o| o.kind() == "Service" && !is_hook(o))
        .filter(|o| e.service.as_deref().is_none_or(|s| o.name() == s))
        .collect();
    let mut out = Vec::new();
    if let Some(s) = &e.service
        && services.is_empty()
    {
        out.push(finding(e, &release.name, format!("release `{}` renders no Service `{s}`", release.name)));
        return out;
    }
    let all_policies = policies(view);
    for pp in &e.ports {
        let mut ways: Vec<Way<'_>> = Vec::new();
        for svc in &services {
            let ns = namespace_of(svc).to_owned();
            let ty = svc.value.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
            let local =
                svc.value.pointer("/spec/externalTrafficPolicy").and_then(Value::as_str) == Some("Local");
            let selector = string_map(svc.value.pointer("/spec/selector"));
            let dests: Vec<_> = all_pods
                .iter()
                .filter(|p| {
                    p.namespace == ns
                        && !selector.is_empty()
                        && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
                })
                .map(|p| (p.namespace.to_owned(), p.labels.clone(), p.spec))
                .collect();
            let raw_ports =
                svc.value.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
            for (sp, raw) in service_ports(svc).into_iter().zip(raw_ports) {
                if sp.protocol != pp.protocol {
                    continue;
                }
                let node_port = raw.get("nodePort").and_then(Value::as_u64);
                let unknown = |how: &str| {
                    Source::Unknown(format!(
                        "{how} (a source address the stack cannot know: only a rule admitting any source admits it)"
                    ))
                };
                let source = if ty == "LoadBalancer" && sp.port == pp.port {
                    match outside.load_balancer {
                        Some(LoadBalancer::ServiceLb) => Source::Pod {
                            namespace: SERVICELB_NAMESPACE.into(),
                            labels: [
                                (SERVICELB_NAME_LABEL.to_owned(), svc.name().to_owned()),
                                (SERVICELB_NAMESPACE_LABEL.to_owned(), ns.clone()),
                            ]
                            .into(),
                            what: format!("k3s' ServiceLB pod for Service {ns}/{}", svc.name()),
                        },
                        Some(LoadBalancer::ClientAddress) if local => Source::Addresses(clients(e)),
                        Some(LoadBalancer::ClientAddress) => unknown(
                            "the load balancer with externalTrafficPolicy Cluster (the node's address)",
                        ),
                        None => {
                            unknown("the cluster's load balancer (the stack file names no `loadBalancer:`)")
                        }
                    }
                } else if matches!(ty, "NodePort" | "LoadBalancer") && node_port == Some(u64::from(pp.port)) {
                    if local {
                        Source::Addresses(clients(e))
                    } else {
                        unknown("a NodePort with externalTrafficPolicy Cluster (the node's address)")
                    }
                } else {
                    continue;
                };
                ways.push(Way {
                    what: format!("{ty} Service {ns}/{} port {}", svc.name(), sp.port),
                    dests: dests.clone(),
                    target: sp.target.clone(),
                    protocol: pp.protocol.clone(),
                    source,
                });
            }
        }
        for pod in &own_pods {
            let host_network = pod.spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
            for c in containers(pod.spec) {
                for port in c.get("ports").and_then(Value::as_array).into_iter().flatten() {
                    let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    let container_port = port.get("containerPort").and_then(Value::as_u64);
                    let host_port = port.get("hostPort").and_then(Value::as_u64);
                    if protocol != pp.protocol {
                        continue;
                    }
                    let dest = vec![(pod.namespace.to_owned(), pod.labels.clone(), pod.spec)];
                    let target = Value::from(container_port.unwrap_or(0));
                    if host_network && container_port == Some(u64::from(pp.port)) {
                        ways.push(Way {
                            what: format!("{} on the host network", pod.owner),
                            dests: dest,
                            target,
                            protocol: pp.protocol.clone(),
                            source: Source::Unfiltered,
                        });
                    } else if host_port == Some(u64::from(pp.port)) {
                        ways.push(Way {
                            what: format!("{} hostPort {}", pod.owner, pp.port),
                            dests: dest,
                            target,
                            protocol: pp.protocol.clone(),
                            source: Source::Addresses(clients(e)),
                        });
                    }
                }
            }
        }
        if ways.is_empty() {
            let shown: Vec<String> = services
                .iter()
                .map(|s| {
                    format!(
                        "{} Service {}",
                        s.value.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP"),
                        s.name()
                    )
                })
                .collect();
            out.push(
                finding(
                    e,
                    &release.name,
                    format!(
                        "nothing exposes {pp} of release `{}` outside the cluster ({}; no hostPort {} or hostNetwork)",
                        release.name,
                        if shown.is_empty() { "no Service".to_owned() } else { shown.join(", ") },
                        pp.port
                    ),
                )
                .hint("make the Service a LoadBalancer (k3s: ServiceLB answers on every node's address), or give the pod a hostPort"),
            );
            continue;
        }
        if let Some(d) = servicelb_clash(view, outside, e, &release.name, pp) {
            out.push(d);
            continue;
        }
        let mut denied = Vec::new();
        let reachable = ways.iter().any(|w| match admitted(view, &all_policies, w) {
            Ok(()) => true,
            Err(why) => {
                denied.push(why);
                false
            }
        });
        if !reachable {
            out.push(
                finding(e, &release.name, format!("{pp} cannot reach release `{}`: {}", release.name, denied.join("; ")))
                    .hint("admit that source in the release's NetworkPolicy (for adguard-home: `dnsClients`; elsewhere networkPolicy.extraIngress), or set the stack's `loadBalancer:` to how your cluster delivers the traffic"),
            );
        }
    }
    out
}

/// Under ServiceLB a node port can be taken once: two LoadBalancer Services on
/// one port and protocol leave the second's svclb pods Pending.
fn servicelb_clash(
    view: &View<'_>,
    outside: &Outside<'_>,
    e: &Exposure,
    release: &str,
    pp: &PortProtocol,
) -> Option<Diagnostic> {
    if outside.load_balancer != Some(LoadBalancer::ServiceLb) {
        return None;
    }
    let claims: Vec<String> = view
        .releases
        .iter()
        .flat_map(|r| &r.objects)
        .filter(|o| {
            o.kind() == "Service"
                && o.value.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
        })
        .filter(|o| service_ports(o).iter().any(|p| p.port == pp.port && p.protocol == pp.protocol))
        .map(|o| format!("{}/{}", namespace_of(o), o.name()))
        .collect();
    (claims.len() > 1).then(|| {
        finding(
            e,
            release,
            format!(
                "{pp} is claimed by {} LoadBalancer Services ({}): k3s' ServiceLB binds a port once per node, so all but one stay Pending",
                claims.len(),
                claims.join(", ")
            ),
        )
    })
}

/// Whether a way's source reaches every destination pod, or why not.
fn admitted(view: &View<'_>, policies: &[&Object], w: &Way<'_>) -> Result<(), String> {
    if matches!(w.source, Source::Unfiltered) {
        return Ok(());
    }
    for (ns, labels, spec) in &w.dests {
        let Some(target) = resolve_target(&w.target, spec) else {
            return Err(format!("{}: targetPort {} is no port of the pods", w.what, w.target));
        };
        let named = w.target.as_str();
        let dest = Peer { namespace: ns.clone(), labels: labels.clone(), spec: Some(*spec) };
        let protocol = w.protocol.clone();
        let ok = match &w.source {
            Source::Pod { namespace, labels, .. } => {
                let src = Peer { namespace: namespace.clone(), labels: labels.clone(), spec: None };
                allowed(view, policies, Direction::Ingress, &dest, &src, target, named, &protocol)
            }
            Source::Unknown(_) => {
                let src =
                    Peer { namespace: UNNAMED_GATEWAY_NAMESPACE.into(), labels: BTreeMap::new(), spec: None };
                allowed(view, policies, Direction::Ingress, &dest, &src, target, named, &protocol)
            }
            Source::Addresses(cidrs) => addresses_admitted(policies, &dest, cidrs, target, named, &protocol),
            Source::Unfiltered => true,
        };
        if !ok {
            return Err(format!(
                "{} → pod port {target}/{protocol}: the NetworkPolicies of namespace {ns} drop {}",
                w.what,
                w.source.describe()
            ));
        }
    }
    Ok(())
}

/// Ingress from outside addresses: a rule admits them when it names no peers,
/// or an `ipBlock` holding every client range (none of it excepted). Pod and
/// namespace selectors never match an address outside the cluster.
fn addresses_admitted(
    policies: &[&Object],
    dest: &Peer<'_>,
    cidrs: &[Cidr],
    port: u16,
    name: Option<&str>,
    protocol: &str,
) -> bool {
    let selecting: Vec<&&Object> = policies
        .iter()
        .filter(|p| namespace_of(p) == dest.namespace)
        .filter(|p| selects(p.value.pointer("/spec/podSelector"), &dest.labels))
        .filter(|p| has_type(p, Direction::Ingress))
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|p| {
        p.value.pointer("/spec/ingress").and_then(Value::as_array).into_iter().flatten().any(|rule| {
            let peers_ok = match rule.get("from").and_then(Value::as_array) {
                None => true,
                Some(peers) if peers.is_empty() => true,
                Some(peers) => peers.iter().any(|peer| {
                    let Some(block) = peer.get("ipBlock") else { return false };
                    let Some(range) = block.get("cidr").and_then(Value::as_str).and_then(Cidr::parse) else {
                        return false;
                    };
                    let except: Vec<Cidr> = block
                        .get("except")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.as_str().and_then(Cidr::parse))
                        .collect();
                    cidrs.iter().all(|c| range.contains(c) && !except.iter().any(|x| x.overlaps(c)))
                }),
            };
            let ports_ok = match rule.get("ports").and_then(Value::as_array) {
                None => true,
                Some(ports) if ports.is_empty() => true,
                Some(ports) => ports.iter().any(|pp| port_matches(pp, port, name, protocol, dest.spec)),
            };
            peers_ok && ports_ok
        })
    })
}

// ---------------------------------------------------------------- gateway

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.strip_suffix(domain).is_some_and(|h| h.ends_with('.') && !h[..h.len() - 1].contains('.'))
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

fn gateway(view: &View<'_>, e: &Exposure) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let all_pods = pods(view, false);
    let policies = policies(view);
    let gw = view.gateway.map_or_else(
        || Peer { namespace: UNNAMED_GATEWAY_NAMESPACE.into(), labels: BTreeMap::new(), spec: None },
        |g| Peer { namespace: g.namespace.clone(), labels: g.pod_labels.clone(), spec: None },
    );
    for host in &e.hosts {
        let mut routes: Vec<(&Release, &Object)> = Vec::new();
        for r in view.releases {
            for o in r.objects.iter().filter(|o| !is_hook(o)) {
                let names: Vec<&str> = match o.kind() {
                    "HTTPRoute" | "GRPCRoute" | "TLSRoute" => o
                        .value
                        .pointer("/spec/hostnames")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect(),
                    "Ingress" => o
                        .value
                        .pointer("/spec/rules")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r.get("host").and_then(Value::as_str))
                        .collect(),
                    _ => continue,
                };
                if names.iter().any(|n| host_matches(n, host)) {
                    routes.push((r, o));
                }
            }
        }
        if routes.is_empty() {
            out.push(
                finding(e, "", format!("no HTTPRoute or Ingress of the stack serves host {host}"))
                    .hint("route it in the values of the release that serves it (route.hostnames), or drop it from `hosts`"),
            );
            continue;
        }
        for (r, route) in routes {
            let ns = namespace_of(route);
            if route.kind() != "Ingress" {
                let parents = route
                    .value
                    .pointer("/spec/parentRefs")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if parents.is_empty() {
                    out.push(finding(
                        e,
                        &r.name,
                        format!("{} serves {host} but attaches to no Gateway", route.id()),
                    ));
                }
                for p in &parents {
                    let kind = p.get("kind").and_then(Value::as_str).unwrap_or("Gateway");
                    let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                    let pns = p.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                    if kind == "Gateway" && !exists(view, "Gateway", pns, name) {
                        out.push(
                            finding(
                                e,
                                &r.name,
                                format!("{} serves {host} through Gateway {pns}/{name}, which no release renders and `external:` does not declare", route.id()),
                            )
                            .hint("name the Gateway your cluster runs in the route's parentRefs, and declare it under `external:`"),
                        );
                    }
                }
            }
            for (svc_name, port) in backends(route) {
                let Some(svc) = service(view, ns, &svc_name) else {
                    out.push(finding(
                        e,
                        &r.name,
                        format!(
                            "{} sends {host} to Service {ns}/{svc_name}, which the stack does not render",
                            route.id()
                        ),
                    ));
                    continue;
                };
                let selector = string_map(svc.value.pointer("/spec/selector"));
                for sp in service_ports(svc).into_iter().filter(|sp| port.is_none_or(|p| p == sp.port)) {
                    for d in all_pods.iter().filter(|p| {
                        p.namespace == ns
                            && !selector.is_empty()
                            && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
                    }) {
                        let Some(target) = resolve_target(&sp.target, d.spec) else { continue };
                        let dest =
                            Peer { namespace: ns.to_owned(), labels: d.labels.clone(), spec: Some(d.spec) };
                        if !allowed(
                            view,
                            &policies,
                            Direction::Ingress,
                            &dest,
                            &gw,
                            target,
                            sp.target.as_str(),
                            &sp.protocol,
                        ) {
                            out.push(
                                finding(
                                    e,
                                    &r.name,
                                    format!(
                                        "{host}: the gateway (namespace {}, {}) cannot reach Service {ns}/{svc_name} port {} (pod port {target}): the NetworkPolicies of namespace {ns} drop it",
                                        gw.namespace,
                                        show_labels(&gw.labels),
                                        sp.port
                                    ),
                                )
                                .hint("admit the gateway in the release's networkPolicy.gateway, or name the gateway in the stack file"),
                            );
                        }
                    }
                }
            }
        }
    }
    dedup(out)
}

/// A route's Service backends: (name, port).
fn backends(route: &Object) -> Vec<(String, Option<u16>)> {
    let mut out = Vec::new();
    for rule in route.value.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten() {
        for b in rule.get("backendRefs").and_then(Value::as_array).into_iter().flatten() {
            if b.get("kind").and_then(Value::as_str).unwrap_or("Service") != "Service" {
                continue;
            }
            if let Some(n) = b.get("name").and_then(Value::as_str) {
                out.push((
                    n.to_owned(),
                    b.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()),
                ));
            }
        }
        for p in rule.pointer("/http/paths").and_then(Value::as_array).into_iter().flatten() {
            if let Some(n) = p.pointer("/backend/service/name").and_then(Value::as_str) {
                let port = p.pointer("/backend/service/port/number").and_then(Value::as_u64);
                out.push((n.to_owned(), port.and_then(|p| u16::try_from(p).ok())));
            }
        }
    }
    out
}

fn dedup(list: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    list.into_iter().filter(|d| seen.insert(d.message.clone())).collect()
}

// ---------------------------------------------------------------- tailnet

/// The cluster DNS a pod resolves names with (k3s' CoreDNS carries `k8s-app: kube-dns`).
const CLUSTER_DNS_LABEL: (&str, &str) = ("k8s-app", "kube-dns");

/// Egress to an internet address: a rule naming no peers, or an ipBlock of all addresses.
fn internet_admitted(policies: &[&Object], src: &Peer<'_>, port: u16, protocol: &str) -> bool {
    let selecting: Vec<&&Object> = policies
        .iter()
        .filter(|p| namespace_of(p) == src.namespace)
        .filter(|p| selects(p.value.pointer("/spec/podSelector"), &src.labels))
        .filter(|p| has_type(p, Direction::Egress))
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|p| {
        p.value.pointer("/spec/egress").and_then(Value::as_array).into_iter().flatten().any(|rule| {
            let peers_ok = match rule.get("to").and_then(Value::as_array) {
                None => true,
                Some(peers) if peers.is_empty() => true,
                Some(peers) => peers.iter().any(|peer| {
                    peer.pointer("/ipBlock/cidr")
                        .and_then(Value::as_str)
                        .and_then(Cidr::parse)
                        .is_some_and(|c| c.prefix == 0)
                }),
            };
            let ports_ok = match rule.get("ports").and_then(Value::as_array) {
                None => true,
                Some(ports) if ports.is_empty() => true,
                Some(ports) => ports.iter().any(|pp| port_matches(pp, port, None, protocol, None)),
            };
            peers_ok && ports_ok
        })
    })
}

fn tailnet(view: &View<'_>, e: &Exposure) -> Vec<Diagnostic> {
    let Some(ri) = release_index(view, e.release.as_deref()) else { return Vec::new() };
    let release = &view.releases[ri];
    let mut out = Vec::new();
    let all = pods(view, false);
    let own: Vec<_> = all.iter().filter(|p| p.release == ri).collect();
    if own.is_empty() {
        out.push(finding(e, &release.name, format!("release `{}` runs no pod", release.name)));
        return out;
    }
    let policies = policies(view);
    for pod in own {
        let src =
            Peer { namespace: pod.namespace.to_owned(), labels: pod.labels.clone(), spec: Some(pod.spec) };
        if !internet_admitted(&policies, &src, 443, "TCP") {
            out.push(finding(
                e,
                &release.name,
                format!("{} may not dial out on 443/TCP (the coordination server and DERP relays): its NetworkPolicies deny egress to the internet", pod.owner),
            ));
        }
        let dns = Peer {
            namespace: "kube-system".into(),
            labels: [(CLUSTER_DNS_LABEL.0.to_owned(), CLUSTER_DNS_LABEL.1.to_owned())].into(),
            spec: None,
        };
        if !["UDP", "TCP"]
            .iter()
            .any(|p| allowed(view, &policies, Direction::Egress, &src, &dns, 53, None, p))
        {
            out.push(finding(
                e,
                &release.name,
                format!(
                    "{} may not reach the cluster DNS (port 53): it cannot resolve the coordination server",
                    pod.owner
                ),
            ));
        }
        if !e.routes.is_empty() {
            let advertised: BTreeSet<String> = containers(pod.spec)
                .flat_map(|c| c.get("env").and_then(Value::as_array).into_iter().flatten())
                .filter(|v| v.get("name").and_then(Value::as_str) == Some("TS_ROUTES"))
                .filter_map(|v| v.get("value").and_then(Value::as_str))
                .flat_map(|v| v.split(',').map(|r| r.trim().to_owned()).collect::<Vec<_>>())
                .filter(|r| !r.is_empty())
                .collect();
            let missing: Vec<&String> = e.routes.iter().filter(|r| !advertised.contains(*r)).collect();
            if !missing.is_empty() {
                out.push(
                    finding(
                        e,
                        &release.name,
                        format!(
                            "{} does not advertise {} (TS_ROUTES: {})",
                            pod.owner,
                            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                            if advertised.is_empty() { "unset".to_owned() } else { advertised.into_iter().collect::<Vec<_>>().join(",") }
                        ),
                    )
                    .hint("list the routes in the release's values (tailscale: `routes`), then approve them in the admin console"),
                );
            }
        }
    }
    out
}

// ---------------------------------------------------------------- credentials

/// The key path of each `!!ldap/bind:password` scalar in a yaLDAP directory and
/// its value (tags are resolved as yaLDAP's YAML parser reads them). `None`
/// when the text does not parse as YAML (a Go template yaLDAP expands first).
pub fn bind_passwords(directory: &str) -> Option<Vec<(String, String)>> {
    use saphyr_parser::{Event, Parser};
    enum Frame {
        Map { key: Option<String> },
        Seq { index: usize },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for item in Parser::new_from_str(directory) {
        let (event, _) = item.ok()?;
        match event {
            Event::Scalar(text, _, _, tag) => {
                let is_key = matches!(stack.last(), Some(Frame::Map { key: None }));
                if is_key {
                    if let Some(Frame::Map { key }) = stack.last_mut() {
                        *key = Some(text.to_string());
                    }
                    continue;
                }
                let segment = segment(&mut stack);
                if tag.as_ref().is_some_and(|t| t.suffix == "ldap/bind:password") {
                    let mut p = path.clone();
                    p.extend(segment);
                    out.push((p.join("/"), text.to_string()));
                }
            }
            Event::MappingStart(..) => {
                let seg = segment(&mut stack);
                path.push(seg.unwrap_or_default());
                stack.push(Frame::Map { key: None });
            }
            Event::SequenceStart(..) => {
                let seg = segment(&mut stack);
                path.push(seg.unwrap_or_default());
                stack.push(Frame::Seq { index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                path.pop();
            }
            Event::Alias(_) => {
                segment(&mut stack);
            }
            _ => {}
        }
    }
    // The segment naming the value now read, and the frame made ready for the next.
    fn segment(stack: &mut [Frame]) -> Option<String> {
        match stack.last_mut() {
            Some(Frame::Map { key }) => key.take(),
            Some(Frame::Seq { index }) => {
                *index += 1;
                Some((*index - 1).to_string())
            }
            None => None,
        }
    }
    Some(out.into_iter().map(|(p, v)| (p.trim_start_matches('/').replace("//", "/"), v)).collect())
}

/// Whether yaLDAP v0.2.0 verifies this bind password as a hash: a PHC string
/// phcformat parses with an algorithm `Object.Bind` hands to phc-crypto v1.2.0,
/// in the exact `$id$v=N$params$salt$hash` form its `format.Deserialize` splits
/// (hex salt and hash). Anything else is compared as plain text or fails.
pub fn is_phc(value: &str) -> bool {
    let parts: Vec<&str> = value.split('$').collect();
    let [empty, id, version, params, salt, hash] = parts.as_slice() else { return false };
    let ids = ["argon2i", "argon2id", "bcrypt", "scrypt"];
    let pbkdf2 = ["sha1", "sha224", "sha256", "sha384", "sha512", "md5"];
    let id_ok = ids.contains(id) || id.strip_prefix("pbkdf2").is_some_and(|h| pbkdf2.contains(&h));
    let version_ok =
        version.strip_prefix("v=").is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    let name = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let val = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/+.-".contains(&b));
    let params_ok = params.split(',').all(|p| p.split_once('=').is_some_and(|(k, v)| name(k) && val(v)));
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    empty.is_empty() && id_ok && version_ok && params_ok && hex(salt) && !hash.is_empty() && hex(hash)
}

/// The texts of a Secret or ConfigMap: (key, text).
fn texts(o: &Object) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let map = |k: &str| o.value.get(k).and_then(Value::as_object);
    match o.kind() {
        "Secret" => {
            for (k, v) in map("stringData").into_iter().flatten() {
                out.extend(v.as_str().map(|s| (k.clone(), s.to_owned())));
            }
            for (k, v) in map("data").into_iter().flatten() {
                out.extend(v.as_str().and_then(super::stack::base64_decode).map(|s| (k.clone(), s)));
            }
        }
        "ConfigMap" => {
            for (k, v) in map("data").into_iter().flatten() {
                out.extend(v.as_str().map(|s| (k.clone(), s.to_owned())));
            }
        }
        _ => {}
    }
    out
}

/// Where a value written in one of the release's values files is: the last
/// file holding it (it wins the merge), at the value's own line and column.
fn value_place(release: &Release, outside: &Outside<'_>, value: &str) -> Location {
    if !value.is_empty() {
        for (path, _) in release.values.iter().rev() {
            let Some(text) = outside.values_text.get(path) else { continue };
            if let Some(i) = text.find(value) {
                let line = text[..i].matches('\n').count() + 1;
                let column = text[..i].rsplit('\n').next().unwrap_or("").chars().count() + 1;
                return Location::at(path, line, column);
            }
        }
    }
    release.at.clone()
}

fn credentials(view: &View<'_>, outside: &Outside<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for r in view.releases {
        if outside.plain_text_passwords.iter().any(|(name, _)| name == &r.name) {
            continue;
        }
        for o in r.objects.iter().filter(|o| !is_hook(o)) {
            for (key, text) in texts(o) {
                if !text.contains("!!ldap/bind:password") {
                    continue;
                }
                let Some(found) = bind_passwords(&text) else { continue };
                for (path, value) in found.into_iter().filter(|(_, v)| !is_phc(v)) {
                    let what = if value.contains("{{") {
                        "is a Go template yaLDAP expands at start-up, so what it compares cannot be judged here"
                    } else if value.starts_with("$2") {
                        "is a bare bcrypt hash, which yaLDAP compares as plain text (no bind succeeds)"
                    } else {
                        "is not a PHC hash yaLDAP can verify, so yaLDAP compares it as plain text: a placeholder left in is the password"
                    };
                    out.push(
                        Diagnostic::error(
                            RULE_CREDENTIALS,
                            &r.name,
                            format!("{} key {key}: the bind password of `{path}` {what}", o.id()),
                        )
                        .at(value_place(r, outside, &value))
                        .hint("write a PHC hash (`yaldap tools hash bcrypt`, see the yaldap chart README), keep the directory in a Secret made by hand (`existingSecret`), or name the release under `plainTextPasswords:` with the reason"),
                    );
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------- render-time secrets

/// The `stack/render-time-secret` findings for these regenerated Secrets (also
/// what `stack export --format argocd` refuses with).
pub fn render_time_secrets(releases: &[Release], regenerated: &[Regenerated]) -> Vec<Diagnostic> {
    regenerated
        .iter()
        .filter_map(|g| {
            let r = releases.iter().find(|r| r.name == g.release)?;
            Some(
                Diagnostic::error(
                    RULE_RENDER_TIME_SECRET,
                    &r.name,
                    format!(
                        "{} is generated anew on every render (its {} differ between two `helm template` runs): Argo CD renders with `helm template`, where `lookup` finds nothing, so every sync would replace it with new values the app's stored state no longer matches",
                        g.secret,
                        g.keys.join(", ")
                    ),
                )
                .at(r.at.clone())
                .hint("make the Secret once by hand, name it in the release's values (existingSecret) and under `external:`"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_contain_and_overlap() {
        let c = |s: &str| Cidr::parse(s).unwrap();
        assert!(c("192.168.0.0/16").contains(&c("192.168.1.0/24")));
        assert!(!c("192.168.1.0/24").contains(&c("192.168.0.0/16")));
        assert!(c("0.0.0.0/0").contains(&c("10.0.0.1/32")));
        assert!(!c("10.0.0.0/8").contains(&c("192.168.1.0/24")));
        assert!(!c("::/0").contains(&c("10.0.0.0/8")), "families differ");
        assert!(c("fd00::/8").contains(&c("fd12::/16")));
        assert!(c("10.0.0.0/8").overlaps(&c("10.1.0.0/16")));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("nope/8").is_none());
    }

    #[test]
    fn phc_strings_are_what_phc_crypto_verifies() {
        // yaLDAP's own fixture (pkg/ldap/directory/common/types_test.go, v0.2.0).
        assert!(is_phc(
            "$bcrypt$v=0$r=8$$243261243038244e4e78745643644d4f7a33442f6a37534e72345a7075586b772f416d58456a2f6e544856706f784b45656446547570332f41474743"
        ));
        assert!(is_phc("$argon2id$v=19$m=65536,t=16,p=3$8400b4e5f01f3009$3fd77927d189"));
        assert!(is_phc("$pbkdf2sha512$v=0$i=4096$87a39b3cf30626bc$d32093416bf521ff"));
        for plain in [
            "REPLACE-WITH-BCRYPT-HASH-OF-THE-OWNERS-PASSWORD",
            "",
            "$2y$10$abcdefghijklmnopqrstuv",
            "$md5$v=0$r=1$$abcd",
            "$bcrypt$v=0$r=10$$",
            "$bcrypt$2432",
            "$pbkdf2sha3$v=0$i=1$aa$bb",
            "$bcrypt$v=0$r=10$$24zz",
        ] {
            assert!(!is_phc(plain), "{plain}");
        }
    }

    #[test]
    fn bind_passwords_are_read_with_their_path() {
        let dir = "dc:org:\n  ou:people:\n    cn:a:\n      userPassword: !!ldap/bind:password 'x'\n      mail: [a@b, c@d]\n    cn:b:\n      uid: b\n      userPassword: !!ldap/bind:password \"$bcrypt$v=0$r=8$$2432\"\n  ou:services:\n    cn:c:\n      .#acl:\n        - !!ldap/acl:allow-on dc=org\n      pw: !!ldap/bind:password plain # comment\n";
        let found = bind_passwords(dir).unwrap();
        assert_eq!(
            found,
            [
                ("dc:org/ou:people/cn:a/userPassword".to_owned(), "x".to_owned()),
                ("dc:org/ou:people/cn:b/userPassword".to_owned(), "$bcrypt$v=0$r=8$$2432".to_owned()),
                ("dc:org/ou:services/cn:c/pw".to_owned(), "plain".to_owned()),
            ]
        );
        assert!(bind_passwords("a: [b\n").is_none());
    }

    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object { source: None, line: 1, value: v }
    }

    /// A DNS server: a Deployment (UDP 5353 as `dns`, or a hostPort), its Service and a policy admitting `from`.
    fn dns_release(service_type: &str, local: bool, host_port: bool, from: Value) -> Release {
        let mut port = json!({"name": "dns", "containerPort": 5353, "protocol": "UDP"});
        if host_port {
            port["hostPort"] = json!(53);
        }
        let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns", "namespace": "dns"},
            "spec": {"type": service_type, "selector": {"app": "dns"},
                     "ports": [{"name": "dns", "port": 53, "targetPort": "dns", "protocol": "UDP"}]}});
        if local {
            svc["spec"]["externalTrafficPolicy"] = json!("Local");
        }
        Release {
            name: "dns".into(),
            namespace: "dns".into(),
            objects: vec![
                obj(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "dns", "namespace": "dns"},
                    "spec": {"template": {"metadata": {"labels": {"app": "dns"}},
                        "spec": {"containers": [{"name": "c", "image": "x", "ports": [port]}]}}}}),
                ),
                obj(svc),
                obj(
                    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "dns", "namespace": "dns"},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                             "ingress": [{"from": from, "ports": [{"port": "dns", "protocol": "UDP"}]}]}}),
                ),
            ],
            at: Location::at("stack.yaml", 1, 1),
            node: None,
            values: Vec::new(),
        }
    }

    fn lan_findings(release: Release, lb: Option<LoadBalancer>, clients: &[&str]) -> Vec<String> {
        let releases = vec![release];
        let labels = BTreeMap::new();
        let platforms = BTreeMap::new();
        let view = View {
            stack: "stack.yaml",
            releases: &releases,
            nodes: &[],
            reserve_cpu_millis: 0,
            reserve_memory: 0,
            external: &[],
            gateway: None,
            namespace_labels: &labels,
            platforms: &platforms,
        };
        let serves = vec![Exposure {
            name: "dns".into(),
            description: None,
            over: Over::Lan,
            release: Some("dns".into()),
            service: None,
            ports: vec![PortProtocol::parse("53/UDP").unwrap()],
            clients: clients.iter().map(|c| c.to_string()).collect(),
            hosts: vec![],
            routes: vec![],
            at: Location::at("stack.yaml", 2, 3),
        }];
        let text = BTreeMap::new();
        check(
            &view,
            &Outside {
                serves: &serves,
                load_balancer: lb,
                plain_text_passwords: &[],
                argocd: false,
                regenerated: &[],
                values_text: &text,
            },
        )
        .into_iter()
        .map(|d| d.message)
        .collect()
    }

    #[test]
    fn a_load_balancer_is_judged_by_the_source_its_implementation_delivers() {
        let lan = json!([{"ipBlock": {"cidr": "192.168.0.0/16"}}]);
        let svclb = json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"svccontroller.k3s.cattle.io/svcname": "dns"}}}]);
        let anywhere = json!([]);
        // ServiceLB masquerades: a LAN ipBlock never matches, its svclb pod does.
        let f = lan_findings(
            dns_release("LoadBalancer", false, false, lan.clone()),
            Some(LoadBalancer::ServiceLb),
            &[],
        );
        assert!(f.len() == 1 && f[0].contains("k3s' ServiceLB pod"), "{f:?}");
        assert!(
            lan_findings(
                dns_release("LoadBalancer", false, false, svclb.clone()),
                Some(LoadBalancer::ServiceLb),
                &[]
            )
            .is_empty()
        );
        // A load balancer keeping client addresses (Local): the LAN ipBlock admits LAN clients only.
        let keep = Some(LoadBalancer::ClientAddress);
        assert!(
            lan_findings(dns_release("LoadBalancer", true, false, lan.clone()), keep, &["192.168.1.0/24"])
                .is_empty()
        );
        let f = lan_findings(dns_release("LoadBalancer", true, false, lan.clone()), keep, &["10.0.0.0/8"]);
        assert!(f.len() == 1 && f[0].contains("clients at 10.0.0.0/8"), "{f:?}");
        // Cluster policy, or no `loadBalancer:`: only "from anywhere" is known to work.
        assert_eq!(lan_findings(dns_release("LoadBalancer", false, false, lan.clone()), keep, &[]).len(), 1);
        assert_eq!(lan_findings(dns_release("LoadBalancer", false, false, svclb), None, &[]).len(), 1);
        assert!(
            lan_findings(dns_release("LoadBalancer", false, false, anywhere.clone()), None, &[]).is_empty()
        );
        // A hostPort keeps the client's address; ClusterIP exposes nothing.
        assert!(
            lan_findings(dns_release("ClusterIP", false, true, lan), None, &["192.168.1.0/24"]).is_empty()
        );
        let f = lan_findings(dns_release("ClusterIP", false, false, anywhere), None, &[]);
        assert!(f.len() == 1 && f[0].contains("nothing exposes 53/UDP"), "{f:?}");
    }

    #[test]
    fn hosts_match_exactly_or_by_one_wildcard_label() {
        assert!(host_matches("a.example.org", "A.example.org"));
        assert!(host_matches("*.example.org", "a.example.org"));
        assert!(!host_matches("*.example.org", "a.b.example.org"));
        assert!(!host_matches("*.example.org", "example.org"));
    }
}
