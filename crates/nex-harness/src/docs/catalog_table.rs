//! The catalog table of the top-level README: one row per chart, between markers.

use super::markdown::{cell, code_cell};
use super::model::ChartDoc;
use super::{CATALOG_END, CATALOG_START, DocsError, find_markers, neutralise_markers};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

const TEMPLATE_NAME: &str = "catalog.md";
const TEMPLATE: &str = include_str!("../../templates/catalog.md.tera");

/// A chart as listed in the table; `path` is its folder relative to the README.
/// (Kept by lint's cache per chart: a whole-catalog run rebuilds only the rows of changed charts.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub version: String,
    pub app_version: Option<String>,
    pub description: String,
    pub path: String,
}

impl Entry {
    pub fn of(doc: &ChartDoc, path: String) -> Self {
        Self {
            name: doc.name.clone(),
            version: doc.version.clone(),
            app_version: doc.app_version.clone(),
            description: doc.description.clone(),
            path,
        }
    }
}

pub fn table(entries: &[Entry]) -> Result<String, DocsError> {
    let charts: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "name": cell(&e.name),
                "path": e.path,
                "version": code_cell(&e.version),
                "app_version": e.app_version.as_deref().map(code_cell).unwrap_or_else(|| "—".into()),
                "description": cell(&e.description),
            })
        })
        .collect();
    // A description must not forge the markers the table is found by.
    Ok(neutralise_markers(&super::render_template(TEMPLATE_NAME, TEMPLATE, &json!({ "charts": charts }))?))
}

/// `readme` with the text between the catalog markers replaced by `table`;
/// everything outside the markers is kept as it is.
pub fn splice(readme: &str, table: &str, file: &Path) -> Result<String, DocsError> {
    let Some((start, end)) = find_markers(readme, CATALOG_START, CATALOG_END, file)? else {
        return Err(DocsError::Invalid {
            file: file.to_path_buf(),
            message: format!(
                "no catalog markers: add a line `{CATALOG_START}` and a line `{CATALOG_END}` where the chart table goes"
            ),
        });
    };
    let head = &readme[..start];
    let tail = &readme[end..];
    Ok(format!("{head}\n\n{table}\n{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_between_markers() {
        let readme = format!("# t\n\n{CATALOG_START}\nold\n{CATALOG_END}\n\nrest\n");
        let out = splice(&readme, "| new |\n", Path::new("README.md")).unwrap();
        assert_eq!(out, format!("# t\n\n{CATALOG_START}\n\n| new |\n\n{CATALOG_END}\n\nrest\n"));
        assert_eq!(splice(&out, "| new |\n", Path::new("README.md")).unwrap(), out);
        assert!(splice("# no markers\n", "x", Path::new("README.md")).is_err());
    }
}
