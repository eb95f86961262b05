//! Yamale schemas, the format of ct.yaml's `chart-yaml-schema`: the subset
//! chart-testing's Chart.yaml schemas use, read the way yamale reads them.
//!
//! A schema file is YAML: its first document maps each key to a validator
//! expression (`str()`, `list(include('maintainer'), required=False)`, …); the
//! next documents define the includes. Validators: `str`, `int`, `num`,
//! `bool`, `null`, `any`, `enum`, `list`, `map` (with `key=`), `include`,
//! `regex`; keyword `required` (default true). As with yamale's default
//! (strict), a key the schema does not name is an error.

use crate::yaml::{Node, Span, Value};
use std::collections::BTreeMap;

/// One validator expression, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Validator {
    Str,
    Int,
    Num,
    Bool,
    Null,
    Any(Vec<Validator>),
    Enum(Vec<Literal>),
    List(Vec<Validator>),
    Map { values: Vec<Validator>, key: Option<Box<Validator>> },
    Include(String),
    Regex(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// A field of a (top-level or included) mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub validator: Validator,
    pub required: bool,
}

/// A parsed schema: the root mapping's fields and the includes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    pub root: Vec<(String, Field)>,
    pub includes: BTreeMap<String, Vec<(String, Field)>>,
}

/// A problem with the schema itself, placed in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct SchemaError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A value that breaks the schema: where, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub span: Span,
    /// Dotted path of the value (`maintainers.0.name`).
    pub path: String,
    pub message: String,
}

impl Schema {
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let yaml = crate::yaml::parse(text).map_err(|e| SchemaError {
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        let mut schema = Schema::default();
        for (i, doc) in yaml.docs.iter().enumerate() {
            if i == 0 {
                schema.root = fields(doc)?;
            } else {
                for e in doc.entries() {
                    schema.includes.insert(e.key.clone(), fields(&e.value)?);
                }
            }
        }
        // Every include named must exist.
        let mut names = Vec::new();
        for (_, f) in schema.root.iter().chain(schema.includes.values().flatten()) {
            included(&f.validator, &mut names);
        }
        if let Some(n) = names.iter().find(|n| !schema.includes.contains_key(*n)) {
            return Err(SchemaError {
                line: 1,
                column: 1,
                message: format!("include('{n}') is not defined"),
            });
        }
        Ok(schema)
    }

    /// Every violation of `doc` (a Chart.yaml's root).
    pub fn validate(&self, doc: &Node) -> Vec<Violation> {
        let mut out = Vec::new();
        self.fields(&self.root, doc, "", 0, &mut out);
        out
    }

    fn fields(
        &self,
        fields: &[(String, Field)],
        node: &Node,
        path: &str,
        depth: usize,
        out: &mut Vec<Violation>,
    ) {
        let Value::Map(entries) = &node.value else {
            out.push(violation(node, path, "is not a mapping".into()));
            return;
        };
        for (key, f) in fields {
            match entries.iter().find(|e| &e.key == key) {
                // yamale: an optional key may be present and null.
                Some(e) if !f.required && matches!(e.value.value, Value::Null) => {}
                Some(e) => self.check(&f.validator, &e.value, &join(path, key), depth, out),
                None if f.required => {
                    out.push(violation(node, path, format!("`{}` is required", join(path, key))))
                }
                None => {}
            }
        }
        for e in entries {
            if !fields.iter().any(|(k, _)| k == &e.key) {
                let p = join(path, &e.key);
                out.push(Violation {
                    span: e.key_span,
                    path: p.clone(),
                    message: format!("`{p}` is not in the schema"),
                });
            }
        }
    }

    fn check(&self, v: &Validator, node: &Node, path: &str, depth: usize, out: &mut Vec<Violation>) {
        if let Some(message) = self.fails(v, node, path, depth, out) {
            out.push(violation(node, path, message));
        }
    }

    /// Why `node` fails `v` (`None` when it passes); nested violations of lists,
    /// maps and includes are pushed to `out` directly.
    fn fails(
        &self,
        v: &Validator,
        node: &Node,
        path: &str,
        depth: usize,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        // Includes may recurse; a schema that loops is cut off rather than overflowing.
        if depth > 32 {
            return None;
        }
        let got = || describe(&node.value);
        match v {
            Validator::Str => {
                (!matches!(node.value, Value::Str(_))).then(|| format!("{} is not a str", got()))
            }
            Validator::Int => {
                (!matches!(node.value, Value::Int(_))).then(|| format!("{} is not an int", got()))
            }
            Validator::Num => (!matches!(node.value, Value::Int(_) | Value::Float(_)))
                .then(|| format!("{} is not a num", got())),
            Validator::Bool => {
                (!matches!(node.value, Value::Bool(_))).then(|| format!("{} is not a bool", got()))
            }
            Validator::Null => (!matches!(node.value, Value::Null)).then(|| format!("{} is not null", got())),
            Validator::Enum(choices) => (!choices.iter().any(|c| literal_eq(c, &node.value))).then(|| {
                let list: Vec<String> = choices.iter().map(show_literal).collect();
                format!("{} is not one of {}", got(), list.join(", "))
            }),
            Validator::Regex(patterns) => match node.as_str() {
                Some(s) if patterns.iter().any(|p| matches_pattern(p, s)) => None,
                Some(_) => Some(format!("{} does not match {}", got(), patterns.join(" or "))),
                None => Some(format!("{} is not a str", got())),
            },
            Validator::Any(options) => {
                if options.is_empty() {
                    return None;
                }
                let passes = options.iter().any(|o| {
                    let mut nested = Vec::new();
                    self.fails(o, node, path, depth + 1, &mut nested).is_none() && nested.is_empty()
                });
                (!passes).then(|| format!("{} matches none of the choices", got()))
            }
            Validator::List(items) => {
                let Value::Seq(seq) = &node.value else { return Some(format!("{} is not a list", got())) };
                if !items.is_empty() {
                    for (i, item) in seq.iter().enumerate() {
                        self.one_of(items, item, &join(path, &i.to_string()), depth, out);
                    }
                }
                None
            }
            Validator::Map { values, key } => {
                let Value::Map(entries) = &node.value else { return Some(format!("{} is not a map", got())) };
                for e in entries {
                    let p = join(path, &e.key);
                    if let Some(k) = key {
                        // Keys are strings once parsed; only `str()`-like key validators can fail here.
                        let key_node = Node {
                            value: Value::Str(e.key.clone()),
                            span: e.key_span,
                            style: e.key_style.clone(),
                        };
                        self.check(k, &key_node, &p, depth + 1, out);
                    }
                    if !values.is_empty() {
                        self.one_of(values, &e.value, &p, depth, out);
                    }
                }
                None
            }
            Validator::Include(name) => {
                let fields = self.includes.get(name)?;
                self.fields(fields, node, path, depth + 1, out);
                None
            }
        }
    }

    /// A list or map member: it must pass one of `options`.
    fn one_of(&self, options: &[Validator], node: &Node, path: &str, depth: usize, out: &mut Vec<Violation>) {
        if options.len() == 1 {
            self.check(&options[0], node, path, depth + 1, out);
            return;
        }
        let any = Validator::Any(options.to_vec());
        self.check(&any, node, path, depth + 1, out);
    }
}

fn violation(node: &Node, path: &str, message: String) -> Violation {
    let message =
        if path.is_empty() || message.starts_with('`') { message } else { format!("`{path}`: {message}") };
    Violation { span: node.span, path: path.to_owned(), message }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => format!("'{s}'"),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a map".into(),
    }
}

fn literal_eq(l: &Literal, v: &Value) -> bool {
    match (l, v) {
        (Literal::Str(a), Value::Str(b)) => a == b,
        (Literal::Bool(a), Value::Bool(b)) => a == b,
        (Literal::Num(a), Value::Int(b)) => *a == *b as f64,
        (Literal::Num(a), Value::Float(b)) => a == b,
        _ => false,
    }
}

fn show_literal(l: &Literal) -> String {
    match l {
        Literal::Str(s) => format!("'{s}'"),
        Literal::Num(n) => n.to_string(),
        Literal::Bool(b) => b.to_string(),
    }
}

/// `regex('…')` through a JSON Schema `pattern` (an ECMA-262 regular expression,
/// close to Python's for the patterns chart schemas use).
fn matches_pattern(pattern: &str, s: &str) -> bool {
    let schema = serde_json::json!({"type": "string", "pattern": pattern});
    jsonschema::validator_for(&schema).is_ok_and(|v| v.is_valid(&serde_json::Value::String(s.to_owned())))
}

fn included(v: &Validator, out: &mut Vec<String>) {
    match v {
        Validator::Include(n) => out.push(n.clone()),
        Validator::Any(vs) | Validator::List(vs) => vs.iter().for_each(|v| included(v, out)),
        Validator::Map { values, key } => {
            values.iter().for_each(|v| included(v, out));
            if let Some(k) = key {
                included(k, out);
            }
        }
        _ => {}
    }
}

fn fields(node: &Node) -> Result<Vec<(String, Field)>, SchemaError> {
    let at = |n: &Node, message: String| SchemaError {
        line: n.span.start.line,
        column: n.span.start.column,
        message,
    };
    if !matches!(node.value, Value::Map(_)) {
        return Err(at(node, "a yamale schema maps keys to validators".into()));
    }
    node.entries()
        .iter()
        .map(|e| {
            let text = e
                .value
                .as_str()
                .ok_or_else(|| at(&e.value, format!("`{}`: a validator such as str()", e.key)))?;
            let field = Parser { s: text, i: 0 }
                .field()
                .map_err(|m| at(&e.value, format!("`{}`: {m} in {text:?}", e.key)))?;
            Ok((e.key.clone(), field))
        })
        .collect()
}

/// A recursive-descent parser of one validator expression.
struct Parser<'a> {
    s: &'a str,
    i: usize,
}

enum Arg {
    Validator(Validator),
    Literal(Literal),
}

impl Parser<'_> {
    fn field(&mut self) -> Result<Field, String> {
        let (validator, kwargs) = self.call()?;
        self.ws();
        if self.i != self.s.len() {
            return Err(format!("unexpected `{}`", &self.s[self.i..]));
        }
        let required = match kwargs.get("required") {
            None => true,
            Some(Arg::Literal(Literal::Bool(b))) => *b,
            Some(_) => return Err("required= takes True or False".into()),
        };
        Ok(Field { validator, required })
    }

    fn ws(&mut self) {
        while self.s[self.i..].starts_with(char::is_whitespace) {
            self.i += self.s[self.i..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> String {
        self.ws();
        let rest = &self.s[self.i..];
        let n = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        self.i += n;
        rest[..n].to_owned()
    }

    /// `name(args…, kw=value…)` → the validator and its keyword arguments.
    fn call(&mut self) -> Result<(Validator, BTreeMap<String, Arg>), String> {
        let name = self.ident();
        if name.is_empty() {
            return Err("a validator name was expected".into());
        }
        if !self.eat('(') {
            return Err(format!("`{name}` needs parentheses"));
        }
        let mut args = Vec::new();
        let mut kwargs = BTreeMap::new();
        if !self.eat(')') {
            loop {
                self.ws();
                let save = self.i;
                let word = self.ident();
                if !word.is_empty() && self.eat('=') {
                    kwargs.insert(word, self.arg()?);
                } else {
                    self.i = save;
                    args.push(self.arg()?);
                }
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(format!("`,` or `)` expected in {name}()"));
                }
            }
        }
        let validators = |args: Vec<Arg>| -> Result<Vec<Validator>, String> {
            args.into_iter()
                .map(|a| match a {
                    Arg::Validator(v) => Ok(v),
                    Arg::Literal(_) => Err(format!("{name}() takes validators")),
                })
                .collect()
        };
        let strings = |args: Vec<Arg>| -> Result<Vec<String>, String> {
            args.into_iter()
                .map(|a| match a {
                    Arg::Literal(Literal::Str(s)) => Ok(s),
                    _ => Err(format!("{name}() takes quoted strings")),
                })
                .collect()
        };
        let v = match name.as_str() {
            // Dates, IPs and the like are strings in a Chart.yaml.
            "str" | "day" | "timestamp" | "ip" | "mac" | "semver" => Validator::Str,
            "int" => Validator::Int,
            "num" => Validator::Num,
            "bool" => Validator::Bool,
            "null" => Validator::Null,
            "any" => Validator::Any(validators(args)?),
            "list" => Validator::List(validators(args)?),
            "map" => {
                let key = match kwargs.remove("key") {
                    Some(Arg::Validator(k)) => Some(Box::new(k)),
                    Some(_) => return Err("map(key=…) takes a validator".into()),
                    None => None,
                };
                Validator::Map { values: validators(args)?, key }
            }
            "enum" => Validator::Enum(
                args.into_iter()
                    .map(|a| match a {
                        Arg::Literal(l) => Ok(l),
                        Arg::Validator(_) => Err("enum() takes values".to_owned()),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "include" => match strings(args)?.as_slice() {
                [one] => Validator::Include(one.clone()),
                _ => return Err("include() takes one name".into()),
            },
            "regex" => Validator::Regex(strings(args)?),
            other => return Err(format!("unknown validator `{other}()`")),
        };
        Ok((v, kwargs))
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        let rest = &self.s[self.i..];
        if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let body = &rest[1..];
            let end = body.find(q).ok_or("an unclosed string")?;
            self.i += end + 2;
            return Ok(Arg::Literal(Literal::Str(body[..end].to_owned())));
        }
        let save = self.i;
        let word = self.ident();
        match word.as_str() {
            "True" => return Ok(Arg::Literal(Literal::Bool(true))),
            "False" => return Ok(Arg::Literal(Literal::Bool(false))),
            _ => {}
        }
        if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
            return Ok(Arg::Literal(Literal::Num(word.parse().unwrap_or_default())));
        }
        self.i = save;
        let (v, _) = self.call()?;
        Ok(Arg::Validator(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "name: str()\nversion: str()\ntype: enum('application', 'library', required=False)\n\
        appVersion: any(str(), num(), required=False)\nmaintainers: list(include('maintainer'), required=False)\n\
        annotations: map(str(), key=str(), required=False)\nicon: regex('^https://', required=False)\n\
        ---\nmaintainer:\n  name: str()\n  email: str(required=False)\n";

    fn check(doc: &str) -> Vec<(usize, usize, String)> {
        let schema = Schema::parse(SCHEMA).unwrap();
        let doc = crate::yaml::parse(doc).unwrap();
        schema
            .validate(&doc.docs[0])
            .into_iter()
            .map(|v| (v.span.start.line, v.span.start.column, v.message))
            .collect()
    }

    #[test]
    fn a_valid_chart_passes() {
        let ok = "name: a\nversion: 1.0.0\ntype: library\nappVersion: 1.2\nmaintainers:\n  - name: x\n    email: null\n\
                  annotations:\n  a: b\nicon: https://x/i.svg\n";
        assert_eq!(check(ok), []);
    }

    #[test]
    fn each_kind_of_violation_is_placed() {
        let bad = "name: 12\ntype: app\nmaintainers:\n  - email: e\n    url: u\nannotations:\n  a: [1]\nicon: http://x\nextra: 1\n";
        let v = check(bad);
        let has = |line: usize, text: &str| v.iter().any(|(l, _, m)| *l == line && m.contains(text));
        assert!(has(1, "`version` is required"), "{v:?}");
        assert!(has(1, "`name`: 12 is not a str"), "{v:?}");
        assert!(has(2, "`type`: 'app' is not one of 'application', 'library'"), "{v:?}");
        assert!(has(4, "`maintainers.0.name` is required"), "{v:?}");
        assert!(has(5, "`maintainers.0.url` is not in the schema"), "{v:?}");
        assert!(has(7, "`annotations.a`: a list is not a str"), "{v:?}");
        assert!(has(8, "does not match ^https://"), "{v:?}");
        assert!(has(9, "`extra` is not in the schema"), "{v:?}");
        assert_eq!(v.len(), 8, "{v:?}");
    }

    #[test]
    fn this_repository_s_chart_schema_parses() {
        let text = include_str!("../../../chart_schema.yaml");
        let s = Schema::parse(text).unwrap();
        assert!(s.root.iter().any(|(k, f)| k == "name" && f.required));
        assert!(s.includes.contains_key("dependency"));
    }

    #[test]
    fn schema_errors_are_placed() {
        let e = Schema::parse("name: str()\nversion: strr()\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 10));
        assert!(e.message.contains("unknown validator `strr()`"), "{e}");
        assert!(Schema::parse("a: list(include('nope'))\n").unwrap_err().message.contains("nope"));
        assert!(Schema::parse("a: str(\n").is_err());
    }
}
