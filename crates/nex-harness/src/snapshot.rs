//! Snapshot text of a rendering: readable YAML, one document per object headed
//! by its `# Source:` template, with random values masked explicitly.
//!
//! What may be random is fixed here, not guessed: the values of a Secret's
//! `data`/`stringData` and `checksum/*` annotations (the usual digest of such a
//! Secret). A value there is masked only when two renders differ; a difference
//! anywhere else is an error, so a chart cannot hide nondeterminism.

use crate::manifest::Object;
use serde_json::Value;

pub const RANDOM: &str = "[masked: random]";
pub const CHECKSUM: &str = "[masked: checksum of random content]";

/// Masks the values of `objects` that differ in `again` (a second render of the
/// same inputs). Returns the JSON paths that differ but may not be masked.
pub fn mask(objects: &mut [Object], again: &[Object]) -> Result<(), Vec<String>> {
    if objects.len() != again.len() {
        return Err(vec![format!("the two renders have {} and {} objects", objects.len(), again.len())]);
    }
    let mut bad = Vec::new();
    for (o, a) in objects.iter_mut().zip(again) {
        let id = o.id();
        let is_secret = o.kind() == "Secret";
        let mut diffs = Vec::new();
        differences(&o.value, &a.value, String::new(), &mut diffs);
        for path in diffs {
            let replacement = if is_secret && (path.starts_with("/data/") || path.starts_with("/stringData/"))
            {
                Some(RANDOM)
            } else if is_checksum_annotation(&path) {
                Some(CHECKSUM)
            } else {
                None
            };
            match (replacement, o.value.pointer_mut(&path)) {
                (Some(r), Some(v)) => *v = Value::String(r.to_owned()),
                _ => bad.push(format!("{id}: {path}")),
            }
        }
    }
    if bad.is_empty() { Ok(()) } else { Err(bad) }
}

fn is_checksum_annotation(path: &str) -> bool {
    path.rsplit_once("/annotations/")
        .is_some_and(|(_, key)| key.starts_with("checksum~1") && !key.contains('/'))
}

/// JSON pointers of the leaves where `a` and `b` differ.
fn differences(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() && x.keys().all(|k| y.contains_key(k)) => {
            for (k, v) in x {
                differences(v, &y[k], format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, format!("{path}/{i}"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(path),
    }
}

/// The snapshot text: each object as YAML under its `# Source:` line.
pub fn text(objects: &[Object]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        if let Some(s) = &o.source {
            out.push_str(&format!("# Source: {s}\n"));
        }
        match serde_saphyr::to_string(&o.value) {
            Ok(y) => out.push_str(&y),
            Err(e) => out.push_str(&format!("# cannot serialise: {e}\n{}\n", o.value)),
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object { source: Some("c/templates/s.yaml".into()), line: 1, value: v }
    }

    #[test]
    fn random_secret_data_and_its_checksum_are_masked_and_nothing_else() {
        let a =
            json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"pw": "YWJj", "user": "dXNlcg=="}});
        let b =
            json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"pw": "eHl6", "user": "dXNlcg=="}});
        let d1 = json!({"kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"metadata": {"annotations": {"checksum/secret": "1"}}}}});
        let d2 = json!({"kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"metadata": {"annotations": {"checksum/secret": "2"}}}}});
        let mut objs = vec![obj(a), obj(d1)];
        mask(&mut objs, &[obj(b), obj(d2)]).unwrap();
        assert_eq!(objs[0].value["data"]["pw"], RANDOM);
        assert_eq!(objs[0].value["data"]["user"], "dXNlcg==", "deterministic data stays visible");
        assert_eq!(
            objs[1].value.pointer("/spec/template/metadata/annotations/checksum~1secret").unwrap(),
            CHECKSUM
        );
        let text = text(&objs);
        assert!(text.starts_with("---\n# Source: c/templates/s.yaml\n"), "{text}");
    }

    #[test]
    fn randomness_outside_the_masked_places_is_an_error() {
        let mut objs = vec![obj(json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1"}}))];
        let err = mask(
            &mut objs,
            &[obj(json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "2"}}))],
        )
        .unwrap_err();
        assert_eq!(err, ["ConfigMap/c: /data/x"]);
    }
}
