//! `values/camel-case`: value names in values.yaml and the ci files are
//! camelCase (Helm's convention).
//!
//! A value name is a key the chart defines: with a schema, a key of an object
//! whose schema lists `properties` and is not marked `"x-nex-user-keys": true`
//! (names the user chooses: env vars, labels…). Keys inside objects the schema
//! leaves open (Kubernetes objects passed through, label selectors) are not the
//! chart's names and are not judged. Without a schema every key is judged.

use crate::diag::{Diagnostic, Location};
use crate::load::LoadedChart;
use crate::schema::{self, USER_KEYS};

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let chart = loaded.chart.name.as_str();
    let files = &loaded.files;
    let schema = files
        .values_schema
        .as_ref()
        .and_then(|s| s.content.as_ref().ok())
        .and_then(|f| f.value.as_ref().ok());
    let mut out = Vec::new();
    let sources = files.values.iter().chain(files.ci.iter().map(|(_, s)| s));
    for source in sources {
        let Some(root) = source.content.as_ref().ok().and_then(|f| f.root()) else { continue };
        root.walk(&mut |pointer, _node, entry| {
            let Some(entry) = entry else { return };
            if schema::is_camel(&entry.key) {
                return;
            }
            let parent = &pointer[..pointer.rfind('/').unwrap_or(0)];
            if !names_chosen_by_chart(schema, parent) {
                return;
            }
            out.push(
                Diagnostic::error(
                    schema::RULE_CAMEL,
                    chart,
                    format!("value name `{}` is not camelCase", entry.key),
                )
                .at(Location::at(&source.path, entry.key_span.start.line, entry.key_span.start.column))
                .hint(format!(
                    "rename it, or if users choose these names, mark the parent object in values.schema.json with \"{USER_KEYS}\": true"
                )),
            );
        });
    }
    out
}

/// Whether the keys of the object at `parent` are names the chart chose.
fn names_chosen_by_chart(schema: Option<&serde_json::Value>, parent: &str) -> bool {
    let Some(schema) = schema else { return true };
    let Some(sub) = crate::yaml::pointer_tokens(parent).and_then(|t| schema::subschema_at(schema, &t)) else {
        return false;
    };
    sub.get(USER_KEYS) != Some(&serde_json::Value::Bool(true)) && sub.get("properties").is_some()
}
