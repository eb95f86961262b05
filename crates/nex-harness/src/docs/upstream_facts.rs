//! The README's "Upstream facts" table, generated from the chart's runtime
//! contract (`runtime.yaml`): every fact the lint rules read (writes, ports,
//! health checks, user, capabilities, credential), the contract's other
//! facts, and what could not be confirmed. Pure: a contract in, rows out.

use crate::runtime::{Condition, Contract, Setting, WritePath};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct UpstreamDoc {
    pub repository: String,
    pub tag: String,
    pub commit: Option<String>,
    pub note: Option<String>,
    pub rows: Vec<Row>,
    pub unconfirmed: Vec<Unconfirmed>,
}

/// One table row; `value` and `source` are Markdown (code spans), not yet escaped for a cell.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub fact: String,
    pub value: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unconfirmed {
    pub fact: String,
    pub why: String,
}

fn code(s: &str) -> String {
    super::markdown::code(s)
}

fn setting(s: &Setting) -> String {
    let mut names: Vec<String> = Vec::new();
    if let Some(e) = &s.env {
        names.push(code(e));
    }
    if let Some(a) = &s.arg {
        names.push(code(a));
    }
    if let Some(k) = &s.key {
        names.push(code(k));
    }
    names.join(" or ")
}

fn condition(c: &Condition) -> String {
    let default = c
        .default
        .as_ref()
        .map(|d| format!(" (default {})", code(&crate::runtime::text_of(d))))
        .unwrap_or_default();
    format!("{} is {}{default}", setting(&c.setting()), code(&crate::runtime::text_of(&c.equals)))
}

fn conditions(word: &str, cs: &[Condition]) -> String {
    if cs.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = cs.iter().map(condition).collect();
    let joiner = if word == "unless" { " or " } else { " and " };
    format!("; {word} {}", parts.join(joiner))
}

fn sources(source: &[String]) -> String {
    source.iter().map(|s| code(s)).collect::<Vec<_>>().join(", ")
}

pub fn from_contract(c: &Contract) -> UpstreamDoc {
    let mut rows = Vec::new();
    for w in &c.writes {
        let path = match &w.path {
            WritePath::Fixed(p) => code(p),
            WritePath::From(s) => format!("the path in {}", setting(s)),
        };
        let fatal = if w.fatal { "; fatal when it cannot" } else { "" };
        rows.push(Row {
            fact: "writes".into(),
            value: format!(
                "{path}: {}{fatal}{}{}",
                w.what,
                conditions("when", &w.when),
                conditions("unless", &w.unless)
            ),
            source: sources(&w.source),
        });
    }
    if c.writes.is_empty() {
        rows.push(Row { fact: "writes".into(), value: "nothing".into(), source: String::new() });
    }
    for p in &c.ports {
        let from = p.from.as_ref().map(|s| format!(" (set by {})", setting(s))).unwrap_or_default();
        rows.push(Row {
            fact: format!("port {}", code(&p.name)),
            value: format!("{}/{}{from}: {}{}", p.port, p.protocol, p.serves, conditions("when", &p.when)),
            source: sources(&p.source),
        });
    }
    for h in &c.health {
        let check = match &h.path {
            Some(path) => format!("GET {}", code(path)),
            None => "TCP connect".into(),
        };
        let use_ = if h.readiness { "a readiness check" } else { "**not** a readiness check" };
        rows.push(Row {
            fact: format!("health: {check} on {}", code(&h.port)),
            value: format!("{}; {use_}{}", h.proves, conditions("when", &h.when)),
            source: sources(&h.source),
        });
    }
    if let Some(ready) = &c.ready {
        rows.push(Row { fact: "ready means".into(), value: ready.clone(), source: String::new() });
    }
    let u = &c.user;
    let mut needs = Vec::new();
    if u.root {
        needs.push("needs root".to_owned());
    }
    if !u.root_when.is_empty() {
        needs.push(format!("needs root{}", conditions("when", &u.root_when).trim_start_matches(';')));
    }
    if let Some(uid) = u.uid {
        needs.push(format!("works only as UID {uid}"));
    }
    if needs.is_empty() {
        needs.push("runs as any non-root user".into());
    }
    let why = u.why.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
    rows.push(Row {
        fact: "user".into(),
        value: format!("image: {}; {}{why}", u.image, needs.join("; ")),
        source: sources(&u.source),
    });
    for k in &c.capabilities {
        rows.push(Row {
            fact: format!("capability {}", code(&k.name)),
            value: format!("{}{}", k.why, conditions("when", &k.when)),
            source: sources(&k.source),
        });
    }
    if c.capabilities.is_empty() {
        rows.push(Row { fact: "capabilities".into(), value: "none".into(), source: String::new() });
    }
    if let Some(cred) = &c.credential {
        let env = if cred.env.is_empty() {
            String::new()
        } else {
            format!(" ({})", cred.env.iter().map(|e| code(e)).collect::<Vec<_>>().join(", "))
        };
        let need = if cred.required { "required" } else { "not required" };
        rows.push(Row {
            fact: "credential".into(),
            value: format!("{need}{env}: {}{}", cred.what, conditions("unless", &cred.unless)),
            source: sources(&cred.source),
        });
    }
    for f in &c.facts {
        rows.push(Row { fact: f.fact.clone(), value: f.value.clone(), source: sources(&f.source) });
    }
    UpstreamDoc {
        repository: c.upstream.repository.clone(),
        tag: c.upstream.tag.clone(),
        commit: c.upstream.commit.clone(),
        note: c.upstream.note.clone(),
        rows,
        unconfirmed: c
            .unconfirmed
            .iter()
            .map(|u| Unconfirmed { fact: u.fact.clone(), why: u.why.clone() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_fact_becomes_a_row() {
        let text = "\
upstream: {repository: a/b, tag: v1, commit: abcdef0}
container: app
writes:
  - path: /app/.env
    what: an env file
    fatal: true
    unless: [{key: server.off, equals: true, default: false}]
    source: [main.go (run)]
ports:
  - {name: http, port: 8080, from: {env: PORT}, protocol: TCP, serves: HTTP, source: [main.go]}
health:
  - {port: http, path: /healthz, proves: up, readiness: false, source: [h.go]}
user: {image: root, rootWhen: [{env: KERNEL, equals: 'true'}], source: [Dockerfile]}
capabilities: [{name: NET_ADMIN, why: tun, source: [t.go]}]
credential: {required: true, what: a key, env: [KEY], source: [k.go]}
facts: [{fact: image, value: x, source: [build.sh]}]
unconfirmed: [{fact: digest, why: no registry}]
";
        let c = crate::runtime::parse(std::path::Path::new("runtime.yaml"), text).unwrap();
        let doc = from_contract(&c);
        let rows: Vec<String> =
            doc.rows.iter().map(|r| format!("{} | {} | {}", r.fact, r.value, r.source)).collect();
        assert_eq!(
            rows,
            [
                "writes | `/app/.env`: an env file; fatal when it cannot; unless `server.off` is `true` (default `false`) | `main.go (run)`",
                "port `http` | 8080/TCP (set by `PORT`): HTTP | `main.go`",
                "health: GET `/healthz` on `http` | up; **not** a readiness check | `h.go`",
                "user | image: root; needs root when `KERNEL` is `true` | `Dockerfile`",
                "capability `NET_ADMIN` | tun | `t.go`",
                "credential | required (`KEY`): a key | `k.go`",
                "image | x | `build.sh`",
            ]
        );
        assert_eq!(doc.unconfirmed[0].fact, "digest");
    }
}
