//! `values/camel-case`: value names in values.yaml and the ci files are
//! camelCase (Helm's convention), except the keys of objects the schema marks
//! with `"x-nex-user-keys": true` (names the user chooses: env vars, labels…).

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
            let exempt = schema.is_some_and(|s| {
                crate::yaml::pointer_tokens(parent)
                    .and_then(|t| schema::subschema_at(s, &t))
                    .and_then(|sub| sub.get(USER_KEYS))
                    == Some(&serde_json::Value::Bool(true))
            });
            if !exempt {
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
            }
        });
    }
    out
}
