//! Values as Helm sees them in one scenario: `values.yaml` with a
//! `ci/*-values.yaml` coalesced over it (maps merge key by key, any other
//! value replaces, `null` removes the key), remembering for every value the
//! file and place that set it, so a schema error can point there.

use crate::yaml::{Node, Span, Value};
use std::path::Path;

/// Where a value was set: the file, the node, and the key that named it.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub file: &'a Path,
    pub node: &'a Node,
    pub key: Option<Span>,
}

impl Origin<'_> {
    /// Where to point for a problem with the value itself.
    pub fn value_at(&self) -> Span {
        self.node.span
    }

    /// Where to point for a problem with the key (or the value when it has none).
    pub fn key_at(&self) -> Span {
        self.key.unwrap_or(self.node.span)
    }
}

/// A coalesced value.
#[derive(Debug, Clone)]
pub enum Merged<'a> {
    /// A scalar or a sequence: set as a whole by one file.
    Leaf(Origin<'a>),
    /// A mapping, with the origin of whichever file created it.
    Map(Origin<'a>, Vec<(String, Merged<'a>)>),
}

impl<'a> Merged<'a> {
    fn of(file: &'a Path, node: &'a Node, key: Option<Span>) -> Self {
        let origin = Origin { file, node, key };
        match &node.value {
            Value::Map(entries) => Merged::Map(
                origin,
                entries
                    .iter()
                    .map(|e| (e.key.clone(), Merged::of(file, &e.value, Some(e.key_span))))
                    .collect(),
            ),
            _ => Merged::Leaf(origin),
        }
    }

    pub fn origin(&self) -> &Origin<'a> {
        match self {
            Merged::Leaf(o) | Merged::Map(o, _) => o,
        }
    }

    /// The value as JSON, for schema validation.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Merged::Leaf(o) => o.node.to_json(),
            Merged::Map(_, entries) => {
                serde_json::Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// The value at a JSON pointer, or the deepest value on the way to it,
    /// with whether the whole pointer was found.
    pub fn locate(&self, pointer: &str) -> (&Merged<'a>, bool) {
        let mut here = self;
        for token in crate::yaml::pointer_tokens(pointer).unwrap_or_default() {
            let next = match here {
                Merged::Map(_, entries) => entries.iter().find(|(k, _)| *k == token).map(|(_, v)| v),
                Merged::Leaf(_) => None,
            };
            match next {
                Some(n) => here = n,
                // Inside a sequence (or a missing key): the nearest value stands for it.
                None => return (here, false),
            }
        }
        (here, true)
    }
}

impl Merged<'_> {
    /// The file and place to point at for the value at `pointer`: its key
    /// when `key` (an unexpected or misnamed key), else the value itself.
    /// Paths into sequences resolve inside the file that set the sequence.
    pub fn place(&self, pointer: &str, key: bool) -> (&Path, Span) {
        let tokens = crate::yaml::pointer_tokens(pointer).unwrap_or_default();
        let mut here = self;
        for (i, token) in tokens.iter().enumerate() {
            match here {
                Merged::Map(_, entries) => match entries.iter().find(|(k, _)| k == token) {
                    Some((_, v)) => here = v,
                    None => break,
                },
                Merged::Leaf(o) => {
                    let rest: String =
                        tokens[i..].iter().map(|t| format!("/{}", crate::yaml::escape_token(t))).collect();
                    let (node, k) = o.node.locate_nearest(&rest);
                    let span = if key { k.unwrap_or(node.span) } else { node.span };
                    return (o.file, span);
                }
            }
        }
        let o = here.origin();
        (o.file, if key { o.key_at() } else { o.value_at() })
    }
}

/// Coalesces `layers` (lowest first: values.yaml, then a ci file) the way
/// Helm coalesces user values over chart defaults.
pub fn coalesce<'a>(layers: &[(&'a Path, &'a Node)]) -> Option<Merged<'a>> {
    let mut iter = layers.iter();
    let (file, node) = iter.next()?;
    let mut merged = Merged::of(file, node, None);
    for (file, node) in iter {
        merged = overlay(merged, file, node, None);
    }
    Some(merged)
}

fn overlay<'a>(base: Merged<'a>, file: &'a Path, node: &'a Node, key: Option<Span>) -> Merged<'a> {
    let (origin, entries) = match (base, &node.value) {
        (Merged::Map(origin, entries), Value::Map(_)) => (origin, entries),
        // Anything but map-over-map: the higher layer replaces the value.
        _ => return Merged::of(file, node, key),
    };
    // Keys are found through an index (a ci file over a large values.yaml stays
    // linear); removed entries are left as holes and dropped at the end.
    let mut slots: Vec<Option<(String, Merged<'a>)>> = entries.into_iter().map(Some).collect();
    let mut index: std::collections::HashMap<String, usize> =
        slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|(k, _)| (k.clone(), i))).collect();
    for e in node.entries() {
        match (index.get(&e.key).copied(), &e.value.value) {
            (Some(i), Value::Null) => {
                slots[i] = None;
                index.remove(&e.key);
            }
            (None, Value::Null) => {}
            (Some(i), _) => {
                if let Some((k, old)) = slots[i].take() {
                    slots[i] = Some((k, overlay(old, file, &e.value, Some(e.key_span))));
                }
            }
            (None, _) => {
                index.insert(e.key.clone(), slots.len());
                slots.push(Some((e.key.clone(), Merged::of(file, &e.value, Some(e.key_span)))));
            }
        }
    }
    Merged::Map(origin, slots.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;
    use std::path::PathBuf;

    #[test]
    fn ci_values_merge_replace_and_delete_and_remember_their_file() {
        let base = parse("replicas: 1\nimage:\n  repository: a\n  tag: \"1\"\nextra: {x: 1}\nlist: [1, 2]\n")
            .unwrap();
        let ci = parse("image:\n  tag: two\nextra: null\nlist: [3]\nnew: true\n").unwrap();
        let (vf, cf) = (PathBuf::from("values.yaml"), PathBuf::from("ci/x-values.yaml"));
        let m = coalesce(&[(&vf, base.root().unwrap()), (&cf, ci.root().unwrap())]).unwrap();
        let j = m.to_json();
        assert_eq!(
            j,
            serde_json::json!({"replicas": 1, "image": {"repository": "a", "tag": "two"}, "list": [3], "new": true})
        );
        let (tag, found) = m.locate("/image/tag");
        assert!(found);
        assert_eq!(tag.origin().file, cf.as_path());
        assert_eq!(tag.origin().value_at().start.line, 2);
        assert_eq!(tag.origin().value_at().start.column, 8);
        let (repo, _) = m.locate("/image/repository");
        assert_eq!(repo.origin().file, vf.as_path());
        let (item, found) = m.locate("/list/0");
        assert!(!found);
        assert_eq!(item.origin().file, cf.as_path());
        let (file, span) = m.place("/list/0", false);
        assert_eq!((file, span.start.line, span.start.column), (cf.as_path(), 4, 8));
        let (file, span) = m.place("/image/repository", true);
        assert_eq!((file, span.start.line, span.start.column), (vf.as_path(), 3, 3));
    }

    #[test]
    fn maps_and_scalars_replace_each_other_and_null_removes_only_what_is_there() {
        let base = parse("a: {x: 1, y: 2}\nb: 3\nc: 4\n").unwrap();
        let ci = parse("a: flat\nb: {z: 5}\nmissing: null\nc: null\n").unwrap();
        let top = parse("b: {w: 6}\n").unwrap();
        let (vf, cf, tf) = (PathBuf::from("v"), PathBuf::from("c"), PathBuf::from("t"));
        let m =
            coalesce(&[(&vf, base.root().unwrap()), (&cf, ci.root().unwrap()), (&tf, top.root().unwrap())])
                .unwrap();
        assert_eq!(m.to_json(), serde_json::json!({"a": "flat", "b": {"z": 5, "w": 6}}));
        // `b` became a map in the ci file: that file created it, the top layer added `w`.
        let (b, found) = m.locate("/b");
        assert!(found);
        assert_eq!(b.origin().file, cf.as_path());
        assert_eq!(m.locate("/b/w").0.origin().file, tf.as_path());
        // A missing key: the nearest value, not found.
        let (near, found) = m.locate("/b/nope/deeper");
        assert!(!found);
        assert_eq!(near.origin().file, cf.as_path());
        assert!(coalesce(&[]).is_none());
    }

    #[test]
    fn keys_and_values_are_placed_apart() {
        let base = parse("image:\n  tag: \"1\"\n").unwrap();
        let vf = PathBuf::from("values.yaml");
        let m = coalesce(&[(&vf, base.root().unwrap())]).unwrap();
        let (tag, _) = m.locate("/image/tag");
        assert_eq!((tag.origin().key_at().start.line, tag.origin().key_at().start.column), (2, 3));
        assert_eq!((tag.origin().value_at().start.line, tag.origin().value_at().start.column), (2, 8));
        let (_, key) = m.place("/image/tag", true);
        let (_, value) = m.place("/image/tag", false);
        assert_eq!((key.start.column, value.start.column), (3, 8));
        // The root has no key: its key place is its value place.
        assert_eq!(m.origin().key_at(), m.origin().value_at());
        // A missing key is placed at the nearest map that exists.
        let (_, near) = m.place("/image/nope", true);
        assert_eq!(near.start.line, 1);
    }
}
