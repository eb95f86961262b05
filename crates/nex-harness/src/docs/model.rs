//! What a chart README says, gathered from the chart's files into plain data
//! the templates print. Lenient on purpose: the lint checks enforce the policy,
//! the docs render whatever is there.

use super::values_table::{self, Row};
use super::{DocsError, Sources};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct ChartDoc {
    pub name: String,
    pub version: String,
    pub app_version: Option<String>,
    pub description: String,
    /// `application` or `library`.
    pub chart_type: String,
    pub kube_version: Option<String>,
    pub home: Option<String>,
    pub sources: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub license: Option<String>,
    pub dependencies: Vec<Dependency>,
    pub images: Vec<Image>,
    pub changes: Vec<Change>,
    pub exceptions: Vec<Exception>,
    pub values: Vec<Row>,
    /// True when the values table comes from `values.yaml` alone (no schema).
    pub values_without_schema: bool,
    pub scenarios: Vec<ScenarioDoc>,
    /// The "Upstream facts" table, from the runtime contract when the chart has one.
    pub upstream: Option<super::upstream_facts::UpstreamDoc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Maintainer {
    pub name: String,
    /// A Markdown link (url, else `mailto:`), or the bare name.
    pub link: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub name: String,
    pub image: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    pub rule: String,
    pub objects: String,
    pub scenarios: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioDoc {
    pub name: String,
    pub file: String,
    pub description: String,
}

/// Annotations read as embedded YAML documents.
const CHANGES: &str = "artifacthub.io/changes";
const IMAGES: &str = "artifacthub.io/images";
const LICENSE: &str = "artifacthub.io/license";
pub const EXCEPTIONS: &str = "nex-charts/policy-exceptions";

impl ChartDoc {
    pub fn from_sources(src: &Sources) -> Result<Self, DocsError> {
        let chart_file = src.meta.path.clone();
        let invalid = |message: String| DocsError::Invalid { file: chart_file.clone(), message };
        if let Some(e) = &src.meta.error {
            return Err(invalid(e.clone()));
        }
        let chart = &src.meta.value;
        if !chart.is_object() {
            return Err(invalid("Chart.yaml is not a mapping".into()));
        }
        let name = text(chart, "name").ok_or_else(|| invalid("`name` is missing".into()))?;
        let version = text(chart, "version").ok_or_else(|| invalid("`version` is missing".into()))?;
        let annotations = chart.get("annotations").cloned().unwrap_or(Value::Null);
        let embedded = |key: &str| -> Result<Value, DocsError> {
            match annotations.get(key).and_then(Value::as_str) {
                Some(s) => super::parse_yaml(s, &chart_file).map_err(|e| match e {
                    // Positions inside the annotation's text are not positions in Chart.yaml.
                    DocsError::Yaml { file, line, column, message } => DocsError::Annotation {
                        file,
                        key: key.to_owned(),
                        message: format!("{line}:{column} of its text: {message}"),
                    },
                    other => other,
                }),
                None => Ok(Value::Null),
            }
        };

        let values = match &src.values_yaml {
            Some(t) => super::parse_yaml(t, &src.file("values.yaml"))?,
            None => Value::Null,
        };
        let (rows, values_without_schema) = match &src.schema_json {
            Some(t) => {
                let schema: Value = serde_json::from_str(t)
                    .map_err(|e| DocsError::Json(src.file("values.schema.json"), e.to_string()))?;
                (values_table::from_schema(&schema, &values), false)
            }
            None => {
                let rows = values_table::from_values(&values);
                let empty = rows.is_empty();
                (rows, !empty)
            }
        };

        let upstream = match &src.runtime {
            None => None,
            Some(text) => {
                let file = src.file(crate::runtime::FILE_NAME);
                let contract = crate::runtime::parse(&file, text).map_err(|problems| DocsError::Invalid {
                    file: file.clone(),
                    message: problems
                        .iter()
                        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                })?;
                Some(super::upstream_facts::from_contract(&contract))
            }
        };

        Ok(Self {
            upstream,
            name,
            version,
            app_version: text(chart, "appVersion"),
            description: text(chart, "description").unwrap_or_default(),
            chart_type: text(chart, "type").unwrap_or_else(|| "application".into()),
            kube_version: text(chart, "kubeVersion"),
            home: text(chart, "home"),
            sources: list(chart.get("sources")).iter().filter_map(scalar).collect(),
            maintainers: list(chart.get("maintainers")).iter().filter_map(maintainer).collect(),
            license: annotations.get(LICENSE).and_then(scalar),
            dependencies: list(chart.get("dependencies"))
                .iter()
                .map(|d| Dependency {
                    name: text(d, "name").unwrap_or_default(),
                    version: text(d, "version").unwrap_or_default(),
                    repository: text(d, "repository").unwrap_or_default(),
                })
                .collect(),
            images: list(Some(&embedded(IMAGES)?))
                .iter()
                .map(|i| Image {
                    name: text(i, "name").unwrap_or_default(),
                    image: text(i, "image").unwrap_or_default(),
                })
                .collect(),
            changes: list(Some(&embedded(CHANGES)?)).iter().map(change).collect(),
            exceptions: list(Some(&embedded(EXCEPTIONS)?)).iter().map(exception).collect(),
            values: rows,
            values_without_schema,
            scenarios: src
                .ci
                .iter()
                .map(|c| {
                    let file = format!("ci/{}", c.file_name);
                    let description = match leading_comment(&c.text) {
                        d if d.is_empty() => what_it_sets(&super::parse_yaml(&c.text, &src.file(&file))?),
                        d => d,
                    };
                    Ok(ScenarioDoc { name: c.scenario.clone(), file, description })
                })
                .collect::<Result<_, DocsError>>()?,
        })
    }

    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }
}

/// A scalar as text (YAML numbers and booleans included: `version: 1.0` is still a version).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(scalar).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

/// One value or a list of them, joined for a table cell.
fn one_or_many(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
        Some(v) => scalar(v).into_iter().collect(),
        None => Vec::new(),
    }
}

fn maintainer(m: &Value) -> Option<Maintainer> {
    let name = text(m, "name")?;
    let link = match (text(m, "url"), text(m, "email")) {
        (Some(url), _) => format!("[{name}]({url})"),
        (None, Some(email)) => format!("[{name}](mailto:{email})"),
        (None, None) => name.clone(),
    };
    Some(Maintainer { name, link })
}

/// Artifact Hub accepts a list of `kind`/`description` maps or of plain strings.
fn change(c: &Value) -> Change {
    match scalar(c) {
        Some(description) => Change { kind: String::new(), description },
        None => Change {
            kind: text(c, "kind").unwrap_or_default(),
            description: text(c, "description").unwrap_or_default(),
        },
    }
}

fn exception(e: &Value) -> Exception {
    let objects = one_or_many(e.get("objects"));
    let scenarios = one_or_many(e.get("scenarios"));
    Exception {
        rule: text(e, "rule").unwrap_or_default(),
        objects: if objects.is_empty() { "all".into() } else { objects.join(", ") },
        scenarios: if scenarios.is_empty() { "all".into() } else { scenarios.join(", ") },
        reason: text(e, "reason").unwrap_or_default(),
    }
}

/// The comment block a scenario file opens with, as one sentence-ish line.
/// Editor directives (`# yaml-language-server: …`) are not prose and are skipped.
fn leading_comment(text: &str) -> String {
    let mut words = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line == "---" || line.is_empty() && words.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix('#') else { break };
        let comment = comment.trim();
        if comment.starts_with("yaml-language-server:") || comment.starts_with('#') && comment.len() < 2 {
            continue;
        }
        if !comment.is_empty() {
            words.push(comment.to_owned());
        }
    }
    words.join(" ")
}

/// A scenario file that says nothing about itself is described by the values it
/// sets: `ingress.enabled`, `ingress.hosts` (leaves, two levels deep at most).
fn what_it_sets(values: &Value) -> String {
    let mut keys = Vec::new();
    if let Value::Object(top) = values {
        for (k, v) in top {
            match v {
                Value::Object(inner) if !inner.is_empty() => {
                    keys.extend(inner.keys().map(|i| format!("{k}.{i}")));
                }
                _ => keys.push(k.clone()),
            }
        }
    }
    if keys.is_empty() {
        return String::new();
    }
    let spans: Vec<String> = keys.iter().map(|k| super::markdown::code(k)).collect();
    format!("Sets {}.", spans.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_description_is_the_opening_comment() {
        let t = "# yaml-language-server: $schema=../values.schema.json\n# Exposes the UI\n# through an HTTPRoute.\nroute:\n  enabled: true # not this\n";
        assert_eq!(leading_comment(t), "Exposes the UI through an HTTPRoute.");
        assert_eq!(leading_comment("a: 1\n# late\n"), "");
    }

    #[test]
    fn a_scenario_without_a_comment_is_described_by_what_it_sets() {
        let v = serde_json::json!({"ingress": {"enabled": true, "hosts": []}, "replicas": 2, "env": {}});
        assert_eq!(what_it_sets(&v), "Sets `ingress.enabled`, `ingress.hosts`, `replicas`, `env`.");
        assert_eq!(what_it_sets(&Value::Null), "");
    }

    #[test]
    fn exceptions_default_to_every_object_and_scenario() {
        let e: Value = serde_json::json!({"rule": "pss/host-ports", "reason": "DNS"});
        let ex = exception(&e);
        assert_eq!((ex.objects.as_str(), ex.scenarios.as_str()), ("all", "all"));
        let e: Value = serde_json::json!({"rule": "r", "objects": ["Deployment/a", "Pod"], "scenarios": "host", "reason": "x"});
        let ex = exception(&e);
        assert_eq!((ex.objects.as_str(), ex.scenarios.as_str()), ("Deployment/a, Pod", "host"));
    }
}
