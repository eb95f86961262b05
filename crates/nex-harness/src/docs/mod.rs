//! Generated documentation: each chart's README and the catalog table of the
//! top-level README, rendered from what the harness already validates
//! (Chart.yaml, `values.schema.json`, `values.yaml`, `ci/*-values.yaml`).
//!
//! Reading files is the edge ([`Sources::read`]); everything else is pure, so
//! `cargo xtask docs`, `docs --check` and the `docs/stale` lint check agree.

pub mod catalog_table;
mod markdown;
pub mod model;
pub mod readme;
pub mod upstream_facts;

pub mod values_table;

use crate::model::ChartMeta;
use std::path::{Path, PathBuf};

/// Where the catalog is published. The GitHub owner is not known to the repository
/// (forks publish under their own), so it stays a placeholder the reader fills in,
/// the same one the top-level README uses.
pub const HELM_REPO_NAME: &str = "nex-charts";
pub const HELM_REPO_URL: &str = "https://<owner>.github.io/nex-charts";
pub const OCI_REPO: &str = "oci://ghcr.io/<owner>/charts";

/// The file name of every generated README.
pub const README: &str = "README.md";

/// Markers around the hand-written part of a chart README, kept byte for byte.
pub const MANUAL_START: &str = "<!-- nex-charts:manual:start -->";
pub const MANUAL_END: &str = "<!-- nex-charts:manual:end -->";
/// Markers around the generated catalog table in the top-level README.
pub const CATALOG_START: &str = "<!-- nex-charts:catalog:start -->";
pub const CATALOG_END: &str = "<!-- nex-charts:catalog:end -->";

/// What every marker starts with; generated text never holds it (see [`neutralise_markers`]).
const MARKER_PREFIX: &str = "<!-- nex-charts:";

/// Generated text with every marker-like comment defused (`<` written as
/// `&lt;`, which Markdown shows as the same text), so a description can
/// never forge a marker and move the manual or catalog section.
pub fn neutralise_markers(generated: &str) -> String {
    generated.replace(MARKER_PREFIX, "&lt;!-- nex-charts:")
}

/// Finds the one `start`/`end` marker pair of `text`: each must be alone on
/// its line, exactly once, start first. Returns the byte just after the start
/// marker and the byte where the end marker begins; `Ok(None)` when neither is
/// there. A marker mentioned inside a line (in prose) is not a marker.
pub fn find_markers(
    text: &str,
    start: &'static str,
    end: &'static str,
    file: &Path,
) -> Result<Option<(usize, usize)>, DocsError> {
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']).trim_end();
        if bare == start {
            starts.push(offset);
        } else if bare == end {
            ends.push(offset);
        }
        offset += line.len();
    }
    let many = |what: &'static str, n: usize| DocsError::Invalid {
        file: file.to_path_buf(),
        message: format!(
            "{n} lines hold {what}; keep exactly one start and one end marker, each on its own line, and fix the rest by hand so no text is lost"
        ),
    };
    match (starts.as_slice(), ends.as_slice()) {
        ([], []) => Ok(None),
        ([s], [e]) if s < e => Ok(Some((s + start.len(), *e))),
        ([_], [_]) => Err(DocsError::Markers(file.to_path_buf(), end, start)),
        ([_], []) => Err(DocsError::Markers(file.to_path_buf(), start, end)),
        ([], [_]) => Err(DocsError::Markers(file.to_path_buf(), end, start)),
        (s, _) if s.len() > 1 => Err(many(start, s.len())),
        (_, e) => Err(many(end, e.len())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("{0}: cannot read: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{file}:{line}:{column}: invalid YAML: {message}")]
    Yaml { file: PathBuf, line: usize, column: usize, message: String },
    #[error("{file}: annotation {key} is not valid YAML: {message}")]
    Annotation { file: PathBuf, key: String, message: String },
    #[error("{0}: invalid JSON: {1}")]
    Json(PathBuf, String),
    #[error("{file}: {message}")]
    Invalid { file: PathBuf, message: String },
    #[error("{0}: {1} without its matching {2}; fix the markers by hand so no text is lost")]
    Markers(PathBuf, &'static str, &'static str),
    #[error("template {0}: {1}")]
    Template(String, String),
}

/// A `ci/*-values.yaml` file as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiFile {
    /// The scenario name (`ci/tls-values.yaml` → `tls`).
    pub scenario: String,
    /// The file's path inside `ci/` (`tls-values.yaml`, `lint/host-values.yaml`).
    pub file_name: String,
    pub text: String,
}

/// The raw inputs of one chart's README, read at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub dir: PathBuf,
    pub meta: ChartMeta,
    pub values_yaml: Option<String>,
    pub schema_json: Option<String>,
    pub ci: Vec<CiFile>,
    /// The runtime contract (`runtime.yaml`), when the chart has one: the "Upstream facts" table.
    pub runtime: Option<String>,
}

impl Sources {
    /// Reads a chart's Chart.yaml, values, schema and scenario files.
    pub fn read(chart: &crate::catalog::Chart) -> Result<Self, DocsError> {
        Self::read_with(chart, crate::files::read_chart_meta(&chart.dir))
    }

    /// [`Sources::read`] with Chart.yaml already parsed (the loader's).
    pub fn read_with(chart: &crate::catalog::Chart, meta: ChartMeta) -> Result<Self, DocsError> {
        let dir = &chart.dir;
        let values_yaml = read_optional(&dir.join("values.yaml"))?;
        let schema_json = read_optional(&dir.join("values.schema.json"))?;
        let mut ci = Vec::new();
        for scenario in &chart.scenarios {
            let Some(file) = &scenario.values_file else { continue };
            // Inside `ci/`: `lint/x-values.yaml` for a lint-only scenario.
            let file_name =
                file.strip_prefix(dir.join("ci")).map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(
                    |_| file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                );
            ci.push(CiFile { scenario: scenario.name.clone(), file_name, text: read(file)? });
        }
        let runtime = read_optional(&dir.join(crate::runtime::FILE_NAME))?;
        Ok(Self { dir: dir.clone(), meta, values_yaml, schema_json, ci, runtime })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn read(path: &Path) -> Result<String, DocsError> {
    read_optional(path)?.ok_or_else(|| {
        DocsError::Read(path.to_path_buf(), std::io::Error::from(std::io::ErrorKind::NotFound))
    })
}

/// Read with lint's limits: regular files only (a FIFO would block), capped in size.
fn read_optional(path: &Path) -> Result<Option<String>, DocsError> {
    match crate::files::read_text(path) {
        Ok(s) => Ok(Some(s)),
        Err(crate::files::FileError::Missing) => Ok(None),
        Err(e) => Err(DocsError::Read(path.to_path_buf(), std::io::Error::other(e.to_string()))),
    }
}

/// Reads a README that may not exist yet.
pub fn read_readme(path: &Path) -> Result<Option<String>, DocsError> {
    read_optional(path)
}

/// What the `docs/stale` check needs, gathered by the loader.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `Err` when the inputs cannot be read (other checks report why).
    pub sources: Result<Sources, String>,
    /// The README as it is on disk; `None` when there is none.
    pub readme: Option<String>,
}

impl Loaded {
    pub fn load(chart: &crate::catalog::Chart, meta: &ChartMeta) -> Self {
        let readme = read_readme(&chart.dir.join(README));
        match (Sources::read_with(chart, meta.clone()), readme) {
            (Ok(sources), Ok(readme)) => Self { sources: Ok(sources), readme },
            (Err(e), _) | (_, Err(e)) => Self { sources: Err(e.to_string()), readme: None },
        }
    }
}

/// The README a chart should have, keeping the manual section of `existing`.
pub fn chart_readme(sources: &Sources, existing: Option<&str>) -> Result<String, DocsError> {
    let doc = model::ChartDoc::from_sources(sources)?;
    readme::render(&doc, existing, &sources.file(README))
}

/// The top-level README as it is and as it should be, with the catalog table of
/// `charts` (all of them: a partial list would drop rows). `Ok(None)` when the
/// catalog has no top-level README.
pub fn catalog_readme(
    root: &Path,
    charts: &[crate::catalog::Chart],
) -> Result<Option<(String, String)>, DocsError> {
    let file = root.join(README);
    if read_optional(&file)?.is_none() {
        return Ok(None);
    }
    let entries = charts.iter().map(|c| catalog_entry(root, c)).collect::<Result<Vec<_>, _>>()?;
    catalog_readme_of(root, &entries)
}

/// A chart's row of the catalog table (read from the chart's folder alone).
pub fn catalog_entry(root: &Path, chart: &crate::catalog::Chart) -> Result<catalog_table::Entry, DocsError> {
    let doc = model::ChartDoc::from_sources(&Sources::read(chart)?)?;
    let path = chart.dir.strip_prefix(root).unwrap_or(&chart.dir).to_string_lossy().replace('\\', "/");
    Ok(catalog_table::Entry::of(&doc, path))
}

/// [`catalog_readme`] from rows already built ([`catalog_entry`]).
pub fn catalog_readme_of(
    root: &Path,
    entries: &[catalog_table::Entry],
) -> Result<Option<(String, String)>, DocsError> {
    let file = root.join(README);
    let Some(have) = read_optional(&file)? else { return Ok(None) };
    let table = catalog_table::table(entries)?;
    let want = catalog_table::splice(&have, &table, &file)?;
    Ok(Some((have, want)))
}

/// Temp file in the same folder, then rename: a reader never sees half a README.
/// A README keeps its mode; a README that is a link is written through only
/// when it leads inside the repository (the working directory), never out of it.
pub fn write_atomic(file: &Path, text: &str) -> std::io::Result<()> {
    Ok(crate::fsio::write_repo_file(file, text.as_bytes())?)
}

/// Parses YAML into JSON values with the harness's positioned loader (the same
/// reading lint does; mapping order kept). An empty document is `null`.
pub(crate) fn parse_yaml(text: &str, file: &Path) -> Result<serde_json::Value, DocsError> {
    let yaml = crate::yaml::parse(text).map_err(|e| DocsError::Yaml {
        file: file.to_path_buf(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    Ok(yaml.root().map(crate::yaml::Node::to_json).unwrap_or(serde_json::Value::Null))
}

/// Renders one embedded tera template. Templates are Markdown, so nothing is
/// HTML-escaped; callers escape values for Markdown themselves.
pub(crate) fn render_template(
    name: &str,
    template: &str,
    context: &serde_json::Value,
) -> Result<String, DocsError> {
    let err = |e: tera::Error| {
        // tera keeps the useful part (which variable, which line) in the source chain.
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        DocsError::Template(name.to_owned(), msg)
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_template(name, template).map_err(err)?;
    let context = tera::Context::from_value(context.clone()).map_err(err)?;
    tera.render(name, &context).map_err(err)
}

/// A unified diff from `old` to `new`, labelled with the file.
pub fn unified_diff(file: &Path, old: &str, new: &str) -> String {
    let name = file.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// The 1-based line of the first difference between `old` and `new`.
pub fn first_changed_line(old: &str, new: &str) -> usize {
    let mut line = 1;
    for (a, b) in old.split_inclusive('\n').zip(new.split_inclusive('\n')) {
        if a != b {
            return line;
        }
        line += 1;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keeps_key_order_and_empty_is_null() {
        let v = parse_yaml("b: 1\na: 2\nc: {z: 1, y: 2}\n", Path::new("v.yaml")).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(parse_yaml("# nothing\n\n", Path::new("v.yaml")).unwrap(), serde_json::Value::Null);
        let err = parse_yaml("a: 1\nb: [1,\n", Path::new("v.yaml")).unwrap_err().to_string();
        assert!(err.starts_with("v.yaml:2:7: invalid YAML: "), "{err}");
    }

    #[test]
    fn markers_must_be_alone_on_their_lines_and_paired_once() {
        let f = Path::new("R.md");
        let find = |t: &str| find_markers(t, MANUAL_START, MANUAL_END, f);
        let ok = format!("a\n{MANUAL_START}\nkeep\n{MANUAL_END}\nb\n");
        let (s, e) = find(&ok).unwrap().unwrap();
        assert_eq!(&ok[s..e], "\nkeep\n");
        // Mentioned in prose: not a marker.
        let prose = format!("see `{MANUAL_START}` and `{MANUAL_END}`\n{ok}");
        let (s, e) = find(&prose).unwrap().unwrap();
        assert_eq!(&prose[s..e], "\nkeep\n");
        assert_eq!(find("no markers\n").unwrap(), None);
        // Two starts, two ends, reversed or lone markers: refused.
        for bad in [
            format!("{MANUAL_START}\n{ok}"),
            format!("{ok}{MANUAL_END}\n"),
            format!("{MANUAL_END}\nx\n{MANUAL_START}\n"),
            format!("{MANUAL_START}\n"),
            format!("{MANUAL_END}\n"),
        ] {
            assert!(find(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn neutralised_text_holds_no_marker() {
        let forged = format!("x {MANUAL_END} y\n{CATALOG_END}\n{MANUAL_START}");
        let safe = neutralise_markers(&forged);
        for m in [MANUAL_START, MANUAL_END, CATALOG_START, CATALOG_END] {
            assert!(!safe.contains(m), "{safe}");
        }
        assert_eq!(neutralise_markers("plain <!-- comment -->"), "plain <!-- comment -->");
    }

    #[test]
    fn first_changed_line_finds_the_difference() {
        assert_eq!(first_changed_line("a\nb\nc\n", "a\nB\nc\n"), 2);
        assert_eq!(first_changed_line("a\n", "a\nb\n"), 2);
        assert_eq!(first_changed_line("", "a\n"), 1);
    }
}
