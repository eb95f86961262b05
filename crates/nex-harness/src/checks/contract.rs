//! `values/contract`: a chart's copy of the values contract matches the library's.
//!
//! Service charts copy the `common` library's schema definitions
//! (`values.schema.fragment.json`) into their own `values.schema.json`, because
//! helm needs a self-contained schema. A copy that drifts from the library
//! means the chart validates values differently from what the library renders,
//! so every definition the chart shares by name with the fragment must equal it.

use crate::diag::{Diagnostic, Location};
use crate::files::JsonFile;
use crate::load::{FRAGMENT, LoadedChart};
use crate::rule::{CATALOG, Rule};
use serde_json::Value;

pub const RULE: Rule = Rule::error(
    "values/contract",
    CATALOG,
    "a chart's copy of a values-contract definition differs from its library's `values.schema.fragment.json` (charts copy the `common` definitions so helm gets a self-contained schema; a drifted copy validates values the library renders differently)",
);
pub const RULES: &[Rule] = &[RULE];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let Some(schema) = loaded.files.values_schema.as_ref().and_then(|s| s.content.as_ref().ok()) else {
        return Vec::new();
    };
    let Ok(mine) = &schema.value else { return Vec::new() };
    let mut diags = Vec::new();
    for (library, fragment) in &loaded.files.contracts {
        let Ok(Ok(theirs)) = fragment.content.as_ref().map(|f| f.value.as_ref()) else { continue };
        diags.extend(compare(&loaded.chart.name, library, schema, mine, theirs));
    }
    diags
}

fn definitions(schema: &Value) -> Option<(&'static str, &serde_json::Map<String, Value>)> {
    ["$defs", "definitions"].into_iter().find_map(|k| schema.get(k)?.as_object().map(|m| (k, m)))
}

fn compare(chart: &str, library: &str, file: &JsonFile, mine: &Value, theirs: &Value) -> Vec<Diagnostic> {
    let (Some((key, ours)), Some((_, contract))) = (definitions(mine), definitions(theirs)) else {
        return Vec::new();
    };
    let mut drifted: Vec<&String> =
        contract.keys().filter(|n| ours.get(*n).is_some_and(|d| d != &contract[*n])).collect();
    drifted.sort();
    drifted
        .into_iter()
        .map(|name| {
            let pointer = format!("/{}/{}", key.replace('~', "~0").replace('/', "~1"), name.replace('~', "~0").replace('/', "~1"));
            let location = match file.position(&pointer) {
                Some((line, column)) => Location::at(&file.path, line, column),
                None => Location::file(&file.path),
            };
            Diagnostic::error(
                RULE,
                chart,
                format!("definition `{name}` differs from the `{library}` library's values contract ({FRAGMENT})"),
            )
            .at(location)
            .hint(format!(
                "copy `{key}.{name}` from the library's {FRAGMENT} unchanged; change the contract in the library, then in every chart"
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_file(dir: &std::path::Path, text: &str) -> JsonFile {
        let path = dir.join("values.schema.json");
        std::fs::write(&path, text).unwrap();
        JsonFile::read(&path).unwrap()
    }

    #[test]
    fn a_drifted_copy_is_placed_at_its_definition() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "{\n  \"definitions\": {\n    \"image\": {\"type\": \"object\"},\n    \"tests\": {\"type\": \"string\"},\n    \"own\": {\"type\": \"string\"}\n  }\n}\n";
        let file = json_file(tmp.path(), text);
        let mine = file.value.clone().unwrap();
        let contract: Value = serde_json::json!({
            "definitions": {"image": {"type": "object"}, "tests": {"type": "object"}, "probe": {"type": "object"}}
        });
        let diags = compare("app", "common", &file, &mine, &contract);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].message.contains("`tests`"));
        let loc = diags[0].location.clone().unwrap();
        assert_eq!((loc.line, loc.column), (Some(4), Some(5)));
    }

    #[test]
    fn identical_or_absent_definitions_are_fine() {
        let tmp = tempfile::tempdir().unwrap();
        let file = json_file(tmp.path(), "{\"$defs\": {\"image\": {\"type\": \"object\"}}}\n");
        let mine = file.value.clone().unwrap();
        let contract = serde_json::json!({"definitions": {"image": {"type": "object"}, "probe": {}}});
        assert!(compare("app", "common", &file, &mine, &contract).is_empty());
    }
}
