//! The values table: one row per documented value, walked from the schema
//! (types, descriptions, required) with defaults looked up in `values.yaml`.

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Dotted path; `[]` marks the items of a list (`ingress.hosts[].host`).
    pub key: String,
    pub ty: String,
    /// The default as compact JSON; `None` when `values.yaml` does not set it.
    pub default: Option<String>,
    pub description: String,
    pub required: bool,
}

/// `$ref` chains and nesting deeper than this are cut (a recursive schema would never end).
const MAX_DEPTH: usize = 24;
/// The schema annotation marking maps whose keys the user chooses.
const USER_KEYS: &str = "x-nex-user-keys";

pub fn from_schema(schema: &Value, values: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    Walker { root: schema }.object(schema, "", Some(values), &mut rows, 0);
    rows
}

/// Without a schema (a library chart, say): every leaf of `values.yaml`, typed by its value.
pub fn from_values(values: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    leaves(values, "", &mut rows);
    rows
}

fn leaves(v: &Value, path: &str, rows: &mut Vec<Row>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                leaves(child, &join(path, k), rows);
            }
        }
        _ if path.is_empty() => {}
        _ => rows.push(Row {
            key: path.to_owned(),
            ty: crate::schema::json_type(v).into(),
            default: Some(compact(v)),
            description: String::new(),
            required: false,
        }),
    }
}

struct Walker<'a> {
    root: &'a Value,
}

impl Walker<'_> {
    /// Follows a local `$ref` (keywords beside it win, as in 2019-09 and later) and
    /// folds `allOf` branches in, so the rest of the walk sees one plain schema.
    fn resolve(&self, node: &Value, depth: usize) -> Map<String, Value> {
        let Some(obj) = node.as_object() else { return Map::new() };
        let mut out = Map::new();
        if depth < MAX_DEPTH {
            if let Some(target) = obj.get("$ref").and_then(Value::as_str).and_then(|r| self.pointer(r)) {
                out = self.resolve(target, depth + 1);
            }
            for branch in obj.get("allOf").and_then(Value::as_array).into_iter().flatten() {
                merge(&mut out, self.resolve(branch, depth + 1));
            }
        }
        for (k, v) in obj {
            if k != "$ref" && k != "allOf" {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    fn pointer(&self, reference: &str) -> Option<&Value> {
        let fragment = reference.strip_prefix('#')?;
        if fragment.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(&decode_pointer(fragment))
    }

    fn object(&self, node: &Value, path: &str, values: Option<&Value>, rows: &mut Vec<Row>, depth: usize) {
        let node = self.resolve(node, depth);
        let Some(props) = node.get("properties").and_then(Value::as_object) else { return };
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for (name, sub) in props {
            let key = join(path, name);
            let value = values.and_then(|v| v.get(name));
            self.property(sub, key, value, required.contains(&name.as_str()), rows, depth + 1);
        }
    }

    fn property(
        &self,
        sub: &Value,
        key: String,
        value: Option<&Value>,
        required: bool,
        rows: &mut Vec<Row>,
        depth: usize,
    ) {
        let schema = self.resolve(sub, depth);
        let ty = self.type_of(&schema, depth);
        let nested = schema.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty())
            && schema.get(USER_KEYS) != Some(&Value::Bool(true));
        rows.push(Row {
            key: key.clone(),
            ty,
            // A group's default is spelt out by its members' rows.
            default: if nested { None } else { value.map(compact) },
            description: describe(&schema),
            required,
        });
        if depth >= MAX_DEPTH {
            return;
        }
        if nested {
            self.object(&Value::Object(schema.clone()), &key, value, rows, depth);
        } else if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
            let items_schema = Value::Object(self.resolve(items, depth));
            self.object(&items_schema, &format!("{key}[]"), None, rows, depth);
        }
    }

    fn type_of(&self, schema: &Map<String, Value>, depth: usize) -> String {
        let base = match schema.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
            _ => {
                let alternatives: Vec<String> = ["oneOf", "anyOf"]
                    .iter()
                    .filter_map(|k| schema.get(*k).and_then(Value::as_array))
                    .flatten()
                    .map(|alt| self.type_of(&self.resolve(alt, depth + 1), depth + 1))
                    .collect();
                if !alternatives.is_empty() && depth < MAX_DEPTH {
                    let mut uniq: Vec<String> = Vec::new();
                    for a in alternatives {
                        if !uniq.contains(&a) {
                            uniq.push(a);
                        }
                    }
                    uniq.join(" or ")
                } else if let Some(Value::Array(e)) = schema.get("enum") {
                    e.first().map(crate::schema::json_type).unwrap_or("any").to_owned()
                } else if let Some(c) = schema.get("const") {
                    crate::schema::json_type(c).to_owned()
                } else if schema.contains_key("properties") {
                    "object".into()
                } else {
                    "any".into()
                }
            }
        };
        if base == "array"
            && let Some(items) = schema.get("items").filter(|i| i.is_object())
        {
            let item = self.type_of(&self.resolve(items, depth + 1), depth + 1);
            if item != "any" {
                return format!("array of {item}");
            }
        }
        // A map whose keys the user picks reads best as "map of <value type>".
        if base == "object"
            && schema.get(USER_KEYS) == Some(&Value::Bool(true))
            && let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object())
        {
            let value = self.type_of(&self.resolve(values, depth + 1), depth + 1);
            return if value == "any" { "map".into() } else { format!("map of {value}") };
        }
        base
    }
}

/// The schema's description plus what a reader needs to pick a value: allowed values, deprecation.
fn describe(schema: &Map<String, Value>) -> String {
    let mut parts = Vec::new();
    if schema.get("deprecated") == Some(&Value::Bool(true)) {
        parts.push("**Deprecated.**".to_owned());
    }
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        parts.push(d.trim().to_owned());
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        let list: Vec<String> = options.iter().map(|o| super::markdown::code(&compact(o))).collect();
        parts.push(format!("One of {}.", list.join(", ")));
    }
    parts.join(" ")
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) if k == "properties" => {
                for (pk, pv) in b {
                    a.insert(pk, pv);
                }
            }
            (Some(Value::Array(a)), Value::Array(b)) if k == "required" => {
                a.extend(b.into_iter().filter(|x| !a.contains(x)).collect::<Vec<_>>());
            }
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// `#/$defs/a%20b` → `/$defs/a b` (URI-escaped fragments are legal in `$ref`).
fn decode_pointer(fragment: &str) -> String {
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(Ok(b)) = fragment.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

pub(crate) fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(rows: &[Row]) -> Vec<&str> {
        rows.iter().map(|r| r.key.as_str()).collect()
    }

    #[test]
    fn walks_nested_objects_refs_and_array_items() {
        let schema = json!({
            "type": "object",
            "required": ["image"],
            "$defs": {"port": {"type": "integer", "description": "A port."}},
            "properties": {
                "image": {"type": "object", "description": "Image.", "required": ["repository"],
                    "properties": {"repository": {"type": "string", "description": "Repo."},
                                   "tag": {"type": "string", "description": "Tag."}}},
                "port": {"$ref": "#/$defs/port", "description": "Service port."},
                "hosts": {"type": "array", "description": "Hosts.",
                    "items": {"type": "object", "properties": {"host": {"type": "string", "description": "Name."}}}},
                "env": {"type": "object", "x-nex-user-keys": true, "description": "Env.",
                    "additionalProperties": {"type": "string"}},
                "mode": {"enum": ["a", "b"], "description": "Mode."}
            }
        });
        let values =
            json!({"image": {"repository": "x/y", "tag": "1"}, "port": 80, "hosts": [], "env": {"A": "1"}});
        let rows = from_schema(&schema, &values);
        assert_eq!(
            keys(&rows),
            ["image", "image.repository", "image.tag", "port", "hosts", "hosts[].host", "env", "mode"]
        );
        let by = |k: &str| rows.iter().find(|r| r.key == k).unwrap();
        assert!(by("image").required && by("image.repository").required && !by("image.tag").required);
        assert_eq!(by("image").default, None);
        assert_eq!(by("image.repository").default.as_deref(), Some("\"x/y\""));
        assert_eq!((by("port").ty.as_str(), by("port").description.as_str()), ("integer", "Service port."));
        assert_eq!(by("hosts").ty, "array of object");
        assert_eq!(by("hosts[].host").default, None);
        assert_eq!(
            (by("env").ty.as_str(), by("env").default.as_deref()),
            ("map of string", Some("{\"A\":\"1\"}"))
        );
        assert_eq!(by("mode").ty, "string");
        assert_eq!(by("mode").description, "Mode. One of `\"a\"`, `\"b\"`.");
        assert_eq!(by("mode").default, None);
    }

    #[test]
    fn a_recursive_schema_terminates() {
        let schema = json!({"$defs": {"n": {"type": "object", "description": "Node.",
            "properties": {"next": {"$ref": "#/$defs/n"}}}},
            "properties": {"root": {"$ref": "#/$defs/n"}}});
        let rows = from_schema(&schema, &Value::Null);
        assert!(!rows.is_empty() && rows.len() <= MAX_DEPTH);
    }

    #[test]
    fn without_a_schema_every_leaf_is_listed() {
        let rows = from_values(&json!({"a": {"b": 1, "c": []}, "d": {}}));
        assert_eq!(keys(&rows), ["a.b", "a.c", "d"]);
        assert_eq!(rows[0].ty, "integer");
    }
}
