//! A chart's runtime contract (`charts/<chart>/runtime.yaml`): what its
//! upstream program does at run time — the files it writes and under which
//! settings, what it listens on, what its health endpoints prove, the user
//! and capabilities it needs, whether it needs a credential to become ready —
//! each fact with its upstream source, plus the facts that could not be
//! confirmed.
//!
//! Parsed once into a typed model with the position of every entry; its
//! structure is judged by `schemas/runtime.schema.json`. The `runtime/*`
//! checks read the model against the rendered objects; the README's
//! "Upstream facts" table is generated from it. Pure: text in, model out.

use crate::yaml::{Node, Pos};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The contract's file name inside a chart folder.
pub const FILE_NAME: &str = "runtime.yaml";

const SCHEMA: &str = include_str!("../../../schemas/runtime.schema.json");

/// A chart's runtime contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    pub path: PathBuf,
    pub upstream: Upstream,
    /// The container running the upstream program.
    pub container: String,
    /// Where `container` is written.
    pub container_at: At,
    /// Key of the ConfigMap/Secret holding the configuration file `key` settings are read from.
    pub config: Option<String>,
    pub writes: Vec<Write>,
    pub ports: Vec<Port>,
    pub health: Vec<Health>,
    pub ready: Option<String>,
    pub user: User,
    pub capabilities: Vec<Capability>,
    pub credential: Option<Credential>,
    pub facts: Vec<Fact>,
    pub unconfirmed: Vec<Unconfirmed>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub repository: String,
    pub tag: String,
    pub commit: Option<String>,
    pub note: Option<String>,
}

/// Where a setting is read in the rendered container; the first set wins:
/// environment, then flag, then configuration key, then `default`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    pub env: Option<String>,
    pub arg: Option<String>,
    pub key: Option<String>,
    pub default: Option<Value>,
}

impl Setting {
    /// `TS_USERSPACE`, `--listen-address`, `server.address` (the first named), for messages.
    pub fn name(&self) -> String {
        let names: Vec<String> = [
            self.env.as_ref().map(|e| format!("${e}")),
            self.arg.clone(),
            self.key.as_ref().map(|k| format!("`{k}`")),
        ]
        .into_iter()
        .flatten()
        .collect();
        names.join(" / ")
    }
}

/// A setting compared with a value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub env: Option<String>,
    pub arg: Option<String>,
    pub key: Option<String>,
    pub default: Option<Value>,
    pub equals: Value,
}

impl Condition {
    pub fn setting(&self) -> Setting {
        Setting {
            env: self.env.clone(),
            arg: self.arg.clone(),
            key: self.key.clone(),
            default: self.default.clone(),
        }
    }

    /// `server.disable_healthcheck = true`, for messages.
    pub fn describe(&self) -> String {
        format!("{} = {}", self.setting().name(), text_of(&self.equals))
    }
}

/// A value as the text a comparison uses (`true` and `"true"` are equal).
pub fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Where an entry is written in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At(pub Pos);

#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// A fixed path, or the setting whose value is the path.
    pub path: WritePath,
    pub what: String,
    pub fatal: bool,
    pub when: Vec<Condition>,
    pub unless: Vec<Condition>,
    pub source: Vec<String>,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WritePath {
    Fixed(String),
    From(Setting),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    pub port: u16,
    pub from: Option<Setting>,
    pub protocol: String,
    pub serves: String,
    pub when: Vec<Condition>,
    pub source: Vec<String>,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The `name` of a [`Port`].
    pub port: String,
    /// HTTP path; `None`: a TCP connect.
    pub path: Option<String>,
    pub proves: String,
    pub readiness: bool,
    pub when: Vec<Condition>,
    pub source: Vec<String>,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub image: String,
    pub root: bool,
    pub root_when: Vec<Condition>,
    pub uid: Option<u64>,
    pub why: Option<String>,
    pub source: Vec<String>,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Capability {
    pub name: String,
    pub when: Vec<Condition>,
    pub why: String,
    pub source: Vec<String>,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub required: bool,
    pub what: String,
    pub env: Vec<String>,
    pub unless: Vec<Condition>,
    pub source: Vec<String>,
    pub at: At,
}

impl Contract {
    /// What the application needs from an outside service to become ready (Tailscale's
    /// auth key), when the contract says it does: a kind cluster cannot give it one, so
    /// `ct install` skips the chart and `ct/install-ready` does not judge it.
    pub fn needs_outside_credential(&self) -> Option<&str> {
        self.credential.as_ref().filter(|c| c.required).map(|c| c.what.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub fact: String,
    pub value: String,
    pub source: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unconfirmed {
    pub fact: String,
    pub why: String,
}

/// Something wrong with a contract file, placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

// The raw shapes, as the schema admits them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    upstream: Upstream,
    container: String,
    config: Option<RawConfig>,
    writes: Vec<RawWrite>,
    ports: Vec<RawPort>,
    health: Vec<RawHealth>,
    ready: Option<String>,
    user: RawUser,
    #[serde(default)]
    capabilities: Vec<RawCapability>,
    credential: Option<RawCredential>,
    #[serde(default)]
    facts: Vec<Fact>,
    unconfirmed: Vec<Unconfirmed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWrite {
    path: Option<String>,
    from: Option<Setting>,
    what: String,
    #[serde(default)]
    fatal: bool,
    #[serde(default)]
    when: Vec<Condition>,
    #[serde(default)]
    unless: Vec<Condition>,
    source: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    name: String,
    port: u16,
    from: Option<Setting>,
    protocol: String,
    serves: String,
    #[serde(default)]
    when: Vec<Condition>,
    source: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    port: String,
    path: Option<String>,
    proves: String,
    readiness: bool,
    #[serde(default)]
    when: Vec<Condition>,
    source: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawUser {
    image: String,
    #[serde(default)]
    root: bool,
    #[serde(default)]
    root_when: Vec<Condition>,
    uid: Option<u64>,
    why: Option<String>,
    source: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapability {
    name: String,
    #[serde(default)]
    when: Vec<Condition>,
    why: String,
    source: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredential {
    required: bool,
    what: String,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    unless: Vec<Condition>,
    source: Vec<String>,
}

/// Parses a contract's text: the model, or every placed problem found
/// (structure first, against the schema; then port names).
pub fn parse(path: &Path, text: &str) -> Result<Contract, Vec<Problem>> {
    let fail =
        |pos: Pos, message: String| Problem { line: pos.line.max(1), column: pos.column.max(1), message };
    let yaml = crate::yaml::parse(text)
        .map_err(|e| vec![fail(Pos { line: e.line, column: e.column }, e.message.clone())])?;
    if let Some(d) = yaml.duplicates.first() {
        return Err(vec![fail(d.second.start, format!("`{}` is given twice", d.key))]);
    }
    let Some(root) = yaml.root() else {
        return Err(vec![fail(Pos::default(), "the runtime contract is empty".into())]);
    };
    let json = root.to_json();
    let at = |pointer: &str| {
        let (node, key) = root.locate_nearest(pointer);
        key.map_or(node.span.start, |k| k.start)
    };
    let schema: Value = serde_json::from_str(SCHEMA)
        .map_err(|e| vec![fail(Pos::default(), format!("runtime schema: {e}"))])?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| vec![fail(Pos::default(), format!("runtime schema: {e}"))])?;
    let mut problems: Vec<Problem> = validator
        .iter_errors(&json)
        .map(|err| {
            let pointer = err.instance_path().as_str().to_owned();
            match err.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let key = unexpected.first().cloned().unwrap_or_default();
                    let place = format!("{pointer}/{}", crate::yaml::escape_token(&key));
                    fail(
                        at(&place),
                        format!("`{}` is not a runtime contract key here", crate::yaml::dotted(&place)),
                    )
                }
                _ => fail(at(&pointer), crate::yaml::prefixed(&pointer, &err.to_string())),
            }
        })
        .collect();
    problems.sort_by_key(|p| (p.line, p.column));
    problems.dedup();
    if !problems.is_empty() {
        return Err(problems);
    }
    let raw: Raw = serde_json::from_value(json).map_err(|e| vec![fail(Pos::default(), e.to_string())])?;
    build(path, root, raw)
}

fn build(path: &Path, root: &Node, raw: Raw) -> Result<Contract, Vec<Problem>> {
    let at = |pointer: &str| At(root.pointer(pointer).map(|n| n.span.start).unwrap_or_default());
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, p) in raw.ports.iter().enumerate() {
        if !names.insert(p.name.as_str()) {
            let pos = at(&format!("/ports/{i}/name")).0;
            problems.push(Problem {
                line: pos.line,
                column: pos.column,
                message: format!("port `{}` is named twice", p.name),
            });
        }
    }
    for (i, h) in raw.health.iter().enumerate() {
        if !names.contains(h.port.as_str()) {
            let pos = at(&format!("/health/{i}/port")).0;
            problems.push(Problem {
                line: pos.line,
                column: pos.column,
                message: format!("health entry names port `{}`, which `ports` does not list", h.port),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Contract {
        path: path.to_owned(),
        upstream: raw.upstream,
        container: raw.container,
        container_at: at("/container"),
        config: raw.config.map(|c| c.file),
        writes: raw
            .writes
            .into_iter()
            .enumerate()
            .map(|(i, w)| Write {
                // The schema admits exactly one of them.
                path: match (w.path, w.from) {
                    (Some(p), _) => WritePath::Fixed(p),
                    (None, from) => WritePath::From(from.unwrap_or_default()),
                },
                what: w.what,
                fatal: w.fatal,
                when: w.when,
                unless: w.unless,
                source: w.source,
                at: at(&format!("/writes/{i}")),
            })
            .collect(),
        ports: raw
            .ports
            .into_iter()
            .enumerate()
            .map(|(i, p)| Port {
                name: p.name,
                port: p.port,
                from: p.from,
                protocol: p.protocol,
                serves: p.serves,
                when: p.when,
                source: p.source,
                at: at(&format!("/ports/{i}")),
            })
            .collect(),
        health: raw
            .health
            .into_iter()
            .enumerate()
            .map(|(i, h)| Health {
                port: h.port,
                path: h.path,
                proves: h.proves,
                readiness: h.readiness,
                when: h.when,
                source: h.source,
                at: at(&format!("/health/{i}")),
            })
            .collect(),
        ready: raw.ready,
        user: User {
            image: raw.user.image,
            root: raw.user.root,
            root_when: raw.user.root_when,
            uid: raw.user.uid,
            why: raw.user.why,
            source: raw.user.source,
            at: at("/user"),
        },
        capabilities: raw
            .capabilities
            .into_iter()
            .enumerate()
            .map(|(i, c)| Capability {
                name: c.name,
                when: c.when,
                why: c.why,
                source: c.source,
                at: at(&format!("/capabilities/{i}")),
            })
            .collect(),
        credential: raw.credential.map(|c| Credential {
            required: c.required,
            what: c.what,
            env: c.env,
            unless: c.unless,
            source: c.source,
            at: at("/credential"),
        }),
        facts: raw.facts,
        unconfirmed: raw.unconfirmed,
    })
}

impl Contract {
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// `charts/x/runtime.yaml:12`, naming an entry in messages.
    pub fn place(&self, at: At) -> String {
        format!("{}:{}", self.path.display(), at.0.line)
    }
}

/// The port number in a setting's value: a number, or text whose last
/// `:<digits>` is the port (`tcp://:9091/`, `[::]:9002`, `:10389`).
pub fn port_number(v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => {
            let digits = |t: &str| {
                let d: String = t.chars().take_while(char::is_ascii_digit).collect();
                d.parse::<u16>().ok().filter(|_| !d.is_empty())
            };
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                return s.parse().ok();
            }
            s.rfind(':').and_then(|i| digits(&s[i + 1..]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog's contracts: only Tailscale needs a credential from outside (its auth
    /// key), so only it is left out of `ct install` on kind.
    #[test]
    fn only_tailscale_needs_an_outside_credential() {
        let charts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts");
        let mut needing = Vec::new();
        for chart in ["adguard-home", "authelia", "gatus", "glance", "homepage", "tailscale", "yaldap"] {
            let path = charts.join(chart).join(FILE_NAME);
            let text = crate::fsio::read_text(&path, crate::fsio::limit::CHART_FILE).unwrap();
            let contract = parse(&path, &text).unwrap_or_else(|e| panic!("{chart}: {e:?}"));
            if let Some(what) = contract.needs_outside_credential() {
                assert!(what.contains("auth key"), "{what}");
                needing.push(chart);
            }
        }
        assert_eq!(needing, ["tailscale"]);
    }

    const MINIMAL: &str = "\
upstream: {repository: a/b, tag: v1}
container: app
writes:
  - path: /app/.env
    what: an env file
    fatal: true
    unless: [{key: server.off, env: APP_OFF, equals: true, default: false}]
    source: [main.go]
ports:
  - {name: http, port: 8080, from: {key: server.address}, protocol: TCP, serves: HTTP, source: [main.go]}
health:
  - {port: http, path: /healthz, proves: up, readiness: true, source: [main.go]}
user: {image: root, source: [Dockerfile]}
unconfirmed: []
";

    #[test]
    fn a_contract_parses_into_the_model_with_positions() {
        let c = parse(Path::new("runtime.yaml"), MINIMAL).unwrap();
        assert_eq!(c.container, "app");
        assert_eq!(c.writes[0].path, WritePath::Fixed("/app/.env".into()));
        assert!(c.writes[0].fatal);
        assert_eq!(c.writes[0].unless[0].describe(), "$APP_OFF / `server.off` = true");
        assert_eq!(c.writes[0].at.0.line, 4);
        assert_eq!(c.port("http").unwrap().from.as_ref().unwrap().key.as_deref(), Some("server.address"));
        assert_eq!(c.health[0].at.0.line, 12);
    }

    #[test]
    fn problems_are_placed_and_all_reported() {
        let text = MINIMAL
            .replace("fatal: true", "fatal: yes-please\n    colour: red")
            .replace("port: http, path", "port: web, path");
        let problems = parse(Path::new("r.yaml"), &text).unwrap_err();
        let lines: Vec<(usize, &str)> = problems.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 7 && m.contains("`writes[0].colour` is not a runtime contract key")),
            "{lines:?}"
        );
        assert!(lines.iter().any(|(l, m)| *l == 6 && m.contains("writes[0].fatal")), "{lines:?}");
        // Names are checked once the structure is right.
        let text = MINIMAL.replace("port: http, path", "port: web, path");
        let problems = parse(Path::new("r.yaml"), &text).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].line, problems[0].column), (12, 12));
        assert!(problems[0].message.contains("port `web`"), "{problems:?}");
        assert!(parse(Path::new("r.yaml"), "a: [1,\n").unwrap_err()[0].line >= 1);
        assert_eq!(
            parse(Path::new("r.yaml"), "# nothing\n").unwrap_err()[0].message,
            "the runtime contract is empty"
        );
    }

    #[test]
    fn a_write_names_exactly_one_path() {
        let both = MINIMAL.replace("  - path: /app/.env\n", "  - path: /app/.env\n    from: {env: X}\n");
        assert!(parse(Path::new("r.yaml"), &both).is_err());
        let none = MINIMAL.replace("  - path: /app/.env\n    what", "  - what");
        assert!(parse(Path::new("r.yaml"), &none).is_err());
    }

    #[test]
    fn port_numbers_come_out_of_addresses() {
        use serde_json::json;
        for (v, want) in [
            (json!(9091), Some(9091)),
            (json!("tcp://:9091/"), Some(9091)),
            (json!("[::]:9002"), Some(9002)),
            (json!("0.0.0.0:3000"), Some(3000)),
            (json!(":10389"), Some(10389)),
            (json!("8080"), Some(8080)),
            (json!("unix:///run/a.sock"), None),
            (json!(true), None),
            (json!(70000), None),
        ] {
            assert_eq!(port_number(&v), want, "{v}");
        }
    }
}
