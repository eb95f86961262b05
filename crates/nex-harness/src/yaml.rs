//! Positioned YAML: a document tree that remembers where every key and value
//! came from (1-based line and column), built from `saphyr-parser` events.
//!
//! Scalars resolve the way Helm reads values (YAML 1.2 core schema plus the
//! YAML 1.1 booleans `yes`/`no`/`on`/`off`, which Helm's parser still honours),
//! so JSON Schema validation sees what Helm sees (numbers follow YAML 1.2:
//! `010` is ten, not YAML 1.1's octal eight). Duplicate keys are recorded,
//! not fatal (the later value wins, as in Helm), so the caller can report them.
//! Anchors, aliases and `<<` merge keys are expanded; expansion is bounded so a
//! hostile file cannot exhaust memory.
//!
//! ```
//! use nex_harness::yaml;
//! let doc = yaml::parse("image:\n  tag: \"1.0\"\nreplicas: 2\n").unwrap();
//! let root = doc.root().unwrap();
//! assert_eq!(root.to_json()["replicas"], 2);
//! // Where a value is, by JSON pointer (as JSON Schema errors name it):
//! let (tag, key) = root.locate("/image/tag").unwrap();
//! assert_eq!((tag.span.start.line, tag.span.start.column), (2, 8));
//! assert_eq!(key.unwrap().start.column, 3);
//! ```

use saphyr_parser::{Event, Parser, ScalarStyle, Span as RawSpan};
use std::collections::HashMap;

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A source range: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    fn from_raw(s: &RawSpan) -> Self {
        let p = |m: &saphyr_parser::Marker| Pos { line: m.line(), column: m.col() + 1 };
        Span { start: p(&s.start), end: p(&s.end) }
    }
}

/// A syntax (or resource) error, with the place the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl YamlError {
    /// The input is over one of the parse bounds (expansion, nesting), not
    /// merely malformed: other YAML readers (helm) may not stop in time on it.
    pub fn is_over_limit(&self) -> bool {
        self.message.ends_with("after alias expansion") || self.message.starts_with("nesting deeper than")
    }
}

/// How a node was written; checks that care about spelling (quoting, flow
/// style, the YAML 1.1 booleans) read this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    /// A plain (unquoted) scalar, with its text as written.
    Plain(String),
    SingleQuoted,
    DoubleQuoted,
    /// A `|` or `>` block scalar.
    BlockScalar,
    /// `{...}` or `[...]`.
    Flow,
    /// An indented (block) mapping or sequence.
    Indented,
}

impl Style {
    pub fn is_quoted(&self) -> bool {
        matches!(self, Style::SingleQuoted | Style::DoubleQuoted)
    }
    pub fn is_block_collection(&self) -> bool {
        matches!(self, Style::Indented)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub style: Style,
}

/// A mapping entry. Keys are strings (a non-string scalar key is kept as written).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    /// How the key was written (plain text, quoted…).
    pub key_style: Style,
    pub value: Node,
}

/// A key that appears twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    pub first: Span,
    pub second: Span,
}

/// A parsed file: its documents (usually one) and what the parser noticed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Yaml {
    /// One root node per document; empty for an empty (or comment-only) file.
    pub docs: Vec<Node>,
    pub duplicates: Vec<Duplicate>,
}

impl Yaml {
    /// The first document, as Helm reads a values file.
    pub fn root(&self) -> Option<&Node> {
        self.docs.first()
    }
}

/// Bounds that keep a parse cheap whatever the input. Aliases are expanded in
/// place, so a small file can stand for a huge tree: both the nodes and the
/// text bytes (scalars and keys) of the expanded tree are bounded, since a few
/// long strings aliased many times are as costly as many small nodes.
pub const MAX_NODES: usize = 250_000;
/// The most scalar and key bytes a document may hold after alias expansion.
pub const MAX_EXPANDED_BYTES: usize = 16 * 1024 * 1024;
const MAX_DEPTH: usize = 256;

/// Reads and parses a file: at most `max_bytes`, UTF-8 (a bad byte is
/// reported at its line and column), then [`parse`]. An empty or
/// comment-only file is not an error: it has no documents.
pub fn read(path: &std::path::Path, max_bytes: u64) -> Result<Yaml, YamlError> {
    let at_start = |message: String| YamlError { line: 1, column: 1, message };
    let bytes = crate::fsio::read_capped(path, max_bytes).map_err(|e| match e {
        crate::fsio::FileError::TooLarge { size, .. } => {
            at_start(format!("file is {size} bytes, over the {max_bytes}-byte limit"))
        }
        e => at_start(format!("cannot read {}: {e}", path.display())),
    })?;
    parse_bytes(&bytes)
}

/// [`parse`] over raw bytes, refusing non-UTF-8 input with the place of the first bad byte.
pub fn parse_bytes(bytes: &[u8]) -> Result<Yaml, YamlError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            Err(YamlError {
                line: good.matches('\n').count() + 1,
                column: good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                message: "not UTF-8 text".into(),
            })
        }
    }
}

/// Parses every document in `text`.
pub fn parse(text: &str) -> Result<Yaml, YamlError> {
    let mut b = Builder { text, ..Builder::default() };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            b.error_at(m.line(), m.col() + 1, e.info().to_owned())
        })?;
        b.event(event, &span)?;
    }
    Ok(Yaml { docs: b.docs, duplicates: b.duplicates })
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
    },
    /// `index` finds an entry by key, so building a map of n keys costs n
    /// lookups, not n² comparisons (duplicates and merge keys need the lookup).
    Map {
        entries: Vec<Entry>,
        merged: Vec<bool>,
        index: HashMap<String, usize>,
        key: Option<Node>,
        start: Span,
        anchor: usize,
    },
}

#[derive(Default)]
struct Builder<'t> {
    text: &'t str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
    duplicates: Vec<Duplicate>,
    nodes: usize,
    /// Scalar and key bytes so far, aliases expanded.
    bytes: usize,
    /// Byte offset of each line, built on first need.
    line_starts: Vec<usize>,
}

impl Builder<'_> {
    /// Errors past the end (an unclosed flow at EOF) are moved onto the last line.
    fn error_at(&self, line: usize, column: usize, message: String) -> YamlError {
        let lines = self.text.lines().count().max(1);
        if line > lines {
            let last = self.text.lines().last().unwrap_or("");
            return YamlError { line: lines, column: last.chars().count() + 1, message };
        }
        YamlError { line, column, message }
    }

    /// The place just after the quote closing the scalar that opens at `start`.
    fn closing_quote(&mut self, start: Pos, double: bool) -> Option<Pos> {
        if self.line_starts.is_empty() {
            self.line_starts =
                std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        }
        let offset = *self.line_starts.get(start.line.checked_sub(1)?)?;
        let (mut line, mut col) = (start.line, start.column);
        let mut chars = self.text[offset..].chars().skip(start.column - 1).peekable();
        // Skip an anchor or tag written before the quote.
        while let Some(&c) = chars.peek() {
            if c == '"' || c == '\'' {
                break;
            }
            chars.next();
            col += 1;
            if c == '\n' {
                return None;
            }
        }
        let quote = chars.next()?;
        col += 1;
        while let Some(c) = chars.next() {
            col += 1;
            match c {
                '\n' => {
                    line += 1;
                    col = 1;
                }
                '\\' if double => {
                    if chars.next() == Some('\n') {
                        line += 1;
                        col = 1;
                    } else {
                        col += 1;
                    }
                }
                c if c == quote => {
                    if !double && chars.peek() == Some(&'\'') {
                        chars.next();
                        col += 1;
                    } else {
                        return Some(Pos { line, column: col });
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn count(&mut self, n: usize, bytes: usize, span: &Span) -> Result<(), YamlError> {
        self.nodes += n;
        self.bytes += bytes;
        let message = if self.nodes > MAX_NODES {
            format!("more than {MAX_NODES} nodes after alias expansion")
        } else if self.bytes > MAX_EXPANDED_BYTES {
            format!("more than {MAX_EXPANDED_BYTES} bytes of text after alias expansion")
        } else {
            return Ok(());
        };
        Err(YamlError { line: span.start.line, column: span.start.column, message })
    }

    fn event(&mut self, event: Event<'_>, raw: &RawSpan) -> Result<(), YamlError> {
        let span = Span::from_raw(raw);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, text.len(), &span)?;
                let tag = tag.map(|t| t.suffix.clone());
                let mut span = span;
                if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
                    // The parser's end of a quoted scalar can run on to the end of the line
                    // (over a trailing comment); find the closing quote instead.
                    if let Some(end) = self.closing_quote(span.start, style == ScalarStyle::DoubleQuoted) {
                        span.end = end;
                    }
                }
                let node = scalar(&text, style, tag.as_deref(), span);
                self.finish(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(mut node) = self.anchors.get(&id).cloned() else {
                    return Err(YamlError {
                        line: span.start.line,
                        column: span.start.column,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                self.count(size(&node), text_bytes(&node), &span)?;
                // The alias stands where it is written; its content keeps the anchor's places.
                node.span = span;
                self.finish(node, 0)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.depth(&span)?;
                self.stack.push(Frame::Seq { items: Vec::new(), start: span, anchor });
            }
            Event::MappingStart(anchor, _) => {
                self.depth(&span)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    merged: Vec::new(),
                    index: HashMap::new(),
                    key: None,
                    start: span,
                    anchor,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let flow = raw.start != raw.end;
                let (value, start, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, start, anchor }) => (Value::Seq(items), start, anchor),
                    Some(Frame::Map { entries, start, anchor, .. }) => (Value::Map(entries), start, anchor),
                    None => return Ok(()),
                };
                self.count(1, 0, &span)?;
                let style = if flow { Style::Flow } else { Style::Indented };
                let end = if flow { span.end } else { span.start };
                let node = Node { value, span: Span { start: start.start, end }, style };
                self.finish(node, anchor)?;
            }
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn depth(&self, span: &Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                line: span.start.line,
                column: span.start.column,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    /// Hands a finished node to its parent (or makes it a document root).
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { key: key @ None, .. }) => *key = Some(node),
            Some(Frame::Map { entries, merged, index, key, .. }) => {
                let Some(k) = key.take() else { return Ok(()) };
                let key_style = k.style.clone();
                let key_text = key_string(&k);
                if key_text == "<<" && matches!(key_style, Style::Plain(_)) {
                    merge_into(entries, merged, index, node);
                    return Ok(());
                }
                let entry = Entry { key: key_text, key_span: k.span, key_style, value: node };
                match index.get(&entry.key).copied() {
                    Some(i) if merged[i] => {
                        entries[i] = entry;
                        merged[i] = false;
                    }
                    Some(i) => {
                        self.duplicates.push(Duplicate {
                            key: entry.key.clone(),
                            first: entries[i].key_span,
                            second: entry.key_span,
                        });
                        entries[i] = entry;
                    }
                    None => {
                        index.insert(entry.key.clone(), entries.len());
                        entries.push(entry);
                        merged.push(false);
                    }
                }
            }
        }
        Ok(())
    }
}

/// `<<: *base` (or a list of them): keys not yet set are taken from the merged maps.
fn merge_into(
    entries: &mut Vec<Entry>,
    merged: &mut Vec<bool>,
    index: &mut HashMap<String, usize>,
    source: Node,
) {
    let maps = match source.value {
        Value::Map(m) => vec![m],
        Value::Seq(items) => items
            .into_iter()
            .filter_map(|n| match n.value {
                Value::Map(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for map in maps {
        for e in map {
            if !index.contains_key(&e.key) {
                index.insert(e.key.clone(), entries.len());
                entries.push(e);
                merged.push(true);
            }
        }
    }
}

fn size(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(size).sum(),
        Value::Map(entries) => entries.iter().map(|e| 1 + size(&e.value)).sum(),
        _ => 0,
    }
}

/// The scalar and key bytes of a tree (what an alias to it adds).
fn text_bytes(node: &Node) -> usize {
    match &node.value {
        Value::Str(s) => s.len(),
        Value::Seq(items) => items.iter().map(text_bytes).sum(),
        Value::Map(entries) => entries.iter().map(|e| e.key.len() + text_bytes(&e.value)).sum(),
        _ => match &node.style {
            Style::Plain(raw) => raw.len(),
            _ => 0,
        },
    }
}

fn key_string(k: &Node) -> String {
    match &k.value {
        Value::Str(s) => s.clone(),
        Value::Null => match &k.style {
            Style::Plain(raw) => raw.clone(),
            _ => String::new(),
        },
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => match &k.style {
            Style::Plain(raw) => raw.clone(),
            _ => scalar_text(&k.value),
        },
        other => serde_json::to_string(&to_json_value(other)).unwrap_or_default(),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
        _ => String::new(),
    }
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&str>, span: Span) -> Node {
    let (value, style) = match style {
        ScalarStyle::Plain => (resolve_plain(text, tag), Style::Plain(text.to_owned())),
        ScalarStyle::SingleQuoted => (tagged_str(text, tag), Style::SingleQuoted),
        ScalarStyle::DoubleQuoted => (tagged_str(text, tag), Style::DoubleQuoted),
        _ => (tagged_str(text, tag), Style::BlockScalar),
    };
    Node { value, span, style }
}

fn tagged_str(text: &str, tag: Option<&str>) -> Value {
    match tag {
        Some("int" | "float" | "bool" | "null") => resolve_plain(text, None),
        _ => Value::Str(text.to_owned()),
    }
}

/// YAML 1.2 core schema resolution of a plain scalar, plus YAML 1.1 booleans.
fn resolve_plain(text: &str, tag: Option<&str>) -> Value {
    if tag == Some("str") {
        return Value::Str(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = truthy(text) {
        return Value::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if let Some(f) = parse_float(text) {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

/// The boolean a spelling means to a YAML 1.1 parser (Helm's), if any.
pub fn truthy(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -magnitude } else { magnitude })
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // [-+]? ( . digits | digits [ . digits? ] ) ( [eE] [-+]? digits )?
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i > int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits |= i > frac;
    }
    if !digits {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let exp = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    text.parse().ok()
}

impl Node {
    /// The node as JSON (what a JSON Schema validator reads). Non-finite
    /// floats, which JSON cannot hold, become their YAML spelling.
    pub fn to_json(&self) -> serde_json::Value {
        to_json_value(&self.value)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    /// The entry for `key` when this node is a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|e| e.key == key)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The node at an RFC 6901 JSON pointer (`""` is this node).
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        self.locate(pointer).map(|(n, _)| n)
    }

    /// The node at a JSON pointer and, when it is a mapping value, the span of its key.
    pub fn locate(&self, pointer: &str) -> Option<(&Node, Option<Span>)> {
        let mut node = self;
        let mut key = None;
        for token in pointer_tokens(pointer)? {
            match &node.value {
                Value::Map(entries) => {
                    let e = entries.iter().find(|e| e.key == token)?;
                    key = Some(e.key_span);
                    node = &e.value;
                }
                Value::Seq(items) => {
                    node = items.get(token.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((node, key))
    }

    /// Like [`Node::locate`], but when the path leaves the tree, the deepest
    /// node on the way (the closest place a human would look).
    pub fn locate_nearest(&self, pointer: &str) -> (&Node, Option<Span>) {
        let mut node = self;
        let mut key = None;
        for token in pointer_tokens(pointer).unwrap_or_default() {
            let next = match &node.value {
                Value::Map(entries) => {
                    entries.iter().find(|e| e.key == token).map(|e| (&e.value, Some(e.key_span)))
                }
                Value::Seq(items) => {
                    token.parse::<usize>().ok().and_then(|i| items.get(i)).map(|n| (n, None))
                }
                _ => None,
            };
            match next {
                Some((n, k)) => {
                    node = n;
                    key = k;
                }
                None => break,
            }
        }
        (node, key)
    }

    /// Visits this node and every node below it, with its JSON pointer.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&str, &'a Node, Option<&'a Entry>)) {
        let mut path = String::new();
        walk(self, None, &mut path, f);
    }
}

fn walk<'a>(
    node: &'a Node,
    entry: Option<&'a Entry>,
    path: &mut String,
    f: &mut dyn FnMut(&str, &'a Node, Option<&'a Entry>),
) {
    f(path, node, entry);
    let len = path.len();
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                path.push('/');
                path.push_str(&escape_token(&e.key));
                walk(&e.value, Some(e), path, f);
                path.truncate(len);
            }
        }
        Value::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                path.push('/');
                path.push_str(&i.to_string());
                walk(n, None, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Splits an RFC 6901 pointer into unescaped tokens; `None` if malformed.
pub fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// JSON pointer of a key below a pointer.
pub fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", escape_token(key))
}

/// A pointer as a dotted path for messages (`/image/tag` → `image.tag`, `/a/0` → `a[0]`).
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for t in pointer_tokens(pointer).unwrap_or_default() {
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{t}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&t);
        }
    }
    if out.is_empty() { "(top level)".into() } else { out }
}

/// `message` prefixed with the dotted path it concerns (nothing at the top level).
pub fn prefixed(pointer: &str, message: &str) -> String {
    if pointer.is_empty() { message.to_owned() } else { format!("{}: {message}", dotted(pointer)) }
}

fn to_json_value(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or_else(|| {
            J::String(if f.is_nan() {
                ".nan".into()
            } else if *f > 0.0 {
                ".inf".into()
            } else {
                "-.inf".into()
            })
        }),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
        Value::Map(entries) => {
            J::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_json())).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        parse(text).unwrap().docs.into_iter().next().unwrap()
    }

    #[test]
    fn positions_of_keys_and_values_are_one_based() {
        let r = root("a: 1\nb:\n  c: \"x\"\n");
        let (c, key) = r.locate("/b/c").unwrap();
        assert_eq!(c.span.start, Pos { line: 3, column: 6 });
        assert_eq!(key.unwrap().start, Pos { line: 3, column: 3 });
        assert!(c.style.is_quoted());
        assert_eq!(r.pointer("/b").unwrap().span.start, Pos { line: 3, column: 3 });
    }

    #[test]
    fn scalars_resolve_like_helm() {
        let r = root("a: yes\nb: 'yes'\nc: 010\nd: 1.5\ne: ~\nf: 0x1f\ng: 1e3\nh: 1.2.3\ni: -7\n");
        let j = r.to_json();
        assert_eq!(j["a"], true);
        assert_eq!(j["b"], "yes");
        assert_eq!(j["c"], 10);
        assert_eq!(j["d"], 1.5);
        assert!(j["e"].is_null());
        assert_eq!(j["f"], 31);
        assert_eq!(j["g"], 1000.0);
        assert_eq!(j["h"], "1.2.3");
        assert_eq!(j["i"], -7);
    }

    #[test]
    fn quoted_scalars_end_at_their_closing_quote() {
        let r = root("a: \"x\\\"y\" # c\nb: 'it''s' # d\n");
        assert_eq!(r.get("a").unwrap().span.end, Pos { line: 1, column: 10 });
        assert_eq!(r.get("b").unwrap().span.end, Pos { line: 2, column: 11 });
    }

    #[test]
    fn duplicates_are_recorded_and_the_later_wins() {
        let y = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(y.duplicates.len(), 1);
        assert_eq!(y.duplicates[0].first.start.line, 1);
        assert_eq!(y.duplicates[0].second.start.line, 3);
        assert_eq!(y.root().unwrap().to_json()["a"], 3);
    }

    #[test]
    fn anchors_aliases_and_merge_keys_expand() {
        let r = root("base: &b {x: 1, y: 2}\ncopy: *b\nmerged:\n  <<: *b\n  y: 3\n");
        let j = r.to_json();
        assert_eq!(j["copy"]["x"], 1);
        assert_eq!(j["merged"]["x"], 1);
        assert_eq!(j["merged"]["y"], 3);
        assert_eq!(r.get("base").unwrap().style, Style::Flow);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("alias expansion"), "{e}");
    }

    #[test]
    fn long_strings_aliased_many_times_are_refused_by_bytes() {
        // 100 KB once, aliased 27 000 times: few nodes, gigabytes of text.
        let mut text = format!("big: &s \"{}\"\nrefs: [", "x".repeat(100_000));
        for _ in 0..27_000 {
            text.push_str("*s, ");
        }
        text.push_str("]\n");
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("bytes of text after alias expansion"), "{e}");
        assert_eq!(e.line, 2, "{e}");
        // Below the bound the same shape parses.
        assert!(parse("big: &s \"abc\"\nrefs: [*s, *s]\n").is_ok());
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = parse("a: 1\nb: [1,\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("a:\n\tb: 1\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 2));
        assert!(e.message.contains("tab"));
    }

    #[test]
    fn bytes_and_files_are_checked_before_parsing() {
        let e = parse_bytes(b"a: 1\nb: \xff\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 4));
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("big.yaml");
        std::fs::write(&p, "a: 1\n".repeat(100)).unwrap();
        assert!(read(&p, 10).unwrap_err().message.contains("limit"));
        assert_eq!(read(&p, 1000).unwrap().root().unwrap().to_json()["a"], 1);
        assert!(read(&tmp.path().join("none"), 10).is_err());
    }

    #[test]
    fn multi_document_and_empty_files() {
        let y = parse("# only a comment\n").unwrap();
        assert!(y.docs.is_empty());
        let y = parse("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(y.docs.len(), 2);
        assert_eq!(y.root().unwrap().to_json()["a"], 1);
    }

    #[test]
    fn pointers_escape_and_nearest_falls_back() {
        let r = root("a/b:\n  c~d: [1, 2]\n");
        assert_eq!(r.pointer("/a~1b/c~0d/1").unwrap().to_json(), 2);
        let (n, _) = r.locate_nearest("/a~1b/missing/deeper");
        assert_eq!(n.span.start.line, 2);
        assert_eq!(dotted("/a/0/b"), "a[0].b");
    }
}
