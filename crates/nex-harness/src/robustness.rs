//! Entry points for robustness testing, shared by the cargo-fuzz targets
//! (`fuzz/`, nightly) and the stable property test (`tests/robustness.rs`):
//! each takes arbitrary bytes, runs one harness component on them, and panics
//! only when an invariant breaks (a panic inside the component counts too).
//! A deterministic mutator lets `cargo test` cover the same paths on stable.

use crate::checks::{values_schema, yaml_hygiene};
use crate::files::{JsonFile, YamlFile};
use crate::load::{ChartFiles, Source};
use crate::yaml;
use std::path::{Path, PathBuf};

/// The positioned YAML loader, the JSON view of what it loads, pointer lookups,
/// and the hygiene rules over the same text.
pub fn yaml_loader(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The parser counts lines the YAML way (CR LF, CR and LF each end a line; a
    // lone CR was found by the fuzzer); the hygiene rules count LF-ended lines.
    let lines = 1 + text.replace("\r\n", "\n").chars().filter(|c| matches!(c, '\n' | '\r')).count();
    let lf_lines = text.split('\n').count();
    let parsed = yaml::parse(text);
    assert_eq!(parsed, yaml::parse(text), "parsing is deterministic");
    match &parsed {
        Ok(y) => {
            for doc in &y.docs {
                let json = doc.to_json();
                let again: serde_json::Value =
                    serde_json::from_str(&json.to_string()).expect("the JSON view serialises");
                assert_eq!(json, again);
                doc.walk(&mut |pointer, node, entry| {
                    assert!(doc.pointer(pointer).is_some(), "walked pointer {pointer:?} resolves");
                    for span in std::iter::once(node.span).chain(entry.map(|e| e.key_span)) {
                        if span != yaml::Span::default() {
                            // The end of the input is a place too (an empty node there).
                            assert!(
                                span.start.line >= 1 && span.start.line <= lines + 1,
                                "{span:?} in {lines} lines"
                            );
                            assert!(span.start.column >= 1, "{span:?}");
                        }
                    }
                });
                let _ = doc.locate_nearest("/a/0/b");
            }
        }
        Err(e) => assert!(e.line <= lines + 1, "error line {} beyond {lines} lines", e.line),
    }
    let file = YamlFile::from_text(Path::new("values.yaml"), text.to_owned());
    for d in yaml_hygiene::file_findings("fuzz", &file, &crate::lintconf::LintConf::default()) {
        if let Some(line) = d.location.as_ref().and_then(|l| l.line) {
            assert!(line >= 1 && line <= lf_lines, "{}: line {line} of {lf_lines}", d.rule);
        }
    }
}

/// The values validator: `schema \0 values.yaml \0 ci values` (missing parts
/// are absent files), through `values_schema::check_files`. Every finding
/// names one of those files, at a line ≥ 1.
pub fn values_validator(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\0');
    let schema = parts.next().unwrap_or_default();
    let values = parts.next();
    let ci = parts.next();
    let dir = PathBuf::from("charts/fuzz");
    let files = fuzz_files(&dir, schema, values, ci);
    let known = ["values.yaml", "ci/fuzz-values.yaml", "values.schema.json"].map(|f| dir.join(f));
    for d in values_schema::check_files("fuzz", &dir, &files) {
        let Some(loc) = &d.location else { continue };
        assert!(known.contains(&loc.file), "{}: {} names {}", d.rule, d.message, loc.file.display());
        assert!(loc.line.is_none_or(|l| l >= 1), "{}: line 0", d.rule);
        assert!(!d.message.trim().is_empty(), "{}: empty message", d.rule);
    }
}

/// Docs marker handling: `readme \0 generated`. Generated text, once
/// neutralised, holds no marker; splicing it into the README's catalog
/// section keeps every byte outside the markers and finds the same single
/// pair again (generated text cannot forge one); a manual section read from
/// the README reads back the same after it is written between the markers.
pub fn docs_markers(data: &[u8]) {
    use crate::docs::{self, CATALOG_END, CATALOG_START, MANUAL_END, MANUAL_START};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (readme, generated) = text.split_once('\0').unwrap_or((text, ""));
    let safe = docs::neutralise_markers(generated);
    for m in [CATALOG_START, CATALOG_END, MANUAL_START, MANUAL_END] {
        assert!(!safe.contains(m), "neutralised text still holds {m}");
    }
    let file = Path::new("README.md");
    if let Ok(Some((start, end))) = docs::find_markers(readme, CATALOG_START, CATALOG_END, file) {
        assert!(
            start <= end
                && readme[..start].ends_with(CATALOG_START)
                && readme[end..].starts_with(CATALOG_END)
        );
        let out =
            docs::catalog_table::splice(readme, &safe, file).expect("markers found once are found again");
        assert!(
            out.starts_with(&readme[..start]) && out.ends_with(&readme[end..]),
            "text outside the markers changed"
        );
        let (s2, e2) = docs::find_markers(&out, CATALOG_START, CATALOG_END, file)
            .expect("the spliced README keeps one pair")
            .expect("the spliced README keeps its markers");
        assert_eq!(&out[..s2], &readme[..start]);
        assert_eq!(&out[e2..], &readme[end..]);
        assert_eq!(
            docs::catalog_table::splice(&out, &safe, file).ok().as_deref(),
            Some(out.as_str()),
            "splicing is idempotent"
        );
    }
    if let Ok(manual) = docs::readme::manual_section(Some(readme), file) {
        let written = format!("{}\n{MANUAL_START}{manual}{MANUAL_END}\n", safe);
        // A manual section holding a marker line is refused on the next read, never split.
        if let Ok(again) = docs::readme::manual_section(Some(&written), file) {
            assert_eq!(again, manual, "the manual section changed on a round trip");
        }
    }
}

/// The manifest splitter: deterministic; every object and parse error sits on
/// a line of the stream, and parse errors say what is wrong.
pub fn manifest_splitter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count().max(1);
    let (objects, errors) = crate::manifest::split(text);
    assert_eq!((objects.clone(), errors.clone()), crate::manifest::split(text), "splitting is deterministic");
    for o in &objects {
        assert!(o.line >= 1 && o.line <= lines + 1, "object at line {} of {lines}", o.line);
    }
    for e in &errors {
        assert!(e.line >= 1 && e.line <= lines + 1, "error at line {} of {lines}", e.line);
        assert!(!e.message.trim().is_empty());
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }
}

/// Fragments that stress a YAML or JSON reader: indicators, anchors, tags,
/// quotes, document markers, odd white space and deep brackets.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ":",
    ": ",
    "- ",
    "? ",
    ",",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!str ",
    "!!int ",
    "!custom ",
    "\"",
    "'",
    "\\",
    "#",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "\t",
    "\r\n",
    "\n  ",
    "\u{feff}",
    "\u{0}",
    "null",
    "~",
    "0x1F",
    "1e400",
    "-.inf",
    "yes",
    "\"$ref\": \"#\"",
    "\"$ref\": \"#/a\"",
    "\"type\": \"integer\"",
    "\"additionalProperties\": false",
    "\"pattern\": \"([\"",
    "\"properties\": {",
    "[[[[[[[[",
    "]]]]]]]]",
    "{\"a\": ",
    "\u{1F600}",
    "\u{2028}",
];

/// One mutation of `input`: flip, insert a token, delete, duplicate or cut.
pub fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 | 2 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, t.iter().copied());
            }
            3 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                out.drain(at.min(end)..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let piece: Vec<u8> = out[start..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// The chart files the values validator sees: `values.yaml` and a ci file when
/// given, and the schema, all under `dir` (nothing is read from disk).
fn fuzz_files(dir: &Path, schema: &str, values: Option<&str>, ci: Option<&str>) -> ChartFiles {
    let ok = |path: PathBuf, content: YamlFile| Source { path, content: Ok(content) };
    let yaml = |rel: &str, text: &str| {
        let p = dir.join(rel);
        ok(p.clone(), YamlFile::from_text(&p, text.to_owned()))
    };
    ChartFiles {
        chart_yaml: yaml("Chart.yaml", "apiVersion: v2\nname: fuzz\n"),
        values: values.map(|v| yaml("values.yaml", v)),
        ci: ci.map(|c| vec![("fuzz".to_owned(), yaml("ci/fuzz-values.yaml", c))]).unwrap_or_default(),
        ci_ignored: Vec::new(),
        values_schema: Some(Source {
            path: dir.join("values.schema.json"),
            content: Ok(JsonFile::from_text(&dir.join("values.schema.json"), schema)),
        }),
        symlink_loops: Vec::new(),
        scan: Default::default(),
        contracts: Vec::new(),
        runtime: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_is_deterministic_and_changes_input() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let seed = b"replicas: 1\nimage:\n  tag: \"1\"\n";
        let ma: Vec<Vec<u8>> = (0..50).map(|_| mutate(&mut a, seed)).collect();
        let mb: Vec<Vec<u8>> = (0..50).map(|_| mutate(&mut b, seed)).collect();
        assert_eq!(ma, mb);
        assert!(ma.iter().any(|m| m.as_slice() != seed));
    }

    #[test]
    fn the_validator_entry_point_reports_values_against_the_schema() {
        // A sanity check that the harness is wired: a wrong type is found.
        let schema = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "additionalProperties": false,
            "properties": {"replicas": {"description": "n", "type": "integer"}}}"#;
        let input = format!("{schema}\0replicas: one\n");
        values_validator(input.as_bytes());
        let dir = PathBuf::from("charts/fuzz");
        let files = fuzz_files(&dir, schema, Some("replicas: one\n"), None);
        let d = values_schema::check_files("fuzz", &dir, &files);
        assert!(d.iter().any(|d| d.rule == values_schema::RULE_VALUES), "{d:?}");
    }
}
