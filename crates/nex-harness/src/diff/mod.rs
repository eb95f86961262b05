//! What a change does to the rendered objects: objects matched by
//! apiVersion/kind/namespace/name between two renders, and for each matched
//! pair the fields added, removed or changed, by JSON path. Pure.

pub mod report;

use crate::manifest::Object;
use serde_json::Value;
use std::collections::BTreeMap;

/// How objects are matched between two renders.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    /// Empty for the release namespace, whether the object names it or not
    /// (helm installs an object without one there): a template that drops
    /// `namespace: {{ .Release.Namespace }}` still describes the same object.
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn of(o: &Object) -> Self {
        let namespace = o.value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        Self {
            api_version: o.api_version().to_owned(),
            kind: o.kind().to_owned(),
            namespace: if namespace == crate::model::NAMESPACE { "" } else { namespace }.to_owned(),
            name: o.name().to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ", self.kind)?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        write!(f, "{} ({})", self.name, self.api_version)
    }
}

/// One field that differs: `old` is `None` when the field was added, `new` when removed.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// RFC 6901 pointer (`/spec/replicas`); shown as a JSON path (`spec.replicas`).
    pub pointer: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl FieldChange {
    /// `spec.template.spec.containers[0].image`.
    pub fn path(&self) -> String {
        json_path(&self.pointer)
    }
}

/// A JSON pointer as a JSON path: `/spec/containers/0/image` →
/// `spec.containers[0].image`; keys that are not plain names are quoted
/// (`metadata.labels["app.kubernetes.io/name"]`), so the path reads one way only.
pub fn json_path(pointer: &str) -> String {
    let mut out = String::new();
    for t in crate::yaml::pointer_tokens(pointer).unwrap_or_default() {
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{t}]"));
        } else if !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&t);
        } else {
            out.push_str(&format!("[{}]", Value::String(t)));
        }
    }
    if out.is_empty() { "(whole object)".into() } else { out }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Added(ObjectKey),
    Removed(ObjectKey),
    Changed(ObjectKey, Vec<FieldChange>),
}

impl Change {
    pub fn key(&self) -> &ObjectKey {
        match self {
            Change::Added(k) | Change::Removed(k) | Change::Changed(k, _) => k,
        }
    }
}

/// The objects of two renders paired by [`ObjectKey`] (old, new); either side
/// is `None` when the object exists on one side only. Sorted by key.
pub fn pair<'a>(
    old: &'a [Object],
    new: &'a [Object],
) -> Vec<(ObjectKey, Option<&'a Object>, Option<&'a Object>)> {
    let mut map: BTreeMap<ObjectKey, (Option<&Object>, Option<&Object>)> = BTreeMap::new();
    for o in old {
        map.entry(ObjectKey::of(o)).or_default().0 = Some(o);
    }
    for o in new {
        map.entry(ObjectKey::of(o)).or_default().1 = Some(o);
    }
    map.into_iter().map(|(k, (a, b))| (k, a, b)).collect()
}

/// Every object added, removed or changed from `old` to `new`, sorted by key.
pub fn objects(old: &[Object], new: &[Object]) -> Vec<Change> {
    pair(old, new)
        .into_iter()
        .filter_map(|(key, a, b)| match (a, b) {
            (None, Some(_)) => Some(Change::Added(key)),
            (Some(_), None) => Some(Change::Removed(key)),
            (Some(a), Some(b)) => {
                let mut f = fields(&a.value, &b.value);
                if key.kind == "Secret" {
                    f.iter_mut().for_each(hide_secret);
                }
                (!f.is_empty()).then_some(Change::Changed(key, f))
            }
            (None, None) => None,
        })
        .collect()
}

/// What a diff shows instead of a Secret's data (it may end up in a public comment).
pub const HIDDEN: &str = "[hidden]";

/// Replaces the values of a Secret's `data`/`stringData` in a change: that it
/// changed is shown, never what it holds.
fn hide_secret(f: &mut FieldChange) {
    fn mask(v: &mut Value) {
        match v {
            Value::Object(m) => m.values_mut().for_each(mask),
            Value::Array(a) => a.iter_mut().for_each(mask),
            other => *other = Value::String(HIDDEN.into()),
        }
    }
    let secret =
        ["/data", "/stringData"].iter().any(|p| f.pointer == *p || f.pointer.starts_with(&format!("{p}/")));
    if secret {
        f.old.iter_mut().chain(f.new.iter_mut()).for_each(mask);
    }
}

/// The fields that differ between two values, deepest first reached: maps are
/// compared key by key, arrays item by item (extra items are added/removed),
/// anything else as a whole.
pub fn fields(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(old, new, &mut String::new(), &mut out);
    out
}

fn walk(old: &Value, new: &Value, ptr: &mut String, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    let len = ptr.len();
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, av) in a {
                ptr.push('/');
                ptr.push_str(&crate::yaml::escape_token(k));
                match b.get(k) {
                    Some(bv) => walk(av, bv, ptr, out),
                    None => out.push(FieldChange { pointer: ptr.clone(), old: Some(av.clone()), new: None }),
                }
                ptr.truncate(len);
            }
            for (k, bv) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                ptr.push('/');
                ptr.push_str(&crate::yaml::escape_token(k));
                out.push(FieldChange { pointer: ptr.clone(), old: None, new: Some(bv.clone()) });
                ptr.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => match (named(a), named(b)) {
            // Containers, env vars, ports, volumes…: matched by name, so one inserted
            // item is one addition rather than a change to every item after it.
            (Some(an), Some(bn)) => {
                for (i, bv) in b.iter().enumerate() {
                    ptr.push_str(&format!("/{i}"));
                    match an.iter().position(|n| *n == bn[i]) {
                        Some(j) => walk(&a[j], bv, ptr, out),
                        None => {
                            out.push(FieldChange { pointer: ptr.clone(), old: None, new: Some(bv.clone()) })
                        }
                    }
                    ptr.truncate(len);
                }
                for (j, av) in a.iter().enumerate().filter(|(j, _)| !bn.contains(&an[*j])) {
                    ptr.push_str(&format!("/{j}"));
                    out.push(FieldChange { pointer: ptr.clone(), old: Some(av.clone()), new: None });
                    ptr.truncate(len);
                }
            }
            _ => {
                for i in 0..a.len().max(b.len()) {
                    ptr.push_str(&format!("/{i}"));
                    match (a.get(i), b.get(i)) {
                        (Some(av), Some(bv)) => walk(av, bv, ptr, out),
                        (av, bv) => {
                            out.push(FieldChange { pointer: ptr.clone(), old: av.cloned(), new: bv.cloned() })
                        }
                    }
                    ptr.truncate(len);
                }
            }
        },
        _ => out.push(FieldChange { pointer: ptr.clone(), old: Some(old.clone()), new: Some(new.clone()) }),
    }
}

/// The label every object of a chart carries with the chart's version
/// (`helm.sh/chart: gatus-0.1.1`): it changes on every release.
pub const CHART_LABEL: &str = "helm.sh/chart";

/// Takes the changes of label `label` out of `changes` when they all go from
/// the same old value to the same new value (the chart's version bump, on
/// every object and pod template), so they are said once instead of on every
/// object; objects left with no other change are dropped. Returns that
/// (old, new) pair when something was folded.
pub fn fold_label(changes: &mut Vec<Change>, label: &str) -> Option<(Value, Value)> {
    let suffix = format!("/labels/{}", crate::yaml::escape_token(label));
    let mut pair: Option<(Value, Value)> = None;
    for c in changes.iter() {
        let Change::Changed(_, fields) = c else { continue };
        for f in fields.iter().filter(|f| f.pointer.ends_with(&suffix)) {
            let (Some(old), Some(new)) = (&f.old, &f.new) else { return None };
            match &pair {
                None => pair = Some((old.clone(), new.clone())),
                Some((o, n)) if o == old && n == new => {}
                Some(_) => return None,
            }
        }
    }
    pair.as_ref()?;
    for c in changes.iter_mut() {
        if let Change::Changed(_, fields) = c {
            fields.retain(|f| !f.pointer.ends_with(&suffix));
        }
    }
    changes.retain(|c| !matches!(c, Change::Changed(_, f) if f.is_empty()));
    pair
}

/// The `name` of every item, when every item is a map with a distinct string `name`.
fn named(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> =
        items.iter().map(|v| v.get("name").and_then(Value::as_str)).collect::<Option<_>>()?;
    let distinct: std::collections::BTreeSet<&&str> = names.iter().collect();
    (distinct.len() == names.len()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object { source: None, line: 1, value: v }
    }

    #[test]
    fn fields_by_json_path() {
        let a = json!({"spec": {"replicas": 1, "containers": [{"image": "a:1"}], "gone": true}});
        let b = json!({"spec": {"replicas": 1, "containers": [{"image": "a:2"}, {"image": "b"}], "new": 1}});
        let f = fields(&a, &b);
        let paths: Vec<(String, Option<Value>, Option<Value>)> =
            f.iter().map(|c| (c.path(), c.old.clone(), c.new.clone())).collect();
        assert_eq!(
            paths,
            vec![
                ("spec.containers[0].image".into(), Some(json!("a:1")), Some(json!("a:2"))),
                ("spec.containers[1]".into(), None, Some(json!({"image": "b"}))),
                ("spec.gone".into(), Some(json!(true)), None),
                ("spec.new".into(), None, Some(json!(1))),
            ]
        );
    }

    #[test]
    fn named_items_are_matched_by_name() {
        let a = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]});
        let b = json!({"env": [{"name": "NEW", "value": "0"}, {"name": "A", "value": "1"}, {"name": "C", "value": "4"}]});
        let got: Vec<(String, Option<Value>, Option<Value>)> =
            fields(&a, &b).into_iter().map(|c| (c.path(), c.old, c.new)).collect();
        assert_eq!(
            got,
            vec![
                ("env[0]".into(), None, Some(json!({"name": "NEW", "value": "0"}))),
                ("env[2].value".into(), Some(json!("3")), Some(json!("4"))),
                ("env[1]".into(), Some(json!({"name": "B", "value": "2"})), None),
            ]
        );
    }

    #[test]
    fn the_chart_version_label_is_folded_when_uniform() {
        let label = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"helm.sh/chart": v}}});
        let with_image = |v: &str, tag: &str| {
            let mut o = label(v);
            o["kind"] = json!("Pod");
            o["spec"] = json!({"image": tag});
            o
        };
        let old = vec![obj(label("c-1.0.0")), obj(with_image("c-1.0.0", "x:1"))];
        let new = vec![obj(label("c-1.0.1")), obj(with_image("c-1.0.1", "x:2"))];
        let mut changes = objects(&old, &new);
        assert_eq!(fold_label(&mut changes, CHART_LABEL), Some((json!("c-1.0.0"), json!("c-1.0.1"))));
        assert_eq!(changes.len(), 1, "the ConfigMap changed only its label: {changes:?}");
        let Change::Changed(k, f) = &changes[0] else { panic!() };
        assert_eq!((k.kind.as_str(), f.len(), f[0].path()), ("Pod", 1, "spec.image".to_owned()));
        // Two different label changes are left as they are.
        let old = vec![obj(label("c-1.0.0")), obj(with_image("d-1.0.0", "x:1"))];
        let mut changes = objects(&old, &new);
        assert_eq!(fold_label(&mut changes, CHART_LABEL), None);
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn secret_data_is_never_shown() {
        let old = vec![obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"a": "1"}}, "data": {"pw": "b2xk"}}),
        )];
        let new = vec![obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"a": "2"}}, "data": {"pw": "bmV3", "key": "eA=="}}),
        )];
        let Change::Changed(_, f) = &objects(&old, &new)[0] else { panic!("changed") };
        assert_eq!(f[0].new, Some(json!("2")), "metadata is shown");
        assert_eq!(
            (f[1].path(), f[1].old.clone(), f[1].new.clone()),
            ("data.pw".into(), Some(json!(HIDDEN)), Some(json!(HIDDEN)))
        );
        assert_eq!(f[2].new, Some(json!(HIDDEN)));
    }

    #[test]
    fn json_paths_quote_keys_that_are_not_names() {
        assert_eq!(json_path("/spec/containers/0/image"), "spec.containers[0].image");
        assert_eq!(
            json_path("/spec/selector/matchLabels/app.kubernetes.io~1name"),
            "spec.selector.matchLabels[\"app.kubernetes.io/name\"]"
        );
        assert_eq!(json_path("/data/config.yaml"), "data[\"config.yaml\"]");
        assert_eq!(json_path(""), "(whole object)");
    }

    #[test]
    fn objects_match_by_api_version_kind_namespace_and_name() {
        let old = vec![
            obj(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"x": 1}})),
            obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone"}})),
            obj(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "same"}})),
        ];
        let new = vec![
            obj(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"x": 2}})),
            obj(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone", "namespace": "other"}}),
            ),
            obj(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "same"}})),
        ];
        let changes = objects(&old, &new);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(matches!(&changes[0], Change::Removed(k) if k.name == "gone" && k.namespace.is_empty()));
        assert!(matches!(&changes[1], Change::Added(k) if k.namespace == "other"));
        assert!(matches!(&changes[2], Change::Changed(k, f) if k.kind == "Service" && f.len() == 1));
        assert_eq!(changes[2].key().to_string(), "Service a (v1)");
    }

    #[test]
    fn the_release_namespace_named_or_not_is_the_same_object() {
        let named = obj(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": crate::model::NAMESPACE}}));
        let unnamed =
            obj(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}}));
        let pairs = pair(std::slice::from_ref(&named), std::slice::from_ref(&unnamed));
        assert_eq!(pairs.len(), 1);
        assert!(pairs[0].1.is_some() && pairs[0].2.is_some());
    }
}
