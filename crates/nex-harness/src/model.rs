//! Typed models of a chart's files, independent of how they were read.
//!
//! [`ChartMeta`] is Chart.yaml, parsed once with the positioned YAML reader
//! and passed to whatever needs it (dependencies, renders, docs, diffs,
//! releases, checks). Only the loader (`load::read_files`) and
//! `files::read_chart_meta` open Chart.yaml; everything else takes a `ChartMeta`.

use crate::yaml::{self, Node, Pos, Yaml, YamlError};
use std::path::{Path, PathBuf};

/// A chart's metadata file, inside its folder.
pub const CHART_YAML: &str = "Chart.yaml";

/// Chart.yaml on the target branch (`--changed`, or charts named explicitly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    /// What the chart was compared with (`origin/main`).
    pub base: String,
    /// `version` there; `None` when the chart is new on this branch.
    pub version: Option<String>,
}

/// Chart.yaml, typed. Fields are `None` (or empty) when absent or not of the
/// The release name and namespace renders use unless `harness.yaml` says otherwise.
pub const RELEASE: &str = "nex";
pub const NAMESPACE: &str = "nex";

/// expected shape; the `chart/*` checks say what is wrong with them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChartMeta {
    /// Where it was read from (findings point here).
    pub path: PathBuf,
    /// The text as read (empty when unreadable).
    pub text: String,
    /// Why it could not be read or parsed; `None` when it parsed.
    pub error: Option<String>,
    /// The whole document as JSON (`Null` when unreadable): what schemas validate.
    pub value: serde_json::Value,
    pub name: Option<String>,
    /// `version` as written (a number is kept as its text, e.g. `1.0`).
    pub version: Option<String>,
    pub app_version: Option<String>,
    pub kube_version: Option<String>,
    /// `type`: `application` (the default) or `library`.
    pub chart_type: Option<String>,
    pub deprecated: bool,
    pub dependencies: Vec<Dependency>,
    /// `annotations`, in file order.
    pub annotations: Vec<Annotation>,
}

/// One entry of `dependencies`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    /// Empty for an in-tree subchart (`charts/<name>/`).
    pub repository: String,
    pub alias: Option<String>,
    /// Where the entry starts.
    pub pos: Pos,
}

/// One entry of `annotations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub key: String,
    /// The value when it is a string (annotations must be).
    pub value: Option<String>,
    /// Where the key is written.
    pub pos: Pos,
}

impl ChartMeta {
    /// Parses Chart.yaml text (from disk, from git or from a packaged archive).
    pub fn parse(path: &Path, text: &str) -> Self {
        Self::from_parsed(path, text.to_owned(), &yaml::parse(text))
    }

    /// Builds the model from an existing parse of `text` (the loader's), so the file is parsed once.
    pub fn from_parsed(path: &Path, text: String, parsed: &Result<Yaml, YamlError>) -> Self {
        let mut meta = Self { path: path.to_owned(), text, ..Self::default() };
        match parsed {
            Err(e) => meta.error = Some(e.to_string()),
            Ok(doc) => match doc.root() {
                Some(root) => meta.fill(root),
                None => meta.error = Some("the file holds no YAML document".into()),
            },
        }
        meta
    }

    /// A Chart.yaml that could not be read.
    pub fn unreadable(path: &Path, error: impl std::fmt::Display) -> Self {
        Self { path: path.to_owned(), error: Some(error.to_string()), ..Self::default() }
    }

    fn fill(&mut self, root: &Node) {
        self.value = root.to_json();
        let text = |key: &str| root.get(key).and_then(scalar_text);
        self.name = text("name");
        self.version = text("version");
        self.app_version = text("appVersion");
        self.kube_version = text("kubeVersion");
        self.chart_type = text("type");
        self.deprecated = root.get("deprecated").is_some_and(|d| d.value == yaml::Value::Bool(true));
        if let Some(yaml::Value::Seq(items)) = root.get("dependencies").map(|d| &d.value) {
            self.dependencies = items
                .iter()
                .map(|d| {
                    let field = |k: &str| d.get(k).and_then(scalar_text);
                    Dependency {
                        name: field("name").unwrap_or_default(),
                        version: field("version").unwrap_or_default(),
                        repository: field("repository").unwrap_or_default(),
                        alias: field("alias"),
                        pos: d.span.start,
                    }
                })
                .collect();
        }
        if let Some(a) = root.get("annotations") {
            self.annotations = a
                .entries()
                .iter()
                .map(|e| Annotation {
                    key: e.key.clone(),
                    value: e.value.as_str().map(str::to_owned),
                    pos: e.key_span.start,
                })
                .collect();
        }
    }

    pub fn is_library(&self) -> bool {
        self.chart_type.as_deref() == Some("library")
    }

    pub fn annotation(&self, key: &str) -> Option<&Annotation> {
        self.annotations.iter().find(|a| a.key == key)
    }

    /// The `file://` dependencies: name and folder, resolved against the chart's folder.
    /// A Chart API v1 chart keeps its dependencies in `requirements.yaml` (helm 3
    /// still reads it, and `helm dependency build` builds them): those given as
    /// its text join `dependencies`, placed in that file. `requirements` is the
    /// file's text (`None`: the chart has none).
    pub fn with_requirements(mut self, requirements: Option<&str>) -> Self {
        let Some(text) = requirements else { return self };
        let Ok(doc) = yaml::parse(text) else { return self };
        let Some(yaml::Value::Seq(items)) = doc.root().and_then(|r| r.get("dependencies")).map(|d| &d.value)
        else {
            return self;
        };
        for d in items {
            let field = |k: &str| d.get(k).and_then(scalar_text);
            self.dependencies.push(Dependency {
                name: field("name").unwrap_or_default(),
                version: field("version").unwrap_or_default(),
                repository: field("repository").unwrap_or_default(),
                alias: field("alias"),
                pos: d.span.start,
            });
        }
        self
    }

    pub fn local_dependencies(&self, chart_dir: &Path) -> Vec<(String, PathBuf)> {
        self.dependencies
            .iter()
            .filter_map(|d| d.repository.strip_prefix("file://").map(|p| (d.name.clone(), chart_dir.join(p))))
            .collect()
    }
}

/// A scalar as text: strings as they are, numbers and booleans as written in JSON.
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        yaml::Value::Str(s) => Some(s.clone()),
        yaml::Value::Int(_) | yaml::Value::Float(_) | yaml::Value::Bool(_) => {
            Some(node.to_json().to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "apiVersion: v2\nname: demo\nversion: 1.0\nappVersion: \"2.1\"\ntype: library\n\
        kubeVersion: \">=1.30.0-0\"\ndeprecated: true\ndependencies:\n  - name: common\n    version: 0.1.0\n\
        \x20   repository: file://../common\n  - name: sub\n    version: 1.0.0\nannotations:\n\
        \x20 a/b: |\n    - x\n  c/d: 3\n";

    #[test]
    fn fields_are_typed_and_placed() {
        let m = ChartMeta::parse(Path::new("c/Chart.yaml"), TEXT);
        assert_eq!(m.error, None);
        assert_eq!(m.name.as_deref(), Some("demo"));
        assert_eq!(m.version.as_deref(), Some("1.0"), "a number keeps its text");
        assert_eq!(m.app_version.as_deref(), Some("2.1"));
        assert_eq!(m.kube_version.as_deref(), Some(">=1.30.0-0"));
        assert!(m.is_library() && m.deprecated);
        assert_eq!(m.dependencies.len(), 2);
        assert_eq!(m.dependencies[0].pos, Pos { line: 9, column: 5 });
        assert_eq!(m.dependencies[1].repository, "", "an in-tree subchart has no repository");
        assert_eq!(
            m.local_dependencies(Path::new("charts/demo")),
            [("common".to_owned(), PathBuf::from("charts/demo/../common"))]
        );
        let a = m.annotation("a/b").expect("annotation");
        assert_eq!((a.value.as_deref(), a.pos), (Some("- x\n"), Pos { line: 15, column: 3 }));
        assert_eq!(m.annotation("c/d").and_then(|a| a.value.as_deref()), None, "not a string");
        assert_eq!(m.value["dependencies"][0]["name"], "common");
    }

    #[test]
    fn broken_and_empty_files_say_why() {
        let m = ChartMeta::parse(Path::new("Chart.yaml"), "name: [unclosed\n");
        assert!(m.error.as_deref().is_some_and(|e| e.starts_with("1:16: ")), "{:?}", m.error);
        assert_eq!((m.name, m.value), (None, serde_json::Value::Null));
        let m = ChartMeta::parse(Path::new("Chart.yaml"), "# nothing\n");
        assert!(m.error.is_some());
        let m = ChartMeta::unreadable(Path::new("Chart.yaml"), "file does not exist");
        assert_eq!(m.error.as_deref(), Some("file does not exist"));
    }
}
