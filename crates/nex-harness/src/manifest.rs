//! The rendered stream of `helm template`, split into objects.
//!
//! helm separates documents with `---` and heads each with `# Source: <chart>/<path>`,
//! the template that produced it. Each object keeps that source and the line it
//! starts on in the stream, so findings can name the template and the object.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// The template as helm names it (`hello/templates/deployment.yaml`), when given.
    pub source: Option<String>,
    /// 1-based line of the document's first line in the stream.
    pub line: usize,
    pub value: Value,
}

/// A document of the stream that is not valid YAML (a template that renders broken YAML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    pub source: Option<String>,
    pub line: usize,
    pub message: String,
    /// Line and column of the error within the document (its `# Source:` line is
    /// line 1), when the parser knows them; the message then omits them.
    #[serde(default)]
    pub at: Option<(usize, usize)>,
    /// The text of that line, as rendered.
    #[serde(default)]
    pub rendered: Option<String>,
    /// A key written twice in one mapping: YAML forbids it, Kubernetes' decoder
    /// keeps the last value; the document's objects were read that way.
    #[serde(default)]
    pub duplicate_key: bool,
}

impl Object {
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.value.get("apiVersion").and_then(Value::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
    }

    /// `Kind/name`, the way findings and exceptions name an object.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }
}

/// Whether a value is a list object (`kind: List`, `ConfigMapList`…) with
/// `items`: kubectl and helm install its items, not the list.
fn is_list(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array)
}

/// Lists nest no deeper than this (kubectl flattens nested lists too).
const MAX_LIST_DEPTH: usize = 8;

/// Pushes `value`, or the items of a list, flattened, as objects of `source`.
fn push_flat(out: &mut Vec<Object>, source: &Option<String>, line: usize, value: Value, depth: usize) {
    if depth < MAX_LIST_DEPTH && is_list(&value) {
        let Value::Object(mut map) = value else { return };
        if let Some(Value::Array(items)) = map.remove("items") {
            for item in items.into_iter().filter(|i| !i.is_null()) {
                push_flat(out, source, line, item, depth + 1);
            }
        }
        return;
    }
    out.push(Object { source: source.clone(), line, value });
}

/// Splits a stream into its documents and parses each. Empty documents (only
/// comments, or nothing: a template whose condition was false) are dropped.
/// List objects are flattened into their items, as kubectl and helm do at
/// install: every check sees what would reach the cluster.
pub fn split(stream: &str) -> (Vec<Object>, Vec<ParseError>) {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for doc in documents(stream) {
        match serde_saphyr::from_str::<Value>(&doc.text) {
            Ok(Value::Null) => {}
            Ok(value) => push_flat(&mut objects, &doc.source, doc.line, value, 0),
            Err(e) => {
                let at = e
                    .location()
                    .map(|l| (l.line() as usize, l.column() as usize))
                    .filter(|(line, _)| *line > 0);
                let mut message = e.to_string().lines().next().unwrap_or_default().to_owned();
                if let Some((line, column)) = at {
                    message = message.replace(&format!(" at line {line}, column {column}"), "");
                    // Some messages lead with the place instead: `error: line 12 column 3: …`.
                    message = message
                        .trim_start_matches(&format!("error: line {line} column {column}: "))
                        .to_owned();
                }
                let message =
                    message.trim_end_matches(", set DuplicateKeyPolicy in Options if acceptable").to_owned();
                let rendered = at.and_then(|(line, _)| doc.text.lines().nth(line - 1)).map(str::to_owned);
                // A key written twice: read the objects as Kubernetes does (the last value wins).
                let duplicate_key = message.contains("duplicate mapping key");
                if duplicate_key {
                    let options =
                        serde_saphyr::options! { duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins };
                    match serde_saphyr::from_str_with_options::<Value>(&doc.text, options) {
                        Ok(Value::Null) => {}
                        Ok(value) => push_flat(&mut objects, &doc.source, doc.line, value, 0),
                        Err(_) => {}
                    }
                }
                errors.push(ParseError {
                    source: doc.source,
                    line: doc.line,
                    message,
                    at,
                    rendered,
                    duplicate_key,
                })
            }
        }
    }
    (objects, errors)
}

struct Doc {
    source: Option<String>,
    line: usize,
    text: String,
}

fn documents(stream: &str) -> Vec<Doc> {
    let mut docs = Vec::new();
    let mut cur = Doc { source: None, line: 1, text: String::new() };
    for (i, line) in stream.lines().enumerate() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(std::mem::replace(&mut cur, Doc { source: None, line: i + 2, text: String::new() }));
            continue;
        }
        if cur.source.is_none()
            && let Some(src) = line.strip_prefix("# Source: ")
        {
            cur.source = Some(src.trim().to_owned());
        }
        cur.text.push_str(line);
        cur.text.push('\n');
    }
    docs.push(cur);
    docs.retain(|d| d.text.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')));
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "---\n# Source: demo/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: nex-demo\n---\n# Source: demo/templates/empty.yaml\n# nothing\n---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nex-demo\ndata:\n  a: \"1\"\n";

    #[test]
    fn splits_documents_with_their_source_and_line() {
        let (objs, errs) = split(STREAM);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].source.as_deref(), Some("demo/templates/sa.yaml"));
        assert_eq!(objs[0].line, 2);
        assert_eq!(objs[0].id(), "ServiceAccount/nex-demo");
        assert_eq!(objs[1].source.as_deref(), Some("demo/templates/cm.yaml"));
        assert_eq!(objs[1].line, 11);
        assert_eq!(objs[1].value.pointer("/data/a"), Some(&Value::String("1".into())));
    }

    #[test]
    fn list_objects_are_flattened_into_their_items() {
        let stream = "---\n# Source: demo/templates/list.yaml\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: a}\n  - apiVersion: v1\n    kind: ConfigMapList\n    items:\n      - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
        let (objs, errs) = split(stream);
        assert!(errs.is_empty(), "{errs:?}");
        let ids: Vec<_> = objs.iter().map(|o| (o.id(), o.source.clone().unwrap(), o.line)).collect();
        assert_eq!(
            ids,
            [
                ("Pod/a".into(), "demo/templates/list.yaml".into(), 2),
                ("ConfigMap/b".into(), "demo/templates/list.yaml".into(), 2),
                ("ConfigMap/c".into(), "demo/templates/cm.yaml".into(), 14),
            ]
        );
        // A kind that merely ends in List but has no items is an object itself.
        let (objs, _) = split("kind: PodList\nmetadata: {name: x}\n");
        assert_eq!(objs.len(), 1);
    }

    #[test]
    fn broken_yaml_is_an_error_naming_its_source() {
        let (objs, errs) = split(
            "---\n# Source: demo/templates/bad.yaml\nkind: [a\n---\n# Source: demo/templates/ok.yaml\nkind: A\n",
        );
        assert_eq!(objs.len(), 1);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].source.as_deref(), Some("demo/templates/bad.yaml"));
    }
}
