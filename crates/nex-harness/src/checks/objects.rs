//! Shared by the checks on rendered objects: where the pod spec of a workload
//! is, its containers, and how a finding in an object is turned into a
//! diagnostic that names the template, the object and the JSON path.

use crate::diag::{Diagnostic, Location, Severity};
use crate::load::{self, LoadedChart};
use crate::manifest::Object;
use serde_json::Value;

/// A finding on one rendered object, before exceptions are applied.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// JSON pointer inside the object (`/spec/template/spec/containers/0/image`).
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Finding {
    pub fn error(rule: impl Into<&'static str>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(
        rule: impl Into<&'static str>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self { severity: Severity::Warning, ..Self::error(rule, path, message) }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The pod spec of a workload and its JSON pointer, for every kind that runs pods.
pub fn pod_spec(obj: &Object) -> Option<(&Value, &'static str)> {
    let pointer = match obj.kind() {
        "Pod" => "/spec",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "ReplicationController" => {
            "/spec/template/spec"
        }
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    };
    obj.value.pointer(pointer).filter(|v| v.is_object()).map(|v| (v, pointer))
}

/// The pod template's metadata (where AppArmor annotations live).
pub fn pod_metadata(obj: &Object) -> (Option<&Value>, &'static str) {
    let pointer = match obj.kind() {
        "Pod" => "/metadata",
        "CronJob" => "/spec/jobTemplate/spec/template/metadata",
        _ => "/spec/template/metadata",
    };
    (obj.value.pointer(pointer), pointer)
}

/// One container of a pod spec.
pub struct Container<'a> {
    pub value: &'a Value,
    /// JSON pointer of the container.
    pub path: String,
    /// `container "web"`, `init container "setup"`.
    pub label: String,
    pub init: bool,
    pub ephemeral: bool,
}

pub fn containers<'a>(spec: &'a Value, spec_path: &str) -> Vec<Container<'a>> {
    let mut out = Vec::new();
    for (field, what) in [
        ("initContainers", "init container"),
        ("containers", "container"),
        ("ephemeralContainers", "ephemeral container"),
    ] {
        for (i, c) in spec.get(field).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            out.push(Container {
                value: c,
                path: format!("{spec_path}/{field}/{i}"),
                label: format!("{what} \"{name}\""),
                init: field == "initContainers",
                ephemeral: field == "ephemeralContainers",
            });
        }
    }
    out
}

/// A finding in an object as a diagnostic at the object's template.
pub fn diagnostic(loaded: &LoadedChart, obj: &Object, scenario: &str, f: &Finding) -> Diagnostic {
    let mut d =
        Diagnostic::new(f.rule, f.severity, &loaded.chart.name, format!("{}: {}", obj.id(), f.message))
            .scenario(scenario);
    if let Some(h) = &f.hint {
        d = d.hint(h.clone());
    }
    if let Some(loc) = location(loaded, obj, &f.path) {
        d = d.at(loc);
    }
    d
}

/// The template an object came from and, when the template names it once, the
/// line of the deepest key of `path` (a best effort: a key written by a helper
/// or repeated in the template gives the file alone).
pub fn location(loaded: &LoadedChart, obj: &Object, path: &str) -> Option<Location> {
    let source = obj.source.as_deref()?;
    let file = load::source_path(&loaded.chart, &loaded.local_dependencies, source)?;
    let whole = loaded.templates.get(&file).map(String::as_str).unwrap_or("");
    let text = document_of(loaded, obj, whole);
    // Lines before the object's document in the template.
    let base = whole[..text.as_ptr() as usize - whole.as_ptr() as usize].lines().count();
    let keys: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty() && s.parse::<usize>().is_err())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (depth, key) in keys.iter().enumerate().rev() {
        let mut hits: Vec<(usize, usize)> = text
            .lines()
            .enumerate()
            .filter_map(|(i, line)| {
                let trimmed = line.trim_start().trim_start_matches("- ");
                let col = line.len() - trimmed.len() + 1;
                let rest = trimmed.strip_prefix(key.as_str())?;
                rest.starts_with(':').then_some((i + 1, col))
            })
            .collect();
        // A top-level key (`kind`, `metadata`) is written at the start of its line;
        // the same key nested deeper (an `issuerRef`'s `kind`) is not it.
        if hits.len() > 1 && depth == 0 {
            hits.retain(|&(_, col)| col == 1);
        }
        if let [(line, col)] = hits[..] {
            return Some(Location::at(file, base + line, col));
        }
    }
    Some(Location::file(file))
}

/// The part of a template that wrote this object, when the template is a plain
/// list of `---`-separated documents with one object each; else the whole text.
fn document_of<'t>(loaded: &LoadedChart, obj: &Object, text: &'t str) -> &'t str {
    let Some(rendering) = loaded.renderings.iter().find(|r| r.objects.iter().any(|o| std::ptr::eq(o, obj)))
    else {
        return text;
    };
    let same: Vec<&Object> = rendering.objects.iter().filter(|o| o.source == obj.source).collect();
    if same.len() < 2 {
        return text;
    }
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            parts.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    parts.push(&text[start..]);
    parts.retain(|p| p.lines().any(|l| l.trim_start().starts_with("kind:")));
    if parts.len() != same.len() {
        return text;
    }
    // helm orders a file's objects by kind (its install order), not as written:
    // the part that writes this kind, when only one does; else the position.
    // The document's own `kind:`, at the start of a line (an `issuerRef`'s is indented).
    let writes = |p: &str, kind: &str| {
        p.lines().any(|l| l.strip_prefix("kind:").is_some_and(|k| k.trim().trim_matches('"') == kind))
    };
    let by_kind: Vec<&str> = parts.iter().copied().filter(|p| writes(p, obj.kind())).collect();
    if let [only] = by_kind[..] {
        return only;
    }
    // Several parts write this kind: helm keeps objects of one kind in the order
    // written (its sort is stable), so the n-th object of the kind is the n-th part.
    let of_kind: Vec<&&Object> = same.iter().filter(|o| o.kind() == obj.kind()).collect();
    if of_kind.len() == by_kind.len()
        && let Some(n) = of_kind.iter().position(|o| std::ptr::eq(**o, obj))
    {
        return by_kind[n];
    }
    let same_kind = same.iter().filter(|o| o.kind() == obj.kind()).count();
    match same.iter().position(|o| std::ptr::eq(*o, obj)) {
        Some(i) if same_kind == same.len() => parts[i],
        _ => text,
    }
}
