//! `runtime/*`: the chart's runtime contract (`runtime.yaml`, what its
//! upstream program does at run time) read against every rendered scenario.
//!
//! The contract is opt-in data: a chart without one is not judged. With one,
//! the container it names is checked in each scenario's workloads: that what
//! the program writes is writable when the root filesystem is read-only, that
//! probes call what the program serves, that a readiness probe only passes
//! when the program is ready, and that the user, capabilities and credential
//! it needs are given. Settings are read from the rendered container (its
//! literal environment, its arguments) and the rendered configuration file
//! the contract names (a ConfigMap or Secret key): what the scenario renders
//! decides whether, say, Authelia writes its health-check file. The object
//! findings are made with the policy rules (`checks/policy.rs`), so a chart's
//! declared exceptions (a deliberate mode, scoped to its scenario) apply.

use super::objects::{self, Container, Finding};
use crate::diag::{Diagnostic, Location};
use crate::load::LoadedChart;
use crate::manifest::Object;
use crate::rule::{EVERY, Rule};
use crate::runtime::{self, Condition, Contract, Setting, WritePath};
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;

pub const RULE_CONTRACT: Rule = Rule::error(
    "runtime/contract",
    EVERY,
    "the chart's runtime contract (`runtime.yaml`) is not valid against `schemas/runtime.schema.json`, or names a container no workload runs",
);
pub const RULE_WRITE: Rule = Rule::error(
    "runtime/read-only-write",
    EVERY,
    "the root filesystem is read-only and the program writes, with this scenario's settings, a path no writable volume is mounted over (a warning when upstream tolerates the failure)",
)
.exceptable();
pub const RULE_PROBE: Rule = Rule::error(
    "runtime/probe-unlisted",
    EVERY,
    "a probe calls a port, HTTP path or TCP check the runtime contract does not list among the program's listeners and health endpoints",
)
.exceptable();
pub const RULE_READINESS: Rule = Rule::error(
    "runtime/readiness-not-ready",
    EVERY,
    "a readiness probe uses a health check that the runtime contract says passes while the program is not ready",
)
.exceptable();
pub const RULE_USER: Rule = Rule::error(
    "runtime/user",
    EVERY,
    "the container's user contradicts the runtime contract (it needs root, or one UID, and runs as another)",
)
.exceptable();
pub const RULE_CAPABILITY: Rule = Rule::error(
    "runtime/capability",
    EVERY,
    "the container lacks a capability the runtime contract says the program needs, or adds one it does not list",
)
.exceptable();
pub const RULE_CREDENTIAL: Rule = Rule::error(
    "runtime/credential",
    EVERY,
    "the program needs a credential to become ready (runtime contract) and the container is given none of the variables that pass it",
)
.exceptable();
pub const RULES: &[Rule] =
    &[RULE_CONTRACT, RULE_WRITE, RULE_PROBE, RULE_READINESS, RULE_USER, RULE_CAPABILITY, RULE_CREDENTIAL];

/// The contract, when the chart has one that parsed.
pub fn contract(loaded: &LoadedChart) -> Option<&Contract> {
    loaded.files.runtime.as_ref()?.content.as_ref().ok()?.as_ref().ok()
}

/// Findings about the contract itself: it does not parse, or names a
/// container no workload of a scenario runs. What the contract says about the
/// rendered objects is judged with the policy rules ([`findings`]), so a
/// chart's policy exceptions apply to it.
pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let Some(source) = &loaded.files.runtime else { return Vec::new() };
    let chart = &loaded.chart.name;
    let contract = match &source.content {
        // Unreadable files are the `file/*` rules' concern (the same reader).
        Err(e) => {
            return vec![
                Diagnostic::error(RULE_CONTRACT, chart, format!("cannot read the runtime contract: {e}"))
                    .in_file(&source.path),
            ];
        }
        Ok(Err(problems)) => {
            return problems
                .iter()
                .map(|p| {
                    Diagnostic::error(RULE_CONTRACT, chart, p.message.clone())
                        .at(Location::at(&source.path, p.line, p.column))
                        .hint("see schemas/runtime.schema.json")
                })
                .collect();
        }
        Ok(Ok(c)) => c,
    };
    let mut diags = Vec::new();
    for r in loaded.renderings.iter().filter(|r| r.succeeded()) {
        let workloads: Vec<&Object> =
            r.objects.iter().filter(|o| objects::pod_spec(o).is_some() && o.kind() != "Pod").collect();
        let runs = workloads.iter().any(|o| !containers(contract, o).is_empty());
        if !runs && !workloads.is_empty() {
            let pos = contract.container_at.0;
            diags.push(
                Diagnostic::error(
                    RULE_CONTRACT,
                    chart,
                    format!("no workload runs a container named `{}`", contract.container),
                )
                .at(Location::at(&contract.path, pos.line.max(1), pos.column.max(1)))
                .scenario(&r.scenario.name)
                .hint("`container` names the container of the chart's Deployment/StatefulSet/DaemonSet that runs the upstream program"),
            );
        }
    }
    diags
}

/// The containers of a workload that run the program the contract describes.
fn containers<'a>(contract: &Contract, obj: &'a Object) -> Vec<(&'a Value, Container<'a>)> {
    if obj.kind() == "Pod" {
        return Vec::new();
    }
    let Some((spec, spec_path)) = objects::pod_spec(obj) else { return Vec::new() };
    objects::containers(spec, spec_path)
        .into_iter()
        .filter(|c| {
            !c.init
                && !c.ephemeral
                && c.value.get("name").and_then(Value::as_str) == Some(&contract.container)
        })
        .map(|c| (spec, c))
        .collect()
}

/// What a rendering holds that the contract reads besides the workload: its configuration file.
pub struct Rendered {
    config: Option<Value>,
}

impl Rendered {
    pub fn new(contract: &Contract, objects: &[Object]) -> Self {
        Self { config: config_file(contract, objects) }
    }
}

/// What the contract says about one rendered object: findings for the
/// container running the program (none for other objects).
pub fn findings(contract: &Contract, rendered: &Rendered, obj: &Object) -> Vec<Finding> {
    let mut out = Vec::new();
    for (spec, c) in containers(contract, obj) {
        let ctx = Ctx::new(contract, spec, &c, rendered.config.as_ref());
        writes(contract, &ctx, &c, &mut out);
        probes(contract, &ctx, &c, &mut out);
        user(contract, &ctx, &c, &mut out);
        capabilities(contract, &ctx, &c, &mut out);
        credential(contract, &ctx, &c, &mut out);
    }
    out
}

/// The configuration file the contract names, from the rendering's ConfigMaps and Secrets.
fn config_file(contract: &Contract, objects: &[Object]) -> Option<Value> {
    let file = contract.config.as_deref()?;
    objects.iter().find_map(|o| {
        let text = match o.kind() {
            "ConfigMap" => o.value.pointer("/data")?.get(file)?.as_str()?.to_owned(),
            "Secret" => {
                match o.value.pointer("/stringData").and_then(|d| d.get(file)).and_then(Value::as_str) {
                    Some(t) => t.to_owned(),
                    None => {
                        let b64 = o.value.pointer("/data")?.get(file)?.as_str()?;
                        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
                        String::from_utf8(bytes).ok()?
                    }
                }
            }
            _ => return None,
        };
        // A file the app expands first (`{{ … }}` templates) is read as far as it parses.
        let yaml = crate::yaml::parse(&text).ok()?;
        Some(yaml.root().map(crate::yaml::Node::to_json).unwrap_or(Value::Null))
    })
}

/// A setting's value in one rendered container.
#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    Known(Value),
    /// Set, but from something the rendering does not show (a Secret, `envFrom`, an unrendered config file).
    Unknown,
    /// Not given anywhere, no default.
    Unset,
}

/// What the checks read from one rendered container.
struct Ctx<'a> {
    /// Literal environment (`None`: set from a source not rendered here).
    env: BTreeMap<String, Option<String>>,
    env_from: bool,
    argv: Vec<String>,
    config: Option<&'a Value>,
    /// The contract names a configuration file, but the rendering holds none (a user's own ConfigMap).
    config_missing: bool,
    security: &'a Value,
    pod_security: &'a Value,
    /// Container port names → (number, protocol).
    ports: BTreeMap<String, i64>,
    /// Mounts: path → writable.
    mounts: Vec<(String, bool)>,
}

impl<'a> Ctx<'a> {
    fn new(contract: &Contract, spec: &'a Value, c: &Container<'a>, config: Option<&'a Value>) -> Self {
        let v = c.value;
        let list = |k: &str| v.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
        let env = list("env")
            .iter()
            .filter_map(|e| {
                let name = e.get("name")?.as_str()?.to_owned();
                let value = match e.get("value") {
                    Some(Value::String(s)) => Some(s.clone()),
                    None if e.get("valueFrom").is_some() => None,
                    _ => Some(String::new()),
                };
                Some((name, value))
            })
            .collect();
        let argv = ["command", "args"]
            .iter()
            .flat_map(|k| list(k))
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        let ports = list("ports")
            .iter()
            .filter_map(|p| Some((p.get("name")?.as_str()?.to_owned(), p.get("containerPort")?.as_i64()?)))
            .collect();
        // configMap, secret, projected and downwardAPI volumes are read-only whatever the mount says.
        let volumes: BTreeMap<&str, bool> = spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|vol| {
                let name = vol.get("name")?.as_str()?;
                let ro =
                    ["configMap", "secret", "projected", "downwardAPI"].iter().any(|k| vol.get(*k).is_some());
                Some((name, !ro))
            })
            .collect();
        let mounts = list("volumeMounts")
            .iter()
            .filter_map(|m| {
                let path = m.get("mountPath")?.as_str()?.trim_end_matches('/').to_owned();
                let ro = m.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
                let volume_writable = m
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|n| volumes.get(n).copied())
                    .unwrap_or(true);
                Some((path, !ro && volume_writable))
            })
            .collect();
        Self {
            env,
            env_from: !list("envFrom").is_empty(),
            argv,
            config,
            config_missing: contract.config.is_some() && config.is_none(),
            security: v.get("securityContext").unwrap_or(&Value::Null),
            pod_security: spec.get("securityContext").unwrap_or(&Value::Null),
            ports,
            mounts,
        }
    }

    fn resolve(&self, s: &Setting) -> Resolved {
        if let Some(name) = &s.env {
            match self.env.get(name) {
                Some(Some(v)) => return Resolved::Known(Value::String(v.clone())),
                Some(None) => return Resolved::Unknown,
                None if self.env_from => return Resolved::Unknown,
                None => {}
            }
        }
        if let Some(flag) = &s.arg {
            let eq = format!("{flag}=");
            for (i, a) in self.argv.iter().enumerate() {
                if a == flag {
                    if let Some(v) = self.argv.get(i + 1) {
                        return Resolved::Known(Value::String(v.clone()));
                    }
                } else if let Some(v) = a.strip_prefix(&eq) {
                    return Resolved::Known(Value::String(v.to_owned()));
                }
            }
        }
        if let Some(key) = &s.key {
            if self.config_missing {
                return Resolved::Unknown;
            }
            let mut at = self.config;
            for part in key.split('.') {
                at = at.and_then(|v| v.get(part));
            }
            if let Some(v) = at.filter(|v| !v.is_null()) {
                return Resolved::Known(v.clone());
            }
        }
        match &s.default {
            Some(d) => Resolved::Known(d.clone()),
            None => Resolved::Unset,
        }
    }

    /// Whether a condition holds: `None` when the rendering cannot tell.
    fn holds(&self, c: &Condition) -> Option<bool> {
        match self.resolve(&c.setting()) {
            Resolved::Known(v) => Some(runtime::text_of(&v) == runtime::text_of(&c.equals)),
            Resolved::Unknown => None,
            Resolved::Unset => Some(false),
        }
    }

    /// Every condition holds, an unknown one counting as `unknown`.
    fn all(&self, conditions: &[Condition], unknown: bool) -> bool {
        conditions.iter().all(|c| self.holds(c).unwrap_or(unknown))
    }

    fn any(&self, conditions: &[Condition], unknown: bool) -> bool {
        conditions.iter().any(|c| self.holds(c).unwrap_or(unknown))
    }

    fn field(&self, key: &str) -> Option<&'a Value> {
        self.security.get(key).or_else(|| self.pod_security.get(key))
    }

    /// The mount covering `path` (the deepest), and whether it is writable.
    fn mount_of(&self, path: &str) -> Option<&(String, bool)> {
        self.mounts
            .iter()
            .filter(|(m, _)| m.is_empty() || path == m || path.starts_with(&format!("{m}/")))
            .max_by_key(|(m, _)| m.len())
    }
}

fn sources(contract: &Contract, source: &[String]) -> String {
    let files: Vec<String> = source.iter().map(|s| format!("`{s}`")).collect();
    format!("{} at {}: {}", contract.upstream.repository, contract.upstream.tag, files.join(", "))
}

fn writes(contract: &Contract, ctx: &Ctx<'_>, c: &Container<'_>, out: &mut Vec<Finding>) {
    if ctx.security.get("readOnlyRootFilesystem").and_then(Value::as_bool) != Some(true) {
        return;
    }
    for w in &contract.writes {
        // Unknown settings count against the chart: the write is assumed to happen.
        if !ctx.all(&w.when, true) || ctx.any(&w.unless, false) {
            continue;
        }
        let path = match &w.path {
            WritePath::Fixed(p) => p.clone(),
            WritePath::From(s) => match ctx.resolve(s) {
                Resolved::Known(v) => runtime::text_of(&v),
                Resolved::Unknown | Resolved::Unset => continue,
            },
        };
        if !path.starts_with('/') {
            continue;
        }
        let path = path.trim_end_matches('/');
        if ctx.mount_of(path).is_some_and(|(_, writable)| *writable) {
            continue;
        }
        let blocked = match ctx.mount_of(path) {
            Some((m, _)) => {
                format!("the volume mounted at {} is read-only", if m.is_empty() { "/" } else { m })
            }
            None => "the root filesystem is read-only and no volume is mounted there".to_owned(),
        };
        let settings: Vec<String> = w.unless.iter().map(Condition::describe).collect();
        let avoid =
            if settings.is_empty() { String::new() } else { format!(", or set {}", settings.join(" or ")) };
        let consequence = if w.fatal { "; the program exits when it cannot" } else { "" };
        let message = format!("{} writes {path} ({}{consequence}) but {blocked}", c.label, w.what);
        let hint = format!(
            "{} ({}): mount a writable volume (an emptyDir) there{avoid}",
            contract.place(w.at),
            sources(contract, &w.source)
        );
        let mut f = Finding::error(RULE_WRITE, format!("{}/volumeMounts", c.path), message).hint(hint);
        if !w.fatal {
            f.severity = crate::diag::Severity::Warning;
        }
        out.push(f);
    }
}

/// A probe's port as a number (a name resolves to the container port).
fn probe_port(ctx: &Ctx<'_>, port: &Value) -> Option<i64> {
    match port {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => ctx.ports.get(s).copied().or_else(|| s.parse().ok()),
        _ => None,
    }
}

fn probes(contract: &Contract, ctx: &Ctx<'_>, c: &Container<'_>, out: &mut Vec<Finding>) {
    // The contract's listeners in this rendering: name → number (None: cannot tell).
    let listening: Vec<(&runtime::Port, Option<i64>)> = contract
        .ports
        .iter()
        .filter(|p| ctx.all(&p.when, true))
        .map(|p| {
            let n = match p.from.as_ref().map(|s| ctx.resolve(s)) {
                None | Some(Resolved::Unset) => Some(i64::from(p.port)),
                Some(Resolved::Known(v)) => runtime::port_number(&v).map(i64::from),
                Some(Resolved::Unknown) => None,
            };
            (p, n)
        })
        .collect();
    let listed: Vec<String> = listening
        .iter()
        .map(|(p, n)| format!("{} {}", p.name, n.map_or("(set elsewhere)".into(), |n| n.to_string())))
        .collect();
    for kind in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let Some(probe) = c.value.get(kind) else { continue };
        let path = format!("{}/{kind}", c.path);
        let (check, port, http_path) = if let Some(h) = probe.get("httpGet") {
            let p = h.get("path").and_then(Value::as_str).unwrap_or("/");
            ("httpGet", h.get("port"), Some(p.split('?').next().unwrap_or(p).to_owned()))
        } else if let Some(t) = probe.get("tcpSocket") {
            ("tcpSocket", t.get("port"), None)
        } else if let Some(g) = probe.get("grpc") {
            ("grpc", g.get("port"), None)
        } else {
            // exec: what a command proves is not data the contract holds.
            continue;
        };
        let Some(number) = port.and_then(|p| probe_port(ctx, p)) else { continue };
        let names: Vec<&str> = listening
            .iter()
            .filter(|(_, n)| n.is_none_or(|n| n == number))
            .map(|(p, _)| p.name.as_str())
            .collect();
        if names.is_empty() {
            out.push(
                Finding::error(
                    RULE_PROBE,
                    format!("{path}/{check}/port"),
                    format!(
                        "{} {kind} calls port {number}, where the program does not listen (runtime contract: {})",
                        c.label,
                        listed.join(", ")
                    ),
                )
                .hint(format!("{}: the listeners are under `ports`", contract.path.display())),
            );
            continue;
        }
        if check == "grpc" {
            continue;
        }
        let endpoint = contract
            .health
            .iter()
            .find(|h| names.contains(&h.port.as_str()) && h.path == http_path && ctx.all(&h.when, true));
        let what = match &http_path {
            Some(p) => format!("GET {p}"),
            None => "a TCP connect".to_owned(),
        };
        let Some(h) = endpoint else {
            let known: Vec<String> = contract
                .health
                .iter()
                .filter(|h| names.contains(&h.port.as_str()))
                .map(|h| h.path.clone().unwrap_or_else(|| "TCP connect".into()))
                .collect();
            out.push(
                Finding::error(
                    RULE_PROBE,
                    format!("{path}/{check}"),
                    format!(
                        "{} {kind} makes {what} on port {number}, which the runtime contract does not list as a health check (there: {})",
                        c.label,
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                )
                .hint(format!("{}: health checks are under `health`", contract.path.display())),
            );
            continue;
        };
        if kind == "readinessProbe" && !h.readiness {
            let ready = contract.ready.as_deref().map(|r| format!(" Ready means: {r}.")).unwrap_or_default();
            out.push(
                Finding::error(
                    RULE_READINESS,
                    format!("{path}/{check}"),
                    format!(
                        "{} readinessProbe makes {what} on port {number}, which passes while the program is not ready: {}.{ready}",
                        c.label, h.proves
                    ),
                )
                .hint(format!(
                    "{} ({}): use a health check the contract marks `readiness: true`",
                    contract.place(h.at),
                    sources(contract, &h.source)
                )),
            );
        }
    }
}

fn user(contract: &Contract, ctx: &Ctx<'_>, c: &Container<'_>, out: &mut Vec<Finding>) {
    let u = &contract.user;
    let run_as = ctx.field("runAsUser").and_then(Value::as_i64);
    let non_root = ctx.field("runAsNonRoot").and_then(Value::as_bool) == Some(true);
    let needs_root = u.root || (!u.root_when.is_empty() && ctx.all(&u.root_when, false));
    let why = u.why.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
    let hint = format!("{} ({})", contract.place(u.at), sources(contract, &u.source));
    if needs_root && (non_root || run_as.is_some_and(|r| r != 0)) {
        let user = run_as.map_or("as non-root (runAsNonRoot)".to_owned(), |r| format!("as UID {r}"));
        out.push(
            Finding::error(
                RULE_USER,
                format!("{}/securityContext", c.path),
                format!("{} runs {user}, but the program needs root here{why}", c.label),
            )
            .hint(hint.clone()),
        );
    }
    if let (Some(want), Some(r)) = (u.uid, run_as)
        && u64::try_from(r).ok() != Some(want)
    {
        out.push(
            Finding::error(
                RULE_USER,
                format!("{}/securityContext", c.path),
                format!("{} runs as UID {r}, but the program works only as UID {want}{why}", c.label),
            )
            .hint(hint),
        );
    }
}

fn capability_names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase())
        .collect()
}

fn capabilities(contract: &Contract, ctx: &Ctx<'_>, c: &Container<'_>, out: &mut Vec<Finding>) {
    let caps = ctx.security.get("capabilities");
    let added = capability_names(caps.and_then(|c| c.get("add")));
    let dropped = capability_names(caps.and_then(|c| c.get("drop")));
    let privileged = ctx.security.get("privileged").and_then(Value::as_bool) == Some(true);
    let path = format!("{}/securityContext/capabilities", c.path);
    for need in contract.capabilities.iter().filter(|k| ctx.all(&k.when, true)) {
        let removed = dropped.iter().any(|d| d == "ALL" || *d == need.name);
        if removed && !added.contains(&need.name) && !privileged {
            out.push(
                Finding::error(
                    RULE_CAPABILITY,
                    path.clone(),
                    format!("{} drops {}, which the program needs: {}", c.label, need.name, need.why),
                )
                .hint(format!(
                    "{} ({})",
                    contract.place(need.at),
                    sources(contract, &need.source)
                )),
            );
        }
    }
    for cap in &added {
        if !contract.capabilities.iter().any(|k| &k.name == cap) {
            out.push(
                Finding::error(
                    RULE_CAPABILITY,
                    path.clone(),
                    format!("{} adds {cap}, which the runtime contract does not list as needed", c.label),
                )
                .hint(format!("{}: needed capabilities are under `capabilities`", contract.path.display())),
            );
        }
    }
}

fn credential(contract: &Contract, ctx: &Ctx<'_>, c: &Container<'_>, out: &mut Vec<Finding>) {
    let Some(cred) = &contract.credential else { return };
    // A mode upstream runs without one, or settings the rendering does not show: not judged.
    if !cred.required || ctx.any(&cred.unless, true) || ctx.env_from {
        return;
    }
    let given = cred.env.iter().any(|name| {
        matches!(ctx.env.get(name), Some(Some(v)) if !v.is_empty()) || matches!(ctx.env.get(name), Some(None))
    });
    if !given {
        out.push(
            Finding::error(
                RULE_CREDENTIAL,
                format!("{}/env", c.path),
                format!("{} is given none of {}: {}", c.label, cred.env.join(", "), cred.what),
            )
            .hint(format!("{} ({})", contract.place(cred.at), sources(contract, &cred.source))),
        );
    }
}
