//! The engine's shape, checked from its sources: modules form no import cycle,
//! and each uses only its own layer and the layers below it (lowest first):
//!
//! ```text
//! base      diagnostics, YAML, models, process, cache, schemas, comparison of objects
//! adapters  the outside world: helm, git, Kubernetes schemas, files, dependencies, README sources
//! load      gathering everything about a chart once (load, render, the target branch)
//! checks    pure checks over what load gathered
//! apps      orchestration and commands (lint, report, bench, release, scaffold)
//! ```
//!
//! The graph has one node per top-level module and per `checks/*` module; its
//! edges are the `crate::` and `super::` paths of each file, outside comments,
//! string literals and `#[cfg(test)]` items (tests may reach across layers).
//! A new module gets a row in [`LAYERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module's layer, lowest first. `checks/*` is every module under `checks/`.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "diag",
            "yaml",
            "model",
            "paths",
            "fsio",
            "process",
            "closed_stdout",
            "cache",
            "values",
            "schema",
            "config",
            "lintconf",
            "rule",
            "constraint",
            "yamale",
            "manifest",
            "diff",
            "quantity",
            "helmignore",
            "runtime",
            "archive",
            "dates",
            "chart_lock",
        ],
    ),
    (
        "adapters",
        &[
            "catalog",
            "files",
            "helm",
            "provision",
            "kube",
            "kind",
            "deps",
            "vendor",
            "changed",
            "docs",
            "images",
            "tools",
            "ct_commands",
        ],
    ),
    ("load", &["load", "render", "base_tree", "helmlint"]),
    ("checks", &["checks", "checks/*"]),
    (
        "apps",
        &[
            "lint",
            "image_contract",
            "report",
            "bench",
            "release",
            "scaffold",
            "snapshot",
            "robustness",
            "stack",
            "settings",
            "rules_doc",
            "ct_cli",
            "lint_cmd",
        ],
    ),
];

fn layer_of(node: &str) -> Option<usize> {
    let pattern = if node.starts_with("checks/") { "checks/*" } else { node };
    LAYERS.iter().position(|(_, modules)| modules.contains(&pattern))
}

/// A source file: its path relative to `src/`, and its text.
struct SourceFile {
    rel: PathBuf,
    text: String,
}

fn sources(src: &Path) -> Vec<SourceFile> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<SourceFile>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text =
                    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push(SourceFile { rel: path.strip_prefix(src).expect("under src").to_owned(), text });
            }
        }
    }
    let mut out = Vec::new();
    walk(src, src, &mut out);
    out
}

fn crate_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// A Rust source with comments removed and string/char literals blanked
/// (newlines kept, so byte offsets still give line numbers), plus the
/// literals outside `#[cfg(test)]` items.
struct Lexed {
    code: String,
    strings: Vec<Literal>,
}

/// A string literal: its line, where it ends in the source (after the closing quote), its content.
#[derive(Debug, PartialEq)]
struct Literal {
    line: usize,
    end: usize,
    text: String,
}

fn lex(text: &str) -> Lexed {
    let b = text.as_bytes();
    let mut code = Vec::with_capacity(b.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    // Blank bytes [from, to) into `code`, keeping newlines.
    let blank = |code: &mut Vec<u8>, bytes: &[u8]| {
        code.extend(bytes.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
    };
    while i < b.len() {
        let c = b[i];
        let prev_ident = i > 0 && ident(b[i - 1]);
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            blank(&mut code, &b[i..end]);
            i = end;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            // Block comments nest in Rust.
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            line += b[i..j].iter().filter(|&&c| c == b'\n').count();
            blank(&mut code, &b[i..j]);
            i = j;
        } else if !prev_ident && (c == b'r' || (c == b'b' && b.get(i + 1) == Some(&b'r'))) && {
            let s = if c == b'r' { i + 1 } else { i + 2 };
            let hashes = b[s..].iter().take_while(|&&h| h == b'#').count();
            b.get(s + hashes) == Some(&b'"')
        } {
            let s = if c == b'r' { i + 1 } else { i + 2 };
            let hashes = b[s..].iter().take_while(|&&h| h == b'#').count();
            let body = s + hashes + 1;
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let end = b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |n| body + n);
            let stop = (end + close.len()).min(b.len());
            strings.push(Literal { line, end: stop, text: text[body..end].to_owned() });
            line += b[i..stop].iter().filter(|&&c| c == b'\n').count();
            blank(&mut code, &b[i..stop]);
            i = stop;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(b.len());
            let stop = (end + 1).min(b.len());
            strings.push(Literal { line, end: stop, text: text[i + 1..end].to_owned() });
            line += b[i..stop].iter().filter(|&&c| c == b'\n').count();
            blank(&mut code, &b[i..stop]);
            i = stop;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{1F}', '"'); otherwise a lifetime.
            let len = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..].iter().position(|&c| c == b'\'').map(|n| n + 3)
            } else {
                let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch) == Some(&b'\'')).then_some(ch + 2)
            };
            match len {
                Some(n) => {
                    blank(&mut code, &b[i..i + n]);
                    i += n;
                }
                None => {
                    code.push(c);
                    i += 1;
                }
            }
        } else {
            if c == b'\n' {
                line += 1;
            }
            code.push(c);
            i += 1;
        }
    }
    let mut code = String::from_utf8(code).expect("blanking keeps UTF-8 boundaries");
    let tests = blank_test_items(&mut code);
    strings.retain(|l| !tests.iter().any(|r| r.contains(&l.end)));
    Lexed { code, strings }
}

/// Blanks every `#[cfg(test)]` item (a `mod tests { … }`, a helper fn, a `use`);
/// returns their byte ranges.
fn blank_test_items(code: &mut String) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    while let Some(at) = code.find("#[cfg(test)]") {
        let rest = &code[at..];
        let brace = rest.find('{');
        let semi = rest.find(';');
        let end = match (brace, semi) {
            (Some(b), s) if s.is_none_or(|s| b < s) => {
                let mut depth = 0;
                let mut end = rest.len();
                for (k, c) in rest[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (_, Some(s)) => s + 1,
            _ => rest.len(),
        };
        let blanked: String =
            code[at..at + end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        code.replace_range(at..at + end, &blanked);
        ranges.push(at..at + end);
    }
    ranges
}

/// The module path of a file (`checks/policy/exceptions.rs` → checks, policy, exceptions).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// Every path a `crate::…` or `super::…` reference names, groups flattened
/// (`crate::{a, b::{c, self}}` → a; b::c; b), each with its byte offset.
fn referenced_paths(code: &str, module: &[String]) -> Vec<(usize, Vec<String>)> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !(ident(b[i - 1]) || b[i - 1] == b':');
        let (prefix, skip) = if at_word && code[i..].starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if at_word && code[i..].starts_with("super::") {
            let mut base = module.to_vec();
            let mut j = i;
            while code[j..].starts_with("super::") {
                base.pop();
                j += "super::".len();
            }
            (base, j - i)
        } else {
            i += 1;
            continue;
        };
        let mut pos = i + skip;
        let mut paths = Vec::new();
        parse_tree(code, &mut pos, prefix, &mut paths);
        out.extend(paths.into_iter().map(|p| (i, p)));
        i = pos.max(i + 1);
    }
    out
}

/// Parses `seg::seg::{tree, tree}` at `pos`, pushing each full path.
fn parse_tree(code: &str, pos: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let b = code.as_bytes();
    let skip_ws = |pos: &mut usize| {
        while *pos < b.len() && b[*pos].is_ascii_whitespace() {
            *pos += 1;
        }
    };
    loop {
        skip_ws(pos);
        if *pos < b.len() && b[*pos] == b'{' {
            *pos += 1;
            loop {
                skip_ws(pos);
                if *pos >= b.len() {
                    return;
                }
                if b[*pos] == b'}' {
                    *pos += 1;
                    return;
                }
                if b[*pos] == b',' {
                    *pos += 1;
                    continue;
                }
                let before = *pos;
                parse_tree(code, pos, prefix.clone(), out);
                // `as name` renames change nothing here; skip to the next item.
                while *pos < b.len() && !matches!(b[*pos], b',' | b'}') {
                    *pos += 1;
                }
                if *pos == before {
                    *pos += 1;
                }
            }
        }
        let start = *pos;
        while *pos < b.len() && (b[*pos].is_ascii_alphanumeric() || b[*pos] == b'_' || b[*pos] == b'*') {
            *pos += 1;
        }
        let seg = &code[start..*pos];
        match seg {
            "" | "*" => {
                out.push(prefix);
                return;
            }
            "self" => {}
            s => prefix.push(s.to_owned()),
        }
        skip_ws(pos);
        if code[*pos..].starts_with("::") {
            *pos += 2;
        } else {
            out.push(prefix);
            return;
        }
    }
}

/// One reference between two nodes, where it is written.
#[derive(Debug, Clone)]
struct Edge {
    file: PathBuf,
    line: usize,
    path: String,
}

/// The node a module path belongs to: its top-level module, or `checks/<name>`.
fn node_of(path: &[String], nodes: &BTreeSet<String>) -> Option<String> {
    let first = path.first()?;
    if first == "checks" && path.len() > 1 {
        let sub = format!("checks/{}", path[1]);
        if nodes.contains(&sub) {
            return Some(sub);
        }
    }
    nodes.contains(first).then(|| first.clone())
}

type Graph = BTreeMap<String, BTreeMap<String, Vec<Edge>>>;

/// The module graph of a crate's sources (paths relative to `src/`).
fn graph(files: &[SourceFile]) -> (BTreeSet<String>, Graph) {
    let nodes: BTreeSet<String> = files
        .iter()
        .map(|f| module_path(&f.rel))
        .filter(|m| !m.is_empty())
        .map(|m| if m[0] == "checks" && m.len() > 1 { format!("checks/{}", m[1]) } else { m[0].clone() })
        .collect();
    let mut g = Graph::new();
    for f in files {
        let module = module_path(&f.rel);
        let Some(from) = node_of(&module, &nodes) else { continue };
        let lexed = lex(&f.text);
        g.entry(from.clone()).or_default();
        for (offset, path) in referenced_paths(&lexed.code, &module) {
            let Some(to) = node_of(&path, &nodes) else { continue };
            if to == from {
                continue;
            }
            let line = lexed.code[..offset].matches('\n').count() + 1;
            g.entry(from.clone()).or_default().entry(to).or_default().push(Edge {
                file: f.rel.clone(),
                line,
                path: path.join("::"),
            });
        }
    }
    (nodes, g)
}

fn show(e: &Edge) -> String {
    format!("src/{}:{} `{}`", e.file.display(), e.line, e.path)
}

/// Modules with no layer, and edges that point up a layer.
fn layer_violations(nodes: &BTreeSet<String>, g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes {
        if layer_of(n).is_none() {
            out.push(format!(
                "module `{n}` has no layer: add it to LAYERS in crates/nex-harness/tests/layering.rs"
            ));
        }
    }
    for (from, tos) in g {
        let Some(lf) = layer_of(from) else { continue };
        for (to, edges) in tos {
            let Some(lt) = layer_of(to) else { continue };
            if lt > lf {
                out.push(format!(
                    "{from} ({}) uses {to} ({}), a higher layer: {}",
                    LAYERS[lf].0,
                    LAYERS[lt].0,
                    edges.iter().map(show).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    out
}

/// Every import cycle, as its strongly connected component and the edges inside it.
fn cycles(g: &Graph) -> Vec<String> {
    // Tarjan's algorithm; the graph is small, recursion is fine.
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let g = s.g;
        for w in g.get(v).into_iter().flat_map(|m| m.keys()) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.components.push(component);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.components
        .iter()
        .map(|c| {
            let mut lines = vec![format!("import cycle among {}:", c.join(", "))];
            for from in c {
                for (to, edges) in &g[*from] {
                    if c.contains(&to.as_str()) {
                        lines.push(format!(
                            "  {from} -> {to}: {}",
                            edges.iter().map(show).collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
            }
            lines.join("\n")
        })
        .collect()
}

#[test]
fn modules_form_no_cycle_and_respect_their_layers() {
    let files = sources(&crate_src());
    let (nodes, g) = graph(&files);
    assert!(
        nodes.contains("load") && nodes.contains("checks/policy"),
        "the walk found the modules: {nodes:?}"
    );
    assert!(g.values().map(BTreeMap::len).sum::<usize>() > 50, "the graph has the crate's edges");
    let mut problems = cycles(&g);
    problems.extend(layer_violations(&nodes, &g));
    assert!(problems.is_empty(), "the engine's layering is broken:\n{}", problems.join("\n"));
}

#[test]
fn a_cycle_and_an_upward_edge_are_reported_with_their_lines() {
    let file = |rel: &str, text: &str| SourceFile { rel: rel.into(), text: text.into() };
    let files = [
        file("lib.rs", "pub mod load;\npub mod yaml;\npub mod checks;\n"),
        // An upward use, and one hidden in a comment, a string and a test (not edges).
        file(
            "yaml.rs",
            "// crate::checks::x\nfn f() { let _ = \"crate::load\"; }\nuse crate::{diag, load::{self, Loaded}};\n\
             #[cfg(test)]\nmod tests { use crate::checks::policy::x; }\n",
        ),
        file("load.rs", "use crate::yaml::Node;\n"),
        file("checks/mod.rs", "pub mod policy;\n"),
        file("checks/policy.rs", "pub mod exceptions;\n"),
        // `super::super` from checks/policy/exceptions.rs is `checks`; `super::super::super` the crate.
        file("checks/policy/exceptions.rs", "use super::super::super::load::Thing;\nuse super::Rules;\n"),
    ];
    let (nodes, g) = graph(&files);
    assert_eq!(
        nodes.iter().map(String::as_str).collect::<Vec<_>>(),
        ["checks", "checks/policy", "load", "yaml"]
    );
    assert_eq!(g["yaml"].keys().collect::<Vec<_>>(), ["load"], "{g:?}");
    assert_eq!(g["yaml"]["load"][0].line, 3);
    assert_eq!(g["checks/policy"].keys().collect::<Vec<_>>(), ["load"]);
    let found = cycles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("load -> yaml: src/load.rs:1 `yaml::Node`"), "{}", found[0]);
    assert!(found[0].contains("yaml -> load: src/yaml.rs:3 `load`"), "{}", found[0]);
    let upward = layer_violations(&nodes, &g);
    assert_eq!(upward.len(), 1, "{upward:?}");
    assert!(
        upward[0].starts_with("yaml (base) uses load (load), a higher layer: src/yaml.rs:3"),
        "{}",
        upward[0]
    );
}

#[test]
fn the_lexer_keeps_code_and_drops_comments_strings_and_chars() {
    let l = lex(
        "let a = '\"'; // crate::x\nlet b = r#\"crate::y \"# ; /* crate::z /* nested */ */ crate::w;\nfn f<'a>() {}",
    );
    assert!(
        !l.code.contains("crate::x") && !l.code.contains("crate::y") && !l.code.contains("crate::z"),
        "{}",
        l.code
    );
    assert!(l.code.contains("crate::w") && l.code.contains("fn f<'a>()"), "{}", l.code);
    assert_eq!(l.code.lines().count(), 3);
    let strings: Vec<_> = l.strings.iter().map(|s| (s.line, s.text.as_str())).collect();
    assert_eq!(strings, [(2, "crate::y ")]);
}

/// Files that may name Chart.yaml besides the model and its readers, and why.
/// An entry that no longer names it fails the test, so the list stays short.
const CHART_YAML_ALLOWED: &[(&str, &str)] = &[
    ("crates/nex-harness/src/model.rs", "the model: ChartMeta and the file's name"),
    ("crates/nex-harness/src/files.rs", "files::read_chart_meta, for code that runs without the loader"),
    ("crates/nex-harness/src/load.rs", "the loader reads it once with the chart's other files"),
    (
        "crates/nex-harness/src/changed.rs",
        "the target branch's copy comes from `git show`; parsed by ChartMeta::parse",
    ),
    ("crates/nex-harness/src/archive.rs", "finds the packaged Chart.yaml inside helm's archive"),
    ("crates/nex-harness/src/chart_lock.rs", "helm's lock digest over a Chart.yaml text it is handed"),
    (
        "crates/nex-harness/src/release/package.rs",
        "parses the packaged copy (helm's output) with ChartMeta::parse",
    ),
    ("crates/nex-harness/src/scaffold.rs", "writes a new chart's Chart.yaml"),
    (
        "crates/nex-harness/src/helmlint.rs",
        "names a vendored dependency by the Chart.yaml inside its archive, as helm lint does",
    ),
    ("crates/nex-harness/src/bench/mod.rs", "writes the generated many-keys chart"),
    (
        "crates/nex-harness/src/release/published_deps.rs",
        "rewrites the packaged Chart.yaml and Chart.lock inside helm's archive",
    ),
    (
        "crates/nex-harness/src/release/image_owner.rs",
        "`package --image-owner` rewrites the packaged Chart.yaml's image references inside the archive",
    ),
    (
        "crates/nex-harness/src/image_contract.rs",
        "`images --update` rewrites the artifacthub.io/images annotation in Chart.yaml",
    ),
    ("crates/nex-harness/src/catalog.rs", "discovery: the path of a chart folder's missing Chart.yaml"),
    (
        "crates/nex-harness/src/bench/baseline.rs",
        "hands the file to yamale and yamllint, the ct pipeline measured",
    ),
    ("crates/nex-harness/src/bench/catalog.rs", "renames the copies of a generated catalog"),
    ("crates/nex-harness/src/robustness.rs", "fuzzing builds a chart's files from text"),
    (
        "crates/nex-harness/src/stack/file.rs",
        "names what stands at a release's chart path (a FIFO Chart.yaml is not a missing chart)",
    ),
];

/// Where a source names Chart.yaml as a path (`"Chart.yaml"`, `".../Chart.yaml"`,
/// `CHART_YAML`) outside `#[cfg(test)]`; an existence test
/// (`.join("Chart.yaml").is_file()`) reads nothing and is not counted.
fn chart_yaml_mentions(text: &str) -> Vec<usize> {
    let lexed = lex(text);
    let mut lines: Vec<usize> = lexed
        .strings
        .iter()
        .filter(|l| l.text == "Chart.yaml" || l.text.ends_with("/Chart.yaml"))
        .filter(|l| !lexed.code[l.end..].starts_with(").is_file()"))
        .map(|l| l.line)
        .collect();
    let code = &lexed.code;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (at, _) in code.match_indices("CHART_YAML") {
        let before = code[..at].chars().next_back().is_some_and(ident);
        let after = code[at + "CHART_YAML".len()..].chars().next().is_some_and(ident);
        if !before && !after && !code[at..].starts_with("CHART_YAML).is_file()") {
            lines.push(code[..at].matches('\n').count() + 1);
        }
    }
    lines.sort();
    lines
}

#[test]
fn only_the_model_and_its_readers_open_chart_yaml() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for dir in ["crates/nex-harness/src", "xtask/src"] {
        for f in sources(&workspace.join(dir)) {
            let name = format!("{dir}/{}", f.rel.display());
            let lines = chart_yaml_mentions(&f.text);
            if !lines.is_empty() {
                found.insert(name, lines);
            }
        }
    }
    let mut problems = Vec::new();
    for (file, lines) in &found {
        if !CHART_YAML_ALLOWED.iter().any(|(f, _)| f == file) {
            problems.push(format!(
                "{file}:{} names Chart.yaml: take a ChartMeta (from the loader, or files::read_chart_meta) instead",
                lines.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
            ));
        }
    }
    for (file, why) in CHART_YAML_ALLOWED {
        if !found.contains_key(*file) {
            problems.push(format!(
                "{file} no longer names Chart.yaml ({why}): remove it from CHART_YAML_ALLOWED"
            ));
        }
    }
    assert!(problems.is_empty(), "Chart.yaml is read outside the model:\n{}", problems.join("\n"));
}

#[test]
fn reads_of_chart_yaml_are_found_and_existence_tests_and_prose_are_not() {
    let text = "fn a(d: &Path) { let _ = std::fs::read_to_string(d.join(\"Chart.yaml\")); }\n\
        fn b(d: &Path) -> bool { d.join(\"Chart.yaml\").is_file() }\n\
        fn c() -> &'static str { \"the chart has no Chart.yaml\" }\n\
        fn d(d: &Path) { let _ = YamlFile::read(&d.join(CHART_YAML)); let _ = MY_CHART_YAML; }\n\
        fn e() { let _ = \"x/Chart.yaml\"; }\n\
        #[cfg(test)]\nmod tests { fn f() { std::fs::write(\"Chart.yaml\", \"\").unwrap(); } }\n";
    assert_eq!(chart_yaml_mentions(text), [1, 4, 5]);
}

/// The ways to open, write, rename or delete a file. Outside the I/O module
/// (`src/fsio.rs`) none may appear in the sources, tests aside: every read is
/// capped and regular-files-only, every write atomic and confined, every
/// removal inside its root.
const FILE_ACCESS: &[&str] = &[
    "fs::read(",
    "fs::read_to_string(",
    "fs::write(",
    "fs::copy(",
    "fs::rename(",
    "fs::remove_file(",
    "fs::remove_dir(",
    "fs::remove_dir_all(",
    "fs::hard_link(",
    "fs::symlink(",
    "File::open(",
    "File::create(",
    "File::create_new(",
    "File::options(",
    "OpenOptions",
    "NamedTempFile",
    ".tempfile_in(",
    ".tempfile(",
    ".persist(",
];

/// Files that may still touch files directly, and why. An entry that no longer
/// does fails the test, so the list stays short.
const FILE_ACCESS_ALLOWED: &[(&str, &str)] = &[("crates/nex-harness/src/fsio.rs", "the I/O module itself")];

/// Each forbidden call of a source, outside comments, strings and `#[cfg(test)]` items: (line, call).
fn file_access(text: &str) -> Vec<(usize, &'static str)> {
    let lexed = lex(text);
    let mut out = Vec::new();
    for pattern in FILE_ACCESS {
        for (at, _) in lexed.code.match_indices(pattern) {
            out.push((lexed.code[..at].matches('\n').count() + 1, *pattern));
        }
    }
    out.sort();
    out
}

#[test]
fn files_are_read_and_written_only_through_the_io_module() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found: BTreeMap<String, Vec<(usize, &str)>> = BTreeMap::new();
    for dir in ["crates/nex-harness/src", "xtask/src"] {
        for f in sources(&workspace.join(dir)) {
            let calls = file_access(&f.text);
            if !calls.is_empty() {
                found.insert(format!("{dir}/{}", f.rel.display()), calls);
            }
        }
    }
    let mut problems = Vec::new();
    for (file, calls) in &found {
        if !FILE_ACCESS_ALLOWED.iter().any(|(f, _)| f == file) {
            for (line, call) in calls {
                problems.push(format!(
                    "{file}:{line} calls `{call}`: read, write, rename and remove files through nex_harness::fsio"
                ));
            }
        }
    }
    for (file, why) in FILE_ACCESS_ALLOWED {
        if !found.contains_key(*file) {
            problems.push(format!(
                "{file} no longer touches files directly ({why}): remove it from FILE_ACCESS_ALLOWED"
            ));
        }
    }
    assert!(problems.is_empty(), "files are touched outside the I/O module:\n{}", problems.join("\n"));
}

#[test]
fn file_access_is_found_and_comments_strings_and_tests_are_not() {
    let text = "fn a() { let _ = std::fs::read_to_string(\"x\"); }\n\
        // std::fs::write(\"x\", \"\")\n\
        fn b() -> &'static str { \"fs::remove_dir_all(\" }\n\
        fn c(p: &Path) { let f = File::open(p); let t = tempfile::NamedTempFile::new(); }\n\
        #[cfg(test)]\nmod tests { fn f() { std::fs::write(\"Chart.yaml\", \"\").unwrap(); } }\n";
    assert_eq!(file_access(text), [(1, "fs::read_to_string("), (4, "File::open("), (4, "NamedTempFile")]);
}
