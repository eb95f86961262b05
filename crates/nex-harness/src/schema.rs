//! JSON Schemas: compiling them (offline, local `$ref`s only) and judging a
//! chart's `values.schema.json` against the catalog's rules for schemas.
//!
//! Everything here is pure: schemas come in as `serde_json::Value`, problems
//! go out as data with the JSON pointer of the place they concern.

use crate::rule::{CATALOG, EVERY, Rule};
use serde_json::Value;

pub const RULE_INVALID: Rule =
    Rule::error("schema/invalid", EVERY, "values.schema.json is not a valid JSON Schema for its draft");
pub const RULE_DRAFT: Rule = Rule::error(
    "schema/draft",
    CATALOG,
    "values.schema.json declares no `$schema`, or one other than draft-07 / 2020-12 (the catalog's drafts)",
);
pub const RULE_REF: Rule =
    Rule::error("schema/ref", EVERY, "a local `$ref` (`#/...`, `#anchor`) that resolves to nothing");
pub const RULE_LOCAL_REF: Rule = Rule::error(
    "schema/local-ref",
    EVERY,
    "a `$ref` into another file: helm does not resolve a file name against the chart, so `helm lint` fails; keep each schema self-contained (`#/...` only)",
);
// A URL is fetched by helm at every lint and install: it works online (ct's CI), so
// only the catalog, whose charts must lint and install offline, refuses it.
pub const RULE_REMOTE_REF: Rule = Rule::error(
    "schema/remote-ref",
    CATALOG,
    "a `$ref` to a URL: helm fetches it at every lint and install, failing offline or when the URL moves; keep each schema self-contained (`#/...` only)",
);
pub const RULE_DESCRIPTION: Rule =
    Rule::error("schema/description", CATALOG, "a schema property has no `description`");
pub const RULE_ADDITIONAL: Rule = Rule::error(
    "schema/additional-properties",
    CATALOG,
    "the schema's top level does not set `\"additionalProperties\": false`",
);
pub const RULE_CAMEL: Rule = Rule::error(
    "values/camel-case",
    CATALOG,
    "a value name (in values files, or a schema property) is not camelCase; objects marked `\"x-nex-user-keys\": true` (names users choose) are exempt",
);
pub const RULES: &[Rule] = &[
    RULE_INVALID,
    RULE_DRAFT,
    RULE_REF,
    RULE_LOCAL_REF,
    RULE_REMOTE_REF,
    RULE_DESCRIPTION,
    RULE_ADDITIONAL,
    RULE_CAMEL,
];

/// The annotation marking an object whose keys the user chooses (env var
/// names, labels, named ports): its keys are exempt from the camelCase rule.
pub const USER_KEYS: &str = "x-nex-user-keys";

/// The JSON Schema drafts the catalog accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draft {
    Draft7,
    Draft202012,
}

impl Draft {
    fn of(uri: &str) -> Option<Self> {
        let uri = uri.trim_end_matches('#').trim_start_matches("https://").trim_start_matches("http://");
        match uri {
            "json-schema.org/draft-07/schema" => Some(Self::Draft7),
            "json-schema.org/draft/2020-12/schema" => Some(Self::Draft202012),
            _ => None,
        }
    }

    fn jsonschema(self) -> jsonschema::Draft {
        match self {
            Self::Draft7 => jsonschema::Draft::Draft7,
            Self::Draft202012 => jsonschema::Draft::Draft202012,
        }
    }
}

/// Something wrong with a schema, at a JSON pointer into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub rule: &'static str,
    pub pointer: String,
    pub message: String,
}

impl Problem {
    fn new(rule: Rule, pointer: &str, message: impl Into<String>) -> Self {
        Self { rule: rule.id, pointer: pointer.to_owned(), message: message.into() }
    }
}

/// The draft a schema declares with `$schema`.
pub fn declared_draft(schema: &Value) -> Result<Draft, Problem> {
    match schema.get("$schema") {
        None => {
            Err(Problem::new(RULE_DRAFT, "", "the schema does not declare `$schema` (draft-07 or 2020-12)"))
        }
        Some(Value::String(uri)) => Draft::of(uri).ok_or_else(|| {
            Problem::new(
                RULE_DRAFT,
                "/$schema",
                format!("`$schema` is {uri:?}; the catalog accepts draft-07 or 2020-12"),
            )
        }),
        Some(_) => Err(Problem::new(RULE_INVALID, "/$schema", "`$schema` must be a string")),
    }
}

/// Compiles a schema for validation. `$ref`s are resolved within the
/// document only; nothing is fetched.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, Problem> {
    let mut options = jsonschema::options();
    if let Ok(draft) = declared_draft(schema) {
        options = options.with_draft(draft.jsonschema());
    }
    options.build(schema).map_err(|e| {
        let rule = match e.kind() {
            jsonschema::error::ValidationErrorKind::Referencing(_) => RULE_REF,
            _ => RULE_INVALID,
        };
        Problem::new(rule, e.instance_path().as_str(), e.to_string())
    })
}

/// Every problem with a values schema: not a valid schema for its draft,
/// non-local or dangling `$ref`s, a top level that accepts unknown keys,
/// properties without a description, property names that are not camelCase.
pub fn problems(schema: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    if !schema.is_object() {
        out.push(Problem::new(RULE_INVALID, "", "a values schema must be a JSON object"));
        return out;
    }
    match declared_draft(schema) {
        Ok(_) => {
            // The draft is known, so the meta-schema lookup cannot panic.
            if let Ok(meta) = jsonschema::meta::validator_for(schema) {
                for e in meta.iter_errors(schema) {
                    out.push(Problem::new(
                        RULE_INVALID,
                        e.instance_path().as_str(),
                        format!("not a valid JSON Schema: {e}"),
                    ));
                }
            }
        }
        Err(p) => out.push(p),
    }
    if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
        let at = if schema.get("additionalProperties").is_some() { "/additionalProperties" } else { "" };
        out.push(Problem::new(
            RULE_ADDITIONAL,
            at,
            "the top level must reject unknown keys: set \"additionalProperties\": false",
        ));
    }
    visit(schema, "", &mut |node, ptr| check_node(schema, node, ptr, &mut out));
    out
}

fn check_node(root: &Value, node: &Value, ptr: &str, out: &mut Vec<Problem>) {
    let Some(obj) = node.as_object() else { return };
    if let Some(r) = obj.get("$ref") {
        match r.as_str() {
            Some(r) => {
                if r.contains("://") {
                    let message = format!(
                        "`$ref` {r:?} is a URL: helm fetches it whenever it lints or installs the chart, and fails offline; only refs into this file (\"#/...\") are allowed"
                    );
                    out.push(Problem::new(RULE_REMOTE_REF, &format!("{ptr}/$ref"), message));
                } else if !r.starts_with('#') {
                    let message = format!(
                        "`$ref` {r:?} is not local: helm does not resolve it against the chart when it lints or installs it (`helm lint` fails); only refs into this file (\"#/...\") are allowed"
                    );
                    out.push(Problem::new(RULE_LOCAL_REF, &format!("{ptr}/$ref"), message));
                } else if let Some(message) = dangling(root, r) {
                    out.push(Problem::new(RULE_REF, &format!("{ptr}/$ref"), message));
                }
            }
            None => out.push(Problem::new(RULE_REF, &format!("{ptr}/$ref"), "`$ref` must be a string")),
        }
    }
    let user_keys = obj.get(USER_KEYS) == Some(&Value::Bool(true));
    if obj.get(USER_KEYS).is_some_and(|v| !v.is_boolean()) {
        out.push(Problem::new(
            RULE_INVALID,
            &format!("{ptr}/{USER_KEYS}"),
            format!("\"{USER_KEYS}\" must be true or false"),
        ));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, sub) in props {
            let at = format!("{ptr}/properties/{}", crate::yaml::escape_token(name));
            if !has_description(root, sub) {
                out.push(Problem::new(
                    RULE_DESCRIPTION,
                    &at,
                    format!("property `{name}` has no description"),
                ));
            }
            // The top level and closed objects hold the chart's names; an open
            // object's documented keys may be another program's (see checks::value_names).
            if !user_keys && (ptr.is_empty() || closes(node)) && is_identifier(name) && !is_camel(name) {
                out.push(Problem::new(
                    RULE_CAMEL,
                    &at,
                    format!("property `{name}` is not camelCase (mark the parent with \"{USER_KEYS}\": true if users choose these keys)"),
                ));
            }
        }
    }
}

/// Why a `$ref` does not resolve inside this document, if it does not.
fn dangling(root: &Value, r: &str) -> Option<String> {
    let Some(fragment) = r.strip_prefix('#') else {
        return Some(format!("`$ref` {r:?} is not local; only refs into this file (\"#/...\") are allowed"));
    };
    if fragment.is_empty() {
        return None;
    }
    if fragment.starts_with('/') {
        let decoded = percent_decode(fragment);
        return match root.pointer(&decoded) {
            Some(_) => None,
            None => Some(format!("`$ref` {r:?} points at nothing in this schema")),
        };
    }
    // A plain-name fragment: an `$anchor` (2020-12) or an `$id: "#name"` (draft-07).
    let mut found = false;
    visit(root, "", &mut |node, _| {
        let anchor = node.get("$anchor").and_then(Value::as_str);
        let id = node.get("$id").and_then(Value::as_str).and_then(|i| i.strip_prefix('#'));
        found |= anchor == Some(fragment) || id == Some(fragment);
    });
    if found { None } else { Some(format!("`$ref` {r:?} names an anchor this schema does not define")) }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

fn has_description(root: &Value, sub: &Value) -> bool {
    let described =
        |v: &Value| v.get("description").and_then(Value::as_str).is_some_and(|d| !d.trim().is_empty());
    if described(sub) {
        return true;
    }
    // A property that is only a `$ref` may carry its description on the target.
    sub.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| root.pointer(&percent_decode(p)))
        .is_some_and(described)
}

/// Whether a schema object refuses keys it does not list (`additionalProperties: false`).
/// The JSON Schema type of a value (`integer` for whole numbers, negative or beyond i64 too).
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub fn closes(schema: &Value) -> bool {
    schema.get("additionalProperties") == Some(&Value::Bool(false))
}

/// Whether a key can be a value name at all: `.Values.a.b` reaches only Go
/// identifiers. Other keys (`app.kubernetes.io/name`, `rules.yml`,
/// `kube-state-metrics`) are data or a dependency's values, reached with `index`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// camelCase as Helm's values convention has it: a lower-case letter, then letters and digits.
pub fn is_camel(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Calls `f` on every subschema (the root included) with its JSON pointer,
/// following the keywords that hold schemas, never data (`enum`, `default`…).
pub fn visit(node: &Value, ptr: &str, f: &mut dyn FnMut(&Value, &str)) {
    f(node, ptr);
    let Some(obj) = node.as_object() else { return };
    for (kw, v) in obj {
        let at = format!("{ptr}/{}", crate::yaml::escape_token(kw));
        match kw.as_str() {
            "properties" | "patternProperties" | "definitions" | "$defs" | "dependentSchemas" => {
                if let Some(m) = v.as_object() {
                    for (k, sub) in m {
                        visit(sub, &format!("{at}/{}", crate::yaml::escape_token(k)), f);
                    }
                }
            }
            "dependencies" => {
                if let Some(m) = v.as_object() {
                    for (k, sub) in m.iter().filter(|(_, s)| s.is_object()) {
                        visit(sub, &format!("{at}/{}", crate::yaml::escape_token(k)), f);
                    }
                }
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                for (i, sub) in v.as_array().into_iter().flatten().enumerate() {
                    visit(sub, &format!("{at}/{i}"), f);
                }
            }
            "items" if v.is_array() => {
                for (i, sub) in v.as_array().into_iter().flatten().enumerate() {
                    visit(sub, &format!("{at}/{i}"), f);
                }
            }
            "items"
            | "additionalItems"
            | "additionalProperties"
            | "contains"
            | "not"
            | "if"
            | "then"
            | "else"
            | "propertyNames"
            | "unevaluatedProperties"
            | "unevaluatedItems"
                if v.is_object() =>
            {
                visit(v, &at, f);
            }
            _ => {}
        }
    }
}

/// The subschema that describes the value at `tokens` below `schema`, when
/// one can be found by following `properties`, `additionalProperties`,
/// `patternProperties` (any), `items` and local `$ref`s.
pub fn subschema_at<'a>(root: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    let mut node = deref(root, root);
    for t in tokens {
        node = deref(root, child(node, t)?);
    }
    Some(node)
}

fn child<'a>(node: &'a Value, token: &str) -> Option<&'a Value> {
    if let Some(p) = node.get("properties").and_then(|p| p.get(token)) {
        return Some(p);
    }
    if let Some(items) = node.get("items").filter(|i| i.is_object())
        && token.parse::<usize>().is_ok()
    {
        return Some(items);
    }
    if let Some(ap) = node.get("additionalProperties").filter(|a| a.is_object()) {
        return Some(ap);
    }
    node.get("patternProperties").and_then(Value::as_object).and_then(|m| m.values().next())
}

/// Follows local `$ref`s (`#/...`) from `node` to the schema they name.
pub fn deref<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(p) if p.starts_with('/') => match root.pointer(p) {
                Some(t) => node = t,
                None => break,
            },
            _ => break,
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "replicaCount": {"type": "integer", "description": "Pods."},
                "image": {"$ref": "#/definitions/image"},
                "env": {"type": "object", "description": "Env.", "x-nex-user-keys": true,
                        "properties": {"MY_VAR": {"type": "string", "description": "x"}}}
            },
            "definitions": {"image": {"type": "object", "description": "Image.",
                "properties": {"tag": {"type": "string", "description": "Tag."}}}}
        })
    }

    #[test]
    fn a_good_schema_has_no_problems_and_compiles() {
        assert_eq!(problems(&good()), vec![]);
        let v = compile(&good()).unwrap();
        assert!(v.is_valid(&json!({"replicaCount": 2})));
        assert!(!v.is_valid(&json!({"replicaCount": "2"})));
        assert!(!v.is_valid(&json!({"unknown": 1})));
    }

    #[test]
    fn each_rule_is_found_where_it_applies() {
        let mut s = good();
        s["additionalProperties"] = json!(true);
        s["properties"]["bad_name"] = json!({"type": "string"});
        s["properties"]["ext"] = json!({"$ref": "other.json", "description": "x"});
        s["properties"]["gone"] = json!({"$ref": "#/definitions/nothing", "description": "x"});
        s["properties"]["url"] = json!({"$ref": "https://example.org/s.json#/x", "description": "x"});
        let p = problems(&s);
        let find =
            |rule: Rule| p.iter().filter(|x| x.rule == rule).map(|x| x.pointer.as_str()).collect::<Vec<_>>();
        assert_eq!(find(RULE_ADDITIONAL), ["/additionalProperties"]);
        assert_eq!(find(RULE_DESCRIPTION), ["/properties/bad_name"]);
        assert_eq!(find(RULE_CAMEL), ["/properties/bad_name"]);
        assert_eq!(find(RULE_LOCAL_REF), ["/properties/ext/$ref"]);
        assert_eq!(find(RULE_REMOTE_REF), ["/properties/url/$ref"]);
        assert_eq!(find(RULE_REF), ["/properties/gone/$ref"]);
    }

    #[test]
    fn meta_schema_errors_and_unknown_drafts() {
        let mut s = good();
        s["properties"]["replicaCount"]["type"] = json!("integr");
        let p = problems(&s);
        assert!(
            p.iter().any(|x| x.rule == RULE_INVALID && x.pointer == "/properties/replicaCount/type"),
            "{p:?}"
        );
        s["properties"]["env"][USER_KEYS] = json!("yes");
        assert!(
            problems(&s)
                .iter()
                .any(|x| x.rule == RULE_INVALID && x.pointer == "/properties/env/x-nex-user-keys")
        );
        s["$schema"] = json!("http://json-schema.org/draft-04/schema#");
        assert!(problems(&s).iter().any(|x| x.rule == RULE_DRAFT && x.pointer == "/$schema"));
    }

    #[test]
    fn every_accepted_spelling_of_the_drafts_is_handled_without_panic() {
        for uri in [
            "http://json-schema.org/draft-07/schema#",
            "http://json-schema.org/draft-07/schema",
            "https://json-schema.org/draft-07/schema#",
            "https://json-schema.org/draft/2020-12/schema",
            "https://json-schema.org/draft/2020-12/schema#",
            "http://json-schema.org/draft/2020-12/schema",
        ] {
            let mut s = good();
            s["$schema"] = json!(uri);
            if uri.contains("2020-12") {
                s["$defs"] = s["definitions"].take();
                s.as_object_mut().unwrap().remove("definitions");
                s["properties"]["image"] = json!({"$ref": "#/$defs/image"});
            }
            assert_eq!(problems(&s), vec![], "{uri}");
            assert!(compile(&s).is_ok(), "{uri}");
        }
    }

    #[test]
    fn compile_reports_dangling_refs() {
        let mut s = good();
        s["properties"]["gone"] = json!({"$ref": "#/definitions/nothing"});
        assert!(compile(&s).is_err());
    }

    #[test]
    fn subschemas_are_found_through_refs_and_maps() {
        let s = good();
        let tag = subschema_at(&s, &["image".into(), "tag".into()]).unwrap();
        assert_eq!(tag["description"], "Tag.");
        let env = subschema_at(&s, &["env".into()]).unwrap();
        assert_eq!(env[USER_KEYS], true);
        assert!(is_camel("replicaCount") && !is_camel("ReplicaCount") && !is_camel("a_b"));
    }
}
