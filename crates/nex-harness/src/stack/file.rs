//! The stack file (`stacks/<name>/stack.yaml`), read once into a typed model
//! with the position of every part a finding may point at.
//!
//! Structure is judged by `schemas/stack.schema.json` (unknown keys, types);
//! what a schema cannot see (a chart folder or values file that does not
//! exist, a node or release named twice) is judged here. Every problem is a
//! located `stack/file` finding; the model is returned only when there is none.

use crate::diag::{Diagnostic, Location};
use crate::quantity;
use crate::yaml::{Node, Span};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::checks::stack::RULE_FILE;
use crate::checks::stack_serves::{Exposure, LoadBalancer, Over, PortProtocol};

const SCHEMA: &str = include_str!("../../../../schemas/stack.schema.json");

/// The stack file's name inside its folder.
pub const FILE_NAME: &str = "stack.yaml";

#[derive(Debug, Clone)]
pub struct Stack {
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub repository: Option<Repository>,
    pub kube_version: Option<String>,
    pub nodes: Vec<NodeSpec>,
    pub reserve_cpu_millis: u64,
    pub reserve_memory: u64,
    pub gateway: Option<Gateway>,
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    pub external: Vec<External>,
    pub releases: Vec<Release>,
    /// What the stack serves outside the cluster (`serves:`).
    pub serves: Vec<Exposure>,
    pub load_balancer: Option<LoadBalancer>,
    /// `gitops:` tools; `argocd` renders with `helm template`.
    pub gitops: Vec<String>,
    /// Releases allowed plain-text (non-PHC) passwords, with the reason.
    pub plain_text_passwords: Vec<(String, String)>,
}

impl Stack {
    /// Whether the stack is deployed with Argo CD (`gitops: [argocd]`).
    pub fn argocd(&self) -> bool {
        self.gitops.iter().any(|g| g == "argocd")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    pub name: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    pub arch: String,
    pub cpu_millis: u64,
    pub memory: u64,
    pub at: Location,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {
    pub namespace: String,
    #[serde(default)]
    pub pod_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct External {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default)]
    pub ports: Vec<u16>,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub name: String,
    /// The chart folder (resolved against the stack file's folder).
    pub chart: PathBuf,
    pub version: Option<String>,
    pub namespace: String,
    /// Values files (resolved), in merge order, each with where the stack names it.
    pub values: Vec<(PathBuf, Location)>,
    pub node: Option<String>,
    /// The release's entry in the stack file (its `name:`).
    pub at: Location,
}

/// The raw shape, as the schema admits it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    name: String,
    description: Option<String>,
    repository: Option<Repository>,
    kube_version: Option<String>,
    #[serde(default)]
    nodes: Vec<RawNode>,
    #[serde(default)]
    reserve: RawReserve,
    gateway: Option<Gateway>,
    #[serde(default)]
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    external: Vec<External>,
    releases: Vec<RawRelease>,
    #[serde(default)]
    serves: Vec<RawExposure>,
    load_balancer: Option<String>,
    #[serde(default)]
    gitops: Vec<String>,
    #[serde(default)]
    plain_text_passwords: Vec<RawPlainText>,
}

#[derive(Deserialize)]
struct RawExposure {
    name: String,
    description: Option<String>,
    over: String,
    release: Option<String>,
    service: Option<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    clients: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    routes: Vec<String>,
}

#[derive(Deserialize)]
struct RawPlainText {
    release: String,
    reason: String,
}

#[derive(Deserialize)]
struct RawNode {
    name: String,
    arch: String,
    cpu: Value,
    memory: Value,
}

#[derive(Deserialize, Default)]
struct RawReserve {
    cpu: Option<Value>,
    memory: Option<Value>,
}

#[derive(Deserialize)]
struct RawRelease {
    name: String,
    chart: String,
    version: Option<String>,
    namespace: String,
    #[serde(default)]
    values: Vec<String>,
    node: Option<String>,
}

/// Reads and judges a stack file. Its repository is the nearest folder above
/// it holding `.git` (the stack file's own folder when there is none); the
/// charts and values files it names stay inside that ([`read_in`]).
/// `Err` holds every located problem found.
pub fn read(path: &Path) -> Result<Stack, Vec<Diagnostic>> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let root = dir.ancestors().find(|a| a.join(".git").exists()).unwrap_or(dir);
    read_in(path, root)
}

/// [`read`] for a stack file of the repository at `root`: the charts and
/// values files it names must stay inside `root` (no absolute path, no `..`
/// above it, no link leading out of it), as `chart-dirs` must.
pub fn read_in(path: &Path, root: &Path) -> Result<Stack, Vec<Diagnostic>> {
    let text = crate::fsio::read_text(path, crate::fsio::limit::SETTINGS_FILE).map_err(|e| {
        vec![Diagnostic::error(RULE_FILE, "", format!("cannot read the stack file: {e}")).in_file(path)]
    })?;
    parse_in(path, &text, root)
}

/// [`read`] over text already read (tests, fuzzing); the stack file's folder is the repository.
pub fn parse(path: &Path, text: &str) -> Result<Stack, Vec<Diagnostic>> {
    parse_in(path, text, path.parent().unwrap_or(Path::new("")))
}

/// What stands at a path a stack file names, when it is not a regular file, in words.
fn not_a_file(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(m) => Some(format!("is {}, not a regular file", crate::paths::kind_of(m.file_type()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist".into()),
        Err(e) => Some(format!("cannot be read: {e}")),
    }
}

/// [`parse`] with the repository root given.
pub fn parse_in(path: &Path, text: &str, repo: &Path) -> Result<Stack, Vec<Diagnostic>> {
    let fail = |line: usize, column: usize, message: String| {
        vec![Diagnostic::error(RULE_FILE, "", message).at(Location::at(path, line.max(1), column.max(1)))]
    };
    let yaml = crate::yaml::parse(text).map_err(|e| fail(e.line, e.column, e.message.clone()))?;
    if let Some(d) = yaml.duplicates.first() {
        return Err(fail(d.second.start.line, d.second.start.column, format!("`{}` is given twice", d.key)));
    }
    let Some(root) = yaml.root() else {
        return Err(fail(1, 1, "the stack file is empty".into()));
    };
    let json = root.to_json();
    let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| fail(1, 1, format!("stack schema: {e}")))?;
    let validator =
        jsonschema::validator_for(&schema).map_err(|e| fail(1, 1, format!("stack schema: {e}")))?;
    let mut problems: Vec<Diagnostic> = validator
        .iter_errors(&json)
        .map(|err| {
            let pointer = err.instance_path().as_str().to_owned();
            let (at, message) = match err.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let key = unexpected.first().cloned().unwrap_or_default();
                    let at = format!("{pointer}/{}", crate::yaml::escape_token(&key));
                    (
                        at,
                        format!(
                            "`{}` is not a stack file key here",
                            crate::yaml::dotted(&format!("{pointer}/{key}"))
                        ),
                    )
                }
                _ => (pointer.clone(), crate::yaml::prefixed(&pointer, &err.to_string())),
            };
            Diagnostic::error(RULE_FILE, "", message).at(locate(path, root, &at))
        })
        .collect();
    // Problems the schema saw do not stop the rest: a chart or values file
    // that does not exist is reported beside an unknown key.
    let raw: Raw = match serde_json::from_value(json) {
        Ok(raw) => raw,
        Err(e) if problems.is_empty() => return Err(fail(1, 1, format!("stack file: {e}"))),
        Err(_) => return Err(problems),
    };
    let dir = path.parent().unwrap_or(Path::new("."));

    let mut nodes = Vec::new();
    for (i, n) in raw.nodes.iter().enumerate() {
        let at = locate(path, root, &format!("/nodes/{i}"));
        let cpu = quantity::text_of(&n.cpu).and_then(|t| quantity::cpu_millis(&t));
        let memory = quantity::text_of(&n.memory).and_then(|t| quantity::bytes(&t));
        match (cpu, memory) {
            (Some(cpu_millis), Some(memory)) => {
                nodes.push(NodeSpec { name: n.name.clone(), arch: n.arch.clone(), cpu_millis, memory, at })
            }
            _ => problems.push(
                Diagnostic::error(
                    RULE_FILE,
                    "",
                    format!("node `{}`: cpu and memory must be Kubernetes quantities", n.name),
                )
                .at(at),
            ),
        }
    }
    let reserve =
        |v: &Option<Value>, f: fn(&str) -> Option<u64>, key: &str, problems: &mut Vec<Diagnostic>| match v {
            None => 0,
            Some(v) => quantity::text_of(v).and_then(|t| f(&t)).unwrap_or_else(|| {
                problems.push(
                    Diagnostic::error(RULE_FILE, "", format!("reserve.{key} must be a Kubernetes quantity"))
                        .at(locate(path, root, &format!("/reserve/{key}"))),
                );
                0
            }),
        };
    let reserve_cpu_millis = reserve(&raw.reserve.cpu, quantity::cpu_millis, "cpu", &mut problems);
    let reserve_memory = reserve(&raw.reserve.memory, quantity::bytes, "memory", &mut problems);
    duplicates(path, root, "nodes", raw.nodes.iter().map(|n| n.name.as_str()), &mut problems);
    duplicates(path, root, "releases", raw.releases.iter().map(|r| r.name.as_str()), &mut problems);

    let mut releases = Vec::new();
    for (i, r) in raw.releases.into_iter().enumerate() {
        let at = locate(path, root, &format!("/releases/{i}/name"));
        let chart = dir.join(&r.chart);
        let chart_at = locate(path, root, &format!("/releases/{i}/chart"));
        // Read like `chart-dirs`: a chart outside the repository is never read, not even its Chart.yaml.
        if let Err(e) = crate::fsio::confine(repo, dir, Path::new(&r.chart)) {
            problems.push(
                Diagnostic::error(RULE_FILE, "", format!("release `{}`: chart {e}", r.name)).at(chart_at),
            );
        } else if let Some(what) = not_a_file(&chart.join("Chart.yaml")) {
            let message = match what.as_str() {
                "does not exist" => format!("release `{}`: no chart at {}", r.name, chart.display()),
                _ => format!("release `{}`: {}/Chart.yaml {what}", r.name, chart.display()),
            };
            problems.push(Diagnostic::error(RULE_FILE, "", message).at(chart_at));
        }
        let mut values = Vec::new();
        for (j, v) in r.values.iter().enumerate() {
            let file = dir.join(v);
            let vat = locate(path, root, &format!("/releases/{i}/values/{j}"));
            let problem = match crate::fsio::confine(repo, dir, Path::new(v)) {
                Err(e) => Some(format!("values file {e}")),
                Ok(_) => not_a_file(&file).map(|what| format!("values file {} {what}", file.display())),
            };
            if let Some(problem) = problem {
                problems.push(
                    Diagnostic::error(RULE_FILE, "", format!("release `{}`: {problem}", r.name))
                        .at(vat.clone()),
                );
            }
            values.push((file, vat));
        }
        if let Some(node) = &r.node
            && !nodes.iter().any(|n: &NodeSpec| &n.name == node)
            && !raw.nodes.iter().any(|n| &n.name == node)
        {
            {
                problems.push(
                    Diagnostic::error(
                        RULE_FILE,
                        "",
                        format!("release `{}`: node `{node}` is not among the stack's nodes", r.name),
                    )
                    .at(locate(path, root, &format!("/releases/{i}/node"))),
                );
            }
        }
        releases.push(Release {
            name: r.name,
            chart,
            version: r.version,
            namespace: r.namespace,
            values,
            node: r.node,
            at,
        });
    }
    let names: Vec<&str> = releases.iter().map(|r: &Release| r.name.as_str()).collect();
    let serves = exposures(path, root, &raw.serves, &names, &mut problems);
    duplicates(path, root, "serves", raw.serves.iter().map(|e| e.name.as_str()), &mut problems);
    let mut plain_text_passwords = Vec::new();
    for (i, p) in raw.plain_text_passwords.iter().enumerate() {
        if !names.contains(&p.release.as_str()) {
            problems.push(
                Diagnostic::error(
                    RULE_FILE,
                    "",
                    format!("plainTextPasswords: `{}` is not a release of the stack", p.release),
                )
                .at(locate(path, root, &format!("/plainTextPasswords/{i}/release"))),
            );
        }
        plain_text_passwords.push((p.release.clone(), p.reason.clone()));
    }
    let load_balancer = match raw.load_balancer.as_deref() {
        Some("servicelb") => Some(LoadBalancer::ServiceLb),
        Some("client-address") => Some(LoadBalancer::ClientAddress),
        _ => None,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Stack {
        serves,
        load_balancer,
        gitops: raw.gitops,
        plain_text_passwords,
        path: path.to_owned(),
        name: raw.name,
        description: raw.description,
        repository: raw.repository,
        kube_version: raw.kube_version,
        nodes,
        reserve_cpu_millis,
        reserve_memory,
        gateway: raw.gateway,
        namespaces: raw.namespaces,
        external: raw.external,
        releases,
    })
}

/// The `serves:` entries, judged: what each kind needs, releases that exist, ports and CIDRs that parse.
fn exposures(
    path: &Path,
    root: &Node,
    raw: &[RawExposure],
    releases: &[&str],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Exposure> {
    let mut out = Vec::new();
    for (i, e) in raw.iter().enumerate() {
        let at = locate(path, root, &format!("/serves/{i}/name"));
        let mut fail = |key: &str, message: String| {
            problems.push(
                Diagnostic::error(RULE_FILE, "", format!("serves `{}`: {message}", e.name)).at(locate(
                    path,
                    root,
                    &format!("/serves/{i}/{key}"),
                )),
            )
        };
        let over = match e.over.as_str() {
            "lan" => Over::Lan,
            "gateway" => Over::Gateway,
            _ => Over::Tailnet,
        };
        match (&over, &e.release) {
            (Over::Lan | Over::Tailnet, None) => fail("over", format!("`over: {}` needs `release`", e.over)),
            (_, Some(r)) if !releases.contains(&r.as_str()) => {
                fail("release", format!("`{r}` is not a release of the stack"))
            }
            _ => {}
        }
        if over == Over::Lan && e.ports.is_empty() {
            fail("over", "`over: lan` needs `ports` (PORT/PROTOCOL)".into());
        }
        if over == Over::Gateway && e.hosts.is_empty() {
            fail("over", "`over: gateway` needs `hosts`".into());
        }
        let mut ports = Vec::new();
        for (j, p) in e.ports.iter().enumerate() {
            match PortProtocol::parse(p) {
                Some(pp) => ports.push(pp),
                None => fail(
                    &format!("ports/{j}"),
                    format!("`{p}` is not PORT/PROTOCOL with a port of 1 to 65535"),
                ),
            }
        }
        for (j, c) in e.clients.iter().enumerate() {
            if crate::checks::stack_serves::Cidr::parse(c).is_none() {
                fail(&format!("clients/{j}"), format!("`{c}` is not a CIDR (address/prefix)"));
            }
        }
        out.push(Exposure {
            name: e.name.clone(),
            description: e.description.clone(),
            over,
            release: e.release.clone(),
            service: e.service.clone(),
            ports,
            clients: e.clients.clone(),
            hosts: e.hosts.clone(),
            routes: e.routes.clone(),
            at,
        });
    }
    out
}

fn duplicates<'a>(
    path: &Path,
    root: &Node,
    list: &str,
    names: impl Iterator<Item = &'a str>,
    problems: &mut Vec<Diagnostic>,
) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            problems.push(
                Diagnostic::error(RULE_FILE, "", format!("{list}: `{name}` is named twice")).at(locate(
                    path,
                    root,
                    &format!("/{list}/{i}/name"),
                )),
            );
        }
    }
}

/// The place of a JSON pointer in the stack file (the key naming it when there is one).
fn locate(path: &Path, root: &Node, pointer: &str) -> Location {
    let (node, key) = root.locate_nearest(pointer);
    let span: Span = key.unwrap_or(node.span);
    Location::at(path, span.start.line.max(1), span.start.column.max(1))
}

/// The stack files under `dir` (`<dir>/<name>/stack.yaml`), sorted.
pub fn discover(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path().join(FILE_NAME))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse(Path::new("/nonexistent/stack.yaml"), text) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(|d| format!("{} {}", d.location.as_ref().unwrap(), d.message)).collect(),
        }
    }

    #[test]
    fn an_unknown_key_is_located_at_the_key() {
        let p = problems("name: s\nreleases:\n  - name: a\n    chart: x\n    namespace: n\n    valuez: []\n");
        // The unknown key, and (still checked) the chart that is not there.
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[1].contains("no chart"), "{p:?}");
        assert!(p[0].starts_with("/nonexistent/stack.yaml:6:5 "), "{p:?}");
        assert!(p[0].contains("valuez"), "{p:?}");
    }

    #[test]
    fn a_missing_chart_and_values_file_are_located() {
        let p = problems(
            "name: s\nreleases:\n  - name: a\n    chart: nowhere\n    namespace: n\n    values: [gone.yaml]\n",
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("/nonexistent/stack.yaml:4:5 ") && p[0].contains("no chart"), "{p:?}");
        assert!(p[1].contains(":6:") && p[1].contains("gone.yaml"), "{p:?}");
    }

    #[test]
    fn quantities_and_names_are_judged() {
        let p = problems(
            "name: s\nnodes:\n  - {name: pi, arch: arm64, cpu: lots, memory: 8Gi}\n  - {name: pi, arch: arm64, cpu: 4, memory: 8Gi}\nreleases:\n  - {name: a, chart: x, namespace: n, node: nope}\n",
        );
        assert!(p.iter().any(|p| p.contains("must be Kubernetes quantities")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("`pi` is named twice")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("node `nope`")), "{p:?}");
    }

    #[test]
    fn serves_entries_are_judged_and_located() {
        let p = problems(
            "name: s\nserves:\n  - {name: dns, over: lan, release: nope}\n  - {name: web, over: gateway}\n  - {name: t, over: tailnet}\n  - {name: x, over: lan, release: a, ports: [99999/UDP], clients: [lan]}\nplainTextPasswords:\n  - {release: ghost, reason: r}\nreleases:\n  - {name: a, chart: x, namespace: n}\n",
        );
        let has = |at: &str, text: &str| p.iter().any(|l| l.contains(at) && l.contains(text));
        assert!(has(":3:", "`nope` is not a release"), "{p:#?}");
        assert!(has(":3:", "needs `ports`"), "{p:#?}");
        assert!(has(":4:", "needs `hosts`"), "{p:#?}");
        assert!(has(":5:", "needs `release`"), "{p:#?}");
        assert!(has(":6:", "`99999/UDP` is not PORT/PROTOCOL"), "{p:#?}");
        assert!(has(":6:", "`lan` is not a CIDR"), "{p:#?}");
        assert!(has(":8:", "plainTextPasswords: `ghost`"), "{p:#?}");
    }

    #[test]
    fn broken_yaml_is_located() {
        let p = problems("name: [s\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("/nonexistent/stack.yaml:"), "{p:?}");
    }
}
