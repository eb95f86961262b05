//! `values/camel-case`: value names in values.yaml and the ci files are
//! camelCase (Helm's convention).
//!
//! A value name is a key the chart defines: with a schema, a key of an object
//! whose schema lists `properties` and is not marked `"x-nex-user-keys": true`
//! (names the user chooses: env vars, labels…). Keys inside objects the schema
//! leaves open (Kubernetes objects passed through, label selectors) are not the
//! chart's names and are not judged.
//!
//! With a schema, the chart's names are the keys of the top level and of the
//! objects the schema closes (`additionalProperties: false`): an open object's
//! keys belong to whoever fills it, even when the schema documents some of
//! them (upstream configuration such as Alertmanager's `route.group_wait`).
//!
//! Without a schema, keys below a value passed through to another program are
//! read from an ancestor's name: one ending in `config`, `configs`,
//! `configuration`, `conf`, `files`, `annotations`, `labels`, `selector`,
//! `env` or `rules` (case-insensitive) holds other programs' names
//! (Alertmanager's `group_wait`, an alert name under `customRules`).
//!
//! A key that is not a Go identifier (`app.kubernetes.io/name`, `rules.yml`,
//! `extra-data`) is never a value name: `.Values` cannot reach it by name.
//!
//! Either way, a top-level key that is a dependency's name or alias is the
//! dependency's, with everything below it.

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
        let dependencies = dependency_keys(&loaded.meta.value);
        root.walk(&mut |pointer, _node, entry| {
            let Some(entry) = entry else { return };
            if schema::is_camel(&entry.key) || !schema::is_identifier(&entry.key) {
                return;
            }
            let tokens = crate::yaml::pointer_tokens(pointer).unwrap_or_default();
            if tokens.first().is_some_and(|first| dependencies.contains(first)) {
                return;
            }
            let parent = &pointer[..pointer.rfind('/').unwrap_or(0)];
            let ancestors = &tokens[..tokens.len().saturating_sub(1)];
            if schema.is_none() && ancestors.iter().any(|a| passes_through(a)) {
                return;
            }
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

/// The names and aliases of the chart's dependencies: their values sit under these top-level keys.
fn dependency_keys(chart_meta: &serde_json::Value) -> Vec<String> {
    chart_meta
        .get("dependencies")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .flat_map(|d| ["name", "alias"].into_iter().filter_map(|k| d.get(k)?.as_str().map(str::to_owned)))
        .collect()
}

/// Whether a value named `key` is, by its name, handed to another program as is.
fn passes_through(key: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "config",
        "configs",
        "configuration",
        "conf",
        "files",
        "annotations",
        "labels",
        "selector",
        "env",
        "rules",
    ];
    let key = key.to_ascii_lowercase();
    SUFFIXES.iter().any(|s| key.ends_with(s))
}

fn parent_schema<'a>(schema: Option<&'a serde_json::Value>, parent: &str) -> Option<&'a serde_json::Value> {
    crate::yaml::pointer_tokens(parent).and_then(|t| schema::subschema_at(schema?, &t))
}

/// Whether the keys of the object at `parent` are names the chart chose: the
/// schema describes them (`properties`, not user keys) at the top level or in
/// an object it closes.
fn names_chosen_by_chart(schema: Option<&serde_json::Value>, parent: &str) -> bool {
    if schema.is_none() {
        return true;
    }
    let Some(sub) = parent_schema(schema, parent) else { return false };
    sub.get(USER_KEYS) != Some(&serde_json::Value::Bool(true))
        && sub.get("properties").is_some()
        && (parent.is_empty() || schema::closes(sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthrough_parents_are_read_from_their_names() {
        for key in [
            "config",
            "alertmanagerConfig",
            "serverFiles",
            "podAnnotations",
            "commonLabels",
            "nodeSelector",
            "extraEnv",
            "env",
            "customRules",
        ] {
            assert!(passes_through(key), "{key}");
        }
        for key in ["image", "service", "persistence", "environment"] {
            assert!(!passes_through(key), "{key}");
        }
    }

    #[test]
    fn with_a_schema_the_top_level_and_closed_objects_are_judged() {
        let schema = serde_json::json!({"type": "object", "properties": {
            "global": {"type": "object", "properties": {"scrape_interval": {"type": "string"}}},
            "closed": {"type": "object", "additionalProperties": false, "properties": {"a": {}}}
        }});
        assert!(names_chosen_by_chart(Some(&schema), ""));
        assert!(!names_chosen_by_chart(Some(&schema), "/global"));
        assert!(names_chosen_by_chart(Some(&schema), "/closed"));
        assert!(names_chosen_by_chart(None, "/anything"));
    }

    #[test]
    fn only_identifiers_can_be_value_names() {
        assert!(schema::is_identifier("group_wait") && schema::is_identifier("replicaCount"));
        for data in ["app.kubernetes.io/name", "rules.yml", "extra-data", "kube-state-metrics", "1st"] {
            assert!(!schema::is_identifier(data), "{data}");
        }
    }

    #[test]
    fn dependency_names_and_aliases() {
        let meta = serde_json::json!({"dependencies": [
            {"name": "kube-state-metrics", "repository": "https://example.org"},
            {"name": "grafana", "alias": "grafana_ui"}
        ]});
        assert_eq!(dependency_keys(&meta), ["kube-state-metrics", "grafana", "grafana_ui"]);
    }
}
