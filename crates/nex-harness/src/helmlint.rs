//! `helm lint`, modelled, so that a scenario costs one helm process
//! (`helm template`) instead of two: when the model proves `helm lint` would
//! report nothing (no warning, no error) for a scenario, it is not run; when it
//! cannot prove that, the real `helm lint` runs and its messages are reported
//! as before. The model never reports a finding of its own.
//!
//! What `helm lint` checks beyond `helm template` (read from helm's
//! `pkg/lint/rules/*.go` at v3.17.2 and `pkg/chart/v2/lint/rules/*.go` at
//! v4.1.4, the pinned versions; any other helm always runs the real lint):
//!
//! - Chart.yaml (`chartfile.go`): name (set, no `/`), apiVersion `v1`/`v2`,
//!   `version` a string, SemVer and above `0.0.0-0` (helm 4 also warns unless
//!   it is strict SemVer 2), `appVersion` a string, maintainers named with
//!   valid e-mail and URL (govalidator's `IsEmail`/`IsURL`), sources and icon
//!   request URLs, `type` and `dependencies` only under `v2`; helm 4 also
//!   warns when the file does not parse strictly (unknown or repeated keys).
//! - values (`values.go`): parse and schema, which `helm template` checks too,
//!   except where a schema names a URL or another file: helm then runs with
//!   `--skip-schema-validation`, which helm 3's lint ignores (it fetches what
//!   the schema names), so under helm 3 the real lint runs.
//! - templates (`template.go`): helm 4 warns when `templates/` is missing;
//!   every file under it has a `.yaml`, `.yml`, `.tpl` or `.txt` extension;
//!   helm 3 also flags `crd-install` hooks and `.Release.Time`; the chart
//!   renders (in lint mode, where `required` and `fail` do not fail); each YAML
//!   template's output parses, its objects' names are valid for their kind, no
//!   API is deprecated at helm's default Kubernetes version (1.32 for helm
//!   v3.17.2, 1.35 for v4.1.4: k8s.io/api v0.32.2 and v0.35.1), a
//!   Deployment, ReplicaSet, DaemonSet or StatefulSet template names
//!   `matchLabels` or `matchExpressions`, a `List` carries no
//!   `helm.sh/resource-policy` annotation, and (a warning) the output does not
//!   start indented.
//! - dependencies (`dependencies.go`): `charts/` holds exactly the declared
//!   ones, names (or aliases) unique.
//! - CRDs (helm 4, `crds.go`): each document under `crds/` is an
//!   `apiextensions.k8s.io` CustomResourceDefinition.
//!
//! A library chart renders nothing, so its lint is proven silent only when a
//! chart using it rendered in the same run (see [`Model::library_doubt`]).
//!
//! The proof is conservative: anything unusual (a library nothing rendered, a Chart.yaml
//! field helm might read otherwise, a URL or name near a limit, a template
//! that asks `.Capabilities.APIVersions`, whose answer differs between helm
//! lint's built-in list and the cluster's, a render that failed) sends the
//! scenario to the real `helm lint`. Two differences cannot be seen from
//! `helm template`'s output and are accepted: lint renders as release
//! `test-release` in namespace `default` (names are allowed a margin for the
//! longer release name), and the indentation of a template's first rendered
//! line (helm template trims it; an indented first line that still parses
//! alone, such as a lone comment, would be a lint warning). `NEX_HELM_LINT=always`
//! runs the real lint for every scenario.

use crate::catalog::Chart;
use crate::model::ChartMeta;
use crate::render::Rendering;
use serde_json::Value;
use std::path::Path;

/// Why the real `helm lint` must run.
pub type Doubt = String;

/// The environment variable that turns the model off (`always`: run helm lint for every scenario).
pub const ENV: &str = "NEX_HELM_LINT";

/// helm lint's rules for one pinned helm.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    major: u32,
    /// Kinds deprecated at helm's default Kubernetes version.
    deprecated: &'static [(&'static str, &'static str)],
}

/// The release name helm lint renders with.
const LINT_RELEASE: &str = "test-release";

impl Model {
    /// The model for `helm_version` run with `extra` (`helm-lint-extra-args`);
    /// a doubt when there is none (another helm, other flags, or turned off).
    pub fn for_helm(helm_version: &str, extra: &[String]) -> Result<Self, Doubt> {
        if std::env::var(ENV).is_ok_and(|v| v == "always") {
            return Err(format!("{ENV}=always"));
        }
        if let Some(other) = extra.iter().find(|a| a.as_str() != "--strict") {
            return Err(format!("helm-lint-extra-args has {other:?}, which the model does not know"));
        }
        match helm_version {
            "v3.17.2" => Ok(Model { major: 3, deprecated: DEPRECATED_HELM3 }),
            "v4.1.4" => Ok(Model { major: 4, deprecated: DEPRECATED_HELM4 }),
            v => Err(format!("helm {v}: the model knows helm v3.17.2 and v4.1.4 only")),
        }
    }

    /// Why helm lint could say something about the chart whatever the values
    /// (Chart.yaml, templates, dependencies, CRDs); reads the chart's folder.
    /// `chart_yaml`: Chart.yaml as the loader read it (`None`: unreadable).
    pub fn chart_doubt(
        &self,
        chart: &Chart,
        chart_yaml: Option<&crate::files::YamlFile>,
        meta: &ChartMeta,
    ) -> Option<Doubt> {
        if meta.is_library() {
            return Some("a library chart is not rendered".into());
        }
        self.chart_level(chart, chart_yaml, meta).or_else(|| asks_api_versions(&chart.dir, meta))
    }

    /// Why helm lint could say something about a library chart. helm lint
    /// renders nothing of a library: it checks Chart.yaml, `templates/`, the
    /// dependencies and CRDs as for any chart, parses values.yaml (and checks
    /// it against a schema), and parses the `_` templates. `rendered`: a chart
    /// using it as a `file://` dependency rendered in this run, and helm parses
    /// every template of every dependency before it renders anything, so the
    /// library's templates parse; without that proof the real lint runs.
    pub fn library_doubt(
        &self,
        chart: &Chart,
        chart_yaml: Option<&crate::files::YamlFile>,
        meta: &ChartMeta,
        values: Option<&crate::files::YamlFile>,
        rendered: bool,
    ) -> Option<Doubt> {
        if !rendered {
            return Some(
                "a library chart is not rendered, and no chart using it rendered in this run".into(),
            );
        }
        // Its lint would render its own dependencies' templates with its values.
        if !meta.dependencies.is_empty() {
            return Some("the library has dependencies of its own".into());
        }
        // ct lints a library with each ci file too; those values are not modelled.
        if chart.scenarios.iter().any(|s| s.values_file.is_some()) {
            return Some("the library has ci values files".into());
        }
        if chart.dir.join("values.schema.json").exists() {
            return Some("the library's values have a schema".into());
        }
        if let Some(v) = values {
            let Ok(parsed) = &v.parsed else { return Some("values.yaml does not parse".into()) };
            if !parsed.duplicates.is_empty() {
                return Some("values.yaml repeats a key".into());
            }
            if parsed
                .root()
                .is_some_and(|r| !matches!(r.value, crate::yaml::Value::Map(_) | crate::yaml::Value::Null))
            {
                return Some("values.yaml is not a mapping".into());
            }
        }
        self.chart_level(chart, chart_yaml, meta)
    }

    /// What helm lint checks of any chart whatever the values: Chart.yaml,
    /// `templates/`, the dependencies in `charts/`, and (helm 4) `crds/`.
    fn chart_level(
        &self,
        chart: &Chart,
        chart_yaml: Option<&crate::files::YamlFile>,
        meta: &ChartMeta,
    ) -> Option<Doubt> {
        if let Some(e) = &meta.error {
            return Some(format!("Chart.yaml: {e}"));
        }
        let Some(parsed) = chart_yaml.and_then(|f| f.parsed.as_ref().ok()) else {
            return Some("Chart.yaml cannot be read".into());
        };
        if !parsed.duplicates.is_empty() {
            return Some("Chart.yaml repeats a key".into());
        }
        let Some(root) = parsed.root() else { return Some("Chart.yaml is empty".into()) };
        chart_file(root, meta)
            .or_else(|| self.templates(&chart.dir))
            .or_else(|| subcharts(&chart.dir, meta))
            .or_else(|| if self.major >= 4 { crds(&chart.dir) } else { None })
            .or_else(|| {
                // helm is then told to skip schema validation (see `Helm::offline`),
                // which helm 3's lint values rule ignores: it fetches what the schema
                // names, validating online (ct's CI) and failing offline.
                (self.major == 3 && crate::helm::schemas_reach_out(&chart.dir)).then(|| {
                    "a values schema names something outside the chart, which helm 3's lint fetches".into()
                })
            })
    }

    /// Why helm lint could say something about one scenario given its renders
    /// (every Kubernetes version of the matrix), rendered as `release`.
    pub fn render_doubt(&self, chart: &str, release: &str, renders: &[&Rendering]) -> Option<Doubt> {
        // Names grow by the difference between the release names (maybe twice).
        let margin = 2 * LINT_RELEASE.len().saturating_sub(release.len());
        for r in renders {
            let out = match &r.output {
                Ok(o) if o.success => o,
                _ => return Some(format!("the render for Kubernetes {} failed", r.kube_version)),
            };
            if !r.parse_errors.is_empty() {
                return Some("a rendered document does not parse".into());
            }
            let sources = by_source(&out.stdout);
            let own = format!("{chart}/templates/");
            for (source, text) in &sources {
                if !source.starts_with(&own) {
                    continue;
                }
                if text.lines().any(|l| l.starts_with("kind:") && l.trim_end().ends_with("List")) {
                    return Some(format!("{source} renders a List"));
                }
            }
            for o in &r.objects {
                let Some(source) = o.source.as_deref().filter(|s| s.starts_with(&own)) else { continue };
                if !self.yaml_template(source) {
                    continue;
                }
                if let Some(d) = name_doubt(o.kind(), o.name(), margin) {
                    return Some(format!("{source}: {} {d}", o.id()));
                }
                if self.deprecated.contains(&(o.api_version(), o.kind())) {
                    return Some(format!("{source}: {} {} is deprecated", o.api_version(), o.kind()));
                }
                if matches!(o.kind(), "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet") {
                    let text = sources.iter().find(|(s, _)| s == source).map_or("", |(_, t)| t.as_str());
                    if !text.contains("matchLabels") && !text.contains("matchExpressions") {
                        return Some(format!("{source}: {} has no matchLabels nor matchExpressions", o.id()));
                    }
                }
            }
        }
        None
    }

    /// The templates whose output helm lint checks: `.yaml` for helm 3 (its
    /// test leaves `.yml` out), `.yaml` or `.yml` in any case for helm 4.
    fn yaml_template(&self, source: &str) -> bool {
        let ext = source.rsplit_once('.').map_or("", |(_, e)| e);
        match self.major {
            3 => ext == "yaml",
            _ => ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml"),
        }
    }

    /// `templates/`: there (helm 4 warns when it is not), every file with an
    /// allowed extension, and for helm 3 no `crd-install` hook nor `.Release.Time`.
    fn templates(&self, dir: &Path) -> Option<Doubt> {
        let templates = dir.join("templates");
        match std::fs::metadata(&templates) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Some("templates is not a folder".into()),
            Err(_) if self.major >= 4 => return Some("no templates/ folder (helm 4 warns)".into()),
            Err(_) => return None,
        }
        for e in walkdir::WalkDir::new(&templates).follow_links(true) {
            let Ok(e) = e else { return Some("templates/ cannot be walked".into()) };
            if e.file_type().is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy();
            let ext = name.rsplit_once('.').map_or("", |(_, x)| x);
            if !matches!(ext, "yaml" | "yml" | "tpl" | "txt") {
                return Some(format!("{} has an extension helm lint refuses", e.path().display()));
            }
            if self.major == 3 {
                let Ok(text) = crate::files::read_text(e.path()) else {
                    return Some(format!("{} cannot be read", e.path().display()));
                };
                if text.contains(".Release.Time") || crd_install_hook(&text) {
                    return Some(format!("{} has a helm 2 construct helm 3 flags", e.path().display()));
                }
            }
        }
        None
    }
}

/// Chart.yaml as helm's `chartfile.go` and its loader read it: every value of
/// the type helm's `Metadata` gives it, and every rule met.
fn chart_file(root: &crate::yaml::Node, meta: &ChartMeta) -> Option<Doubt> {
    use crate::yaml::Value as Y;
    let crate::yaml::Value::Map(entries) = &root.value else {
        return Some("Chart.yaml is not a mapping".into());
    };
    for e in entries {
        let v = &e.value;
        let ok = match e.key.as_str() {
            "name" | "home" | "version" | "description" | "icon" | "apiVersion" | "condition" | "tags"
            | "appVersion" | "kubeVersion" | "type" => string_or_null(v),
            "keywords" | "sources" => seq_of(v, string_or_null),
            "deprecated" => matches!(v.value, Y::Bool(_) | Y::Null),
            "annotations" => map_of(v, &[], string_or_null),
            "maintainers" => seq_of(v, |m| map_of(m, &["name", "email", "url"], string_or_null)),
            "dependencies" => seq_of(v, |d| {
                map_of(
                    d,
                    &[
                        "name",
                        "version",
                        "repository",
                        "condition",
                        "tags",
                        "enabled",
                        "import-values",
                        "alias",
                    ],
                    |v| {
                        string_or_null(v)
                            || matches!(v.value, Y::Bool(_))
                            || seq_of(v, |i| string_or_null(i) || matches!(i.value, Y::Map(_)))
                    },
                )
            }),
            _ => false,
        };
        if !ok {
            return Some(format!("Chart.yaml `{}` is not what helm's Metadata holds", e.key));
        }
    }
    let value = &meta.value;
    let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("");
    let name = text("name");
    if name.is_empty() || name.contains('/') || name.contains('\\') {
        return Some("Chart.yaml name".into());
    }
    let api = text("apiVersion");
    if api != "v2" && !(api == "v1" && value.get("type").is_none() && value.get("dependencies").is_none()) {
        return Some(format!("Chart.yaml apiVersion {api:?}"));
    }
    // Strict SemVer 2 (which both helms accept, helm 4 without its warning), above 0.0.0-0.
    for key in ["version", "appVersion"] {
        if value.get(key).is_some_and(|v| !v.is_string()) {
            return Some(format!("Chart.yaml {key} is not a string"));
        }
    }
    match semver::Version::parse(text("version")) {
        // Only 0.0.0-0 itself is not above 0.0.0-0 (`0` is the lowest prerelease).
        Ok(v) if !(v.major == 0 && v.minor == 0 && v.patch == 0 && v.pre.as_str() == "0") => {}
        _ => return Some("Chart.yaml version is not plain SemVer 2".into()),
    }
    for m in value.get("maintainers").and_then(Value::as_array).into_iter().flatten() {
        let field = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        if m.is_null() || field("name").is_empty() {
            return Some("a maintainer has no name".into());
        }
        if !field("email").is_empty() && !plain_email(field("email")) {
            return Some(format!("maintainer e-mail {:?}", field("email")));
        }
        if !field("url").is_empty() && !plain_url(field("url")) {
            return Some(format!("maintainer URL {:?}", field("url")));
        }
    }
    for s in value.get("sources").and_then(Value::as_array).into_iter().flatten() {
        if !s.as_str().is_some_and(plain_url) {
            return Some(format!("source URL {s}"));
        }
    }
    if !text("icon").is_empty() && !plain_url(text("icon")) {
        return Some(format!("icon URL {:?}", text("icon")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for d in &meta.dependencies {
        if !seen.insert(d.alias.clone().unwrap_or_else(|| d.name.clone())) {
            return Some(format!("dependency {} is declared twice", d.name));
        }
    }
    None
}

/// A scalar helm reads as a string: a quoted or block scalar, or a plain one
/// no YAML 1.1 reader takes for a number, a boolean, a time or null; or null.
fn string_or_null(n: &crate::yaml::Node) -> bool {
    use crate::yaml::{Style, Value as Y};
    match (&n.value, &n.style) {
        (Y::Null, _) => true,
        (Y::Str(_), Style::Plain(text)) => !yaml11_typed(text),
        (Y::Str(_), _) => true,
        _ => false,
    }
}

fn seq_of(n: &crate::yaml::Node, each: impl Fn(&crate::yaml::Node) -> bool) -> bool {
    match &n.value {
        crate::yaml::Value::Null => true,
        crate::yaml::Value::Seq(items) => items.iter().all(each),
        _ => false,
    }
}

/// A mapping whose keys are `keys` (any when empty) and whose values pass `each`.
fn map_of(n: &crate::yaml::Node, keys: &[&str], each: impl Fn(&crate::yaml::Node) -> bool) -> bool {
    match &n.value {
        crate::yaml::Value::Null => true,
        crate::yaml::Value::Map(entries) => {
            entries.iter().all(|e| (keys.is_empty() || keys.contains(&e.key.as_str())) && each(&e.value))
        }
        _ => false,
    }
}

/// Plain text a YAML 1.1 reader (helm's) may resolve to something else than a
/// string: booleans (`y`, `on`…), null, numbers in any base or with `_`,
/// sexagesimal numbers, infinities, timestamps. Errs on the side of yes.
fn yaml11_typed(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
        "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", "",
    ];
    if WORDS.contains(&text) {
        return true;
    }
    let t = text.replace('_', "");
    let body = t.strip_prefix(['+', '-']).unwrap_or(&t);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let radix = |prefix: &str, ok: fn(&u8) -> bool| {
        body.strip_prefix(prefix).is_some_and(|d| !d.is_empty() && d.as_bytes().iter().all(ok))
    };
    let int = digits(body)
        || radix("0x", u8::is_ascii_hexdigit)
        || radix("0o", u8::is_ascii_digit)
        || radix("0b", u8::is_ascii_digit);
    let sexagesimal = body.contains(':') && body.split(':').all(digits);
    // A version such as 1.2.3 is a string to every YAML reader (no float has two dots).
    let dotted = body.bytes().all(|b| b.is_ascii_digit() || b == b'.') && body.contains('.');
    let float = body.parse::<f64>().is_ok()
        || (dotted && body.matches('.').count() == 1)
        || matches!(body.to_ascii_lowercase().as_str(), ".inf" | ".nan");
    let b = body.as_bytes();
    let timestamp = b.len() >= 8 && b[4] == b'-' && b[..4].iter().all(u8::is_ascii_digit);
    int || sexagesimal || float || timestamp
}

/// An e-mail address govalidator's `IsEmail` certainly accepts: ASCII
/// `local@host.tld`, the local part of letters, digits and `._%+-`, the host
/// of dotted labels of letters, digits and inner hyphens, the last label letters.
fn plain_email(s: &str) -> bool {
    let Some((local, host)) = s.split_once('@') else { return false };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
    local_ok && plain_host(host, true)
}

/// Dotted labels of letters, digits and inner hyphens, at least two, the last
/// all letters (when `tld` is asked).
fn plain_host(host: &str, tld: bool) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && (!tld || labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_alphabetic())))
}

/// A URL govalidator's `IsURL` and `IsRequestURL` (Go's `url.ParseRequestURI`
/// with a scheme) both certainly accept: `http(s)://host[:port]`
/// and a path of printable ASCII without spaces and with valid `%` escapes.
fn plain_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")) else { return false };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let bytes = path.as_bytes();
    let escapes_ok = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    let path_ok = bytes.iter().all(|&b| b.is_ascii_graphic() && !b"\"<>\\^`{|}#".contains(&b)) && escapes_ok;
    s.len() < 2083 && plain_host(host, true) && port_ok && path_ok
}

/// helm 3's `"?helm\.sh/hook"?:\s+crd-install`.
fn crd_install_hook(text: &str) -> bool {
    text.match_indices("helm.sh/hook").any(|(at, m)| {
        let rest = &text[at + m.len()..];
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let Some(rest) = rest.strip_prefix(':') else { return false };
        let trimmed = rest.trim_start();
        trimmed.len() < rest.len() && trimmed.starts_with("crd-install")
    })
}

/// The name rules helm lint applies by kind (`validateMetadataNameFunc`),
/// with `margin` characters to spare; `None` when the name certainly passes.
fn name_doubt(kind: &str, name: &str, margin: usize) -> Option<&'static str> {
    let label = |n: &str, first_letter: bool| {
        n.len() + margin <= 63
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && n.bytes().next().is_some_and(|b| {
                if first_letter { b.is_ascii_lowercase() } else { b.is_ascii_alphanumeric() }
            })
            && !n.ends_with('-')
    };
    let subdomain =
        |n: &str| n.len() + margin <= 253 && n.split('.').all(|l| !l.is_empty() && label(l, false));
    let ok = match kind.to_ascii_lowercase().as_str() {
        "service" => label(name, true),
        "namespace" => label(name, false),
        "certificatesigningrequest" => true,
        "role" | "clusterrole" | "rolebinding" | "clusterrolebinding" => {
            !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '%'])
        }
        _ => subdomain(name),
    };
    (!ok).then_some("has a name helm lint may refuse (or one near its length limit)")
}

/// The documents of a `helm template` stream grouped by their `# Source:`, with their text.
fn by_source(stream: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in stream.lines() {
        if line.trim_end() == "---" {
            current = None;
            continue;
        }
        if current.is_none()
            && let Some(src) = line.strip_prefix("# Source: ")
        {
            let src = src.trim().to_owned();
            current = Some(match out.iter().position(|(s, _)| *s == src) {
                Some(i) => i,
                None => {
                    out.push((src, String::new()));
                    out.len() - 1
                }
            });
        }
        if let Some(i) = current {
            out[i].1.push_str(line);
            out[i].1.push('\n');
        }
    }
    out
}

/// `charts/` holds exactly the declared dependencies (by the names inside
/// their Chart.yaml), as helm's `dependencies.go` wants.
fn subcharts(dir: &Path, meta: &ChartMeta) -> Option<Doubt> {
    let mut found = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(dir.join("charts")).into_iter().flatten().flatten() {
        let path = e.path();
        let name = if path.join("Chart.yaml").is_file() {
            crate::files::read_chart_meta(&path).name
        } else if path.extension().is_some_and(|x| x == "tgz") {
            archive_chart_name(&path)
        } else {
            continue;
        };
        match name {
            Some(n) => found.insert(n),
            None => return Some(format!("{} has no readable chart name", path.display())),
        };
    }
    let declared: std::collections::BTreeSet<String> =
        meta.dependencies.iter().map(|d| d.name.clone()).collect();
    (found != declared).then(|| "charts/ does not hold exactly the declared dependencies".into())
}

/// The `name` of the Chart.yaml at the top of a chart archive.
fn archive_chart_name(path: &Path) -> Option<String> {
    use std::io::Read;
    let (file, _) = crate::fsio::open_capped(path, crate::fsio::limit::ARCHIVE).ok()?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().ok()? {
        let entry = entry.ok()?;
        let p = entry.path().ok()?.into_owned();
        if p.components().count() == 2 && p.ends_with("Chart.yaml") {
            let mut text = String::new();
            entry.take(crate::files::MAX_FILE_BYTES).read_to_string(&mut text).ok()?;
            let parsed = crate::yaml::parse(&text).ok()?;
            return parsed.root()?.get("name")?.as_str().map(str::to_owned);
        }
    }
    None
}

/// helm 4's `crds.go`: every document of every file under `crds/` an
/// `apiextensions.k8s.io` CustomResourceDefinition.
fn crds(dir: &Path) -> Option<Doubt> {
    let crds = dir.join("crds");
    if !crds.exists() {
        return None;
    }
    for e in walkdir::WalkDir::new(&crds).follow_links(true) {
        let Ok(e) = e else { return Some("crds/ cannot be walked".into()) };
        if e.file_type().is_dir() {
            continue;
        }
        let Ok(text) = crate::files::read_text(e.path()) else {
            return Some(format!("{} cannot be read", e.path().display()));
        };
        let (objects, errors) = crate::manifest::split(&text);
        let crd = |o: &crate::manifest::Object| {
            o.api_version().starts_with("apiextensions.k8s.io") && o.kind() == "CustomResourceDefinition"
        };
        if !errors.is_empty() || !objects.iter().all(crd) {
            return Some(format!("{} is not only CRDs", e.path().display()));
        }
    }
    None
}

/// Whether a template of the chart, of its `file://` dependencies or of its
/// vendored archives asks `.Capabilities.APIVersions`: helm lint answers from
/// its built-in list (which has `policy/v1beta1`…), the renders from the
/// cluster's, so their outputs may differ.
fn asks_api_versions(dir: &Path, meta: &ChartMeta) -> Option<Doubt> {
    fn scan(dir: &Path, meta: &ChartMeta, depth: usize) -> bool {
        if depth > 4 {
            return true;
        }
        let walk = walkdir::WalkDir::new(dir)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| !(e.depth() == 1 && e.file_name() == "snapshots"));
        for e in walk {
            let Ok(e) = e else { return true };
            if !e.file_type().is_file() {
                continue;
            }
            let found = if e.path().extension().is_some_and(|x| x == "tgz") {
                archive_mentions(e.path(), "APIVersions")
            } else {
                crate::fsio::read_capped(e.path(), crate::fsio::limit::CHART_FILE)
                    .map_or(true, |b| String::from_utf8_lossy(&b).contains("APIVersions"))
            };
            if found {
                return true;
            }
        }
        meta.local_dependencies(dir)
            .iter()
            .any(|(_, d)| scan(d, &crate::files::read_chart_meta(d), depth + 1))
    }
    scan(dir, meta, 0).then(|| "a template asks .Capabilities.APIVersions".into())
}

/// Whether any file of a chart archive contains `needle` (unreadable: yes).
fn archive_mentions(path: &Path, needle: &str) -> bool {
    use std::io::Read;
    let Ok((file, _)) = crate::fsio::open_capped(path, crate::fsio::limit::ARCHIVE) else { return true };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let Ok(entries) = archive.entries() else { return true };
    for entry in entries {
        let Ok(entry) = entry else { return true };
        let mut bytes = Vec::new();
        if entry.take(crate::files::MAX_FILE_BYTES).read_to_end(&mut bytes).is_err() {
            return true;
        }
        if String::from_utf8_lossy(&bytes).contains(needle) {
            return true;
        }
    }
    false
}

/// Kinds deprecated at Kubernetes 1.32, helm v3.17.2's default version
/// (its Makefile links `k8sVersionMinor` from client-go v0.32.2), as
/// k8s.io/api v0.32.2's `zz_generated.prerelease-lifecycle.go` files say,
/// for the group versions client-go's scheme registers.
const DEPRECATED_HELM3: &[(&str, &str)] = &[
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBindingList"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyList"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfigurationList"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBindingList"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyList"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfigurationList"),
    ("apps/v1beta1", "ControllerRevision"),
    ("apps/v1beta1", "ControllerRevisionList"),
    ("apps/v1beta1", "Deployment"),
    ("apps/v1beta1", "DeploymentList"),
    ("apps/v1beta1", "DeploymentRollback"),
    ("apps/v1beta1", "Scale"),
    ("apps/v1beta1", "StatefulSet"),
    ("apps/v1beta1", "StatefulSetList"),
    ("apps/v1beta2", "ControllerRevision"),
    ("apps/v1beta2", "ControllerRevisionList"),
    ("apps/v1beta2", "DaemonSet"),
    ("apps/v1beta2", "DaemonSetList"),
    ("apps/v1beta2", "Deployment"),
    ("apps/v1beta2", "DeploymentList"),
    ("apps/v1beta2", "ReplicaSet"),
    ("apps/v1beta2", "ReplicaSetList"),
    ("apps/v1beta2", "Scale"),
    ("apps/v1beta2", "StatefulSet"),
    ("apps/v1beta2", "StatefulSetList"),
    ("authentication.k8s.io/v1alpha1", "SelfSubjectReview"),
    ("authentication.k8s.io/v1beta1", "SelfSubjectReview"),
    ("authentication.k8s.io/v1beta1", "TokenReview"),
    ("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview"),
    ("authorization.k8s.io/v1beta1", "SelfSubjectAccessReview"),
    ("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview"),
    ("authorization.k8s.io/v1beta1", "SubjectAccessReview"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscalerList"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscalerList"),
    ("batch/v1beta1", "CronJob"),
    ("batch/v1beta1", "CronJobList"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequestList"),
    ("coordination.k8s.io/v1beta1", "Lease"),
    ("coordination.k8s.io/v1beta1", "LeaseList"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"),
    ("discovery.k8s.io/v1beta1", "EndpointSliceList"),
    ("events.k8s.io/v1beta1", "Event"),
    ("events.k8s.io/v1beta1", "EventList"),
    ("extensions/v1beta1", "DaemonSet"),
    ("extensions/v1beta1", "DaemonSetList"),
    ("extensions/v1beta1", "Deployment"),
    ("extensions/v1beta1", "DeploymentList"),
    ("extensions/v1beta1", "DeploymentRollback"),
    ("extensions/v1beta1", "Ingress"),
    ("extensions/v1beta1", "IngressList"),
    ("extensions/v1beta1", "NetworkPolicy"),
    ("extensions/v1beta1", "NetworkPolicyList"),
    ("extensions/v1beta1", "ReplicaSet"),
    ("extensions/v1beta1", "ReplicaSetList"),
    ("extensions/v1beta1", "Scale"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchemaList"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfigurationList"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchemaList"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfigurationList"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList"),
    ("networking.k8s.io/v1alpha1", "IPAddress"),
    ("networking.k8s.io/v1alpha1", "IPAddressList"),
    ("networking.k8s.io/v1alpha1", "ServiceCIDR"),
    ("networking.k8s.io/v1alpha1", "ServiceCIDRList"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClassList"),
    ("networking.k8s.io/v1beta1", "IngressList"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClassList"),
    ("policy/v1beta1", "Eviction"),
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodDisruptionBudgetList"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBindingList"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleList"),
    ("rbac.authorization.k8s.io/v1beta1", "Role"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBindingList"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleList"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClassList"),
    ("storage.k8s.io/v1alpha1", "CSIStorageCapacity"),
    ("storage.k8s.io/v1alpha1", "CSIStorageCapacityList"),
    ("storage.k8s.io/v1alpha1", "VolumeAttachment"),
    ("storage.k8s.io/v1alpha1", "VolumeAttachmentList"),
    ("storage.k8s.io/v1alpha1", "VolumeAttributesClass"),
    ("storage.k8s.io/v1alpha1", "VolumeAttributesClassList"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSIDriverList"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "CSINodeList"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacityList"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "StorageClassList"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "VolumeAttachmentList"),
];

/// The same at Kubernetes 1.35, helm v4.1.4's default (`KubeClientVersion`
/// v1.35), from k8s.io/api v0.35.1.
const DEPRECATED_HELM4: &[(&str, &str)] = &[
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyBindingList"),
    ("admissionregistration.k8s.io/v1alpha1", "MutatingAdmissionPolicyList"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyBindingList"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicyList"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfigurationList"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBindingList"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyList"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfigurationList"),
    ("apps/v1beta1", "ControllerRevision"),
    ("apps/v1beta1", "ControllerRevisionList"),
    ("apps/v1beta1", "Deployment"),
    ("apps/v1beta1", "DeploymentList"),
    ("apps/v1beta1", "DeploymentRollback"),
    ("apps/v1beta1", "Scale"),
    ("apps/v1beta1", "StatefulSet"),
    ("apps/v1beta1", "StatefulSetList"),
    ("apps/v1beta2", "ControllerRevision"),
    ("apps/v1beta2", "ControllerRevisionList"),
    ("apps/v1beta2", "DaemonSet"),
    ("apps/v1beta2", "DaemonSetList"),
    ("apps/v1beta2", "Deployment"),
    ("apps/v1beta2", "DeploymentList"),
    ("apps/v1beta2", "ReplicaSet"),
    ("apps/v1beta2", "ReplicaSetList"),
    ("apps/v1beta2", "Scale"),
    ("apps/v1beta2", "StatefulSet"),
    ("apps/v1beta2", "StatefulSetList"),
    ("authentication.k8s.io/v1alpha1", "SelfSubjectReview"),
    ("authentication.k8s.io/v1beta1", "SelfSubjectReview"),
    ("authentication.k8s.io/v1beta1", "TokenReview"),
    ("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview"),
    ("authorization.k8s.io/v1beta1", "SelfSubjectAccessReview"),
    ("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview"),
    ("authorization.k8s.io/v1beta1", "SubjectAccessReview"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscalerList"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscalerList"),
    ("batch/v1beta1", "CronJob"),
    ("batch/v1beta1", "CronJobList"),
    ("certificates.k8s.io/v1alpha1", "ClusterTrustBundle"),
    ("certificates.k8s.io/v1alpha1", "ClusterTrustBundleList"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequestList"),
    ("coordination.k8s.io/v1alpha2", "LeaseCandidate"),
    ("coordination.k8s.io/v1alpha2", "LeaseCandidateList"),
    ("coordination.k8s.io/v1beta1", "Lease"),
    ("coordination.k8s.io/v1beta1", "LeaseList"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"),
    ("discovery.k8s.io/v1beta1", "EndpointSliceList"),
    ("events.k8s.io/v1beta1", "Event"),
    ("events.k8s.io/v1beta1", "EventList"),
    ("extensions/v1beta1", "DaemonSet"),
    ("extensions/v1beta1", "DaemonSetList"),
    ("extensions/v1beta1", "Deployment"),
    ("extensions/v1beta1", "DeploymentList"),
    ("extensions/v1beta1", "DeploymentRollback"),
    ("extensions/v1beta1", "Ingress"),
    ("extensions/v1beta1", "IngressList"),
    ("extensions/v1beta1", "NetworkPolicy"),
    ("extensions/v1beta1", "NetworkPolicyList"),
    ("extensions/v1beta1", "ReplicaSet"),
    ("extensions/v1beta1", "ReplicaSetList"),
    ("extensions/v1beta1", "Scale"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchemaList"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfigurationList"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchemaList"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfigurationList"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchemaList"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfigurationList"),
    ("networking.k8s.io/v1beta1", "IPAddress"),
    ("networking.k8s.io/v1beta1", "IPAddressList"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClassList"),
    ("networking.k8s.io/v1beta1", "IngressList"),
    ("networking.k8s.io/v1beta1", "ServiceCIDR"),
    ("networking.k8s.io/v1beta1", "ServiceCIDRList"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClassList"),
    ("policy/v1beta1", "Eviction"),
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodDisruptionBudgetList"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBindingList"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleList"),
    ("rbac.authorization.k8s.io/v1beta1", "Role"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBindingList"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleList"),
    ("resource.k8s.io/v1beta1", "DeviceClass"),
    ("resource.k8s.io/v1beta1", "DeviceClassList"),
    ("resource.k8s.io/v1beta1", "ResourceClaim"),
    ("resource.k8s.io/v1beta1", "ResourceClaimList"),
    ("resource.k8s.io/v1beta1", "ResourceClaimTemplate"),
    ("resource.k8s.io/v1beta1", "ResourceClaimTemplateList"),
    ("resource.k8s.io/v1beta1", "ResourceSlice"),
    ("resource.k8s.io/v1beta1", "ResourceSliceList"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClassList"),
    ("storage.k8s.io/v1alpha1", "CSIStorageCapacity"),
    ("storage.k8s.io/v1alpha1", "CSIStorageCapacityList"),
    ("storage.k8s.io/v1alpha1", "VolumeAttachment"),
    ("storage.k8s.io/v1alpha1", "VolumeAttachmentList"),
    ("storage.k8s.io/v1alpha1", "VolumeAttributesClass"),
    ("storage.k8s.io/v1alpha1", "VolumeAttributesClassList"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSIDriverList"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "CSINodeList"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacityList"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "StorageClassList"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "VolumeAttachmentList"),
    ("storage.k8s.io/v1beta1", "VolumeAttributesClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttributesClassList"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_typing_is_suspected_not_missed() {
        for typed in ["1.0", "1", "0x1F", "1_000", "1:20", "on", "y", "~", "2024-01-02", ".inf", "-1"] {
            assert!(yaml11_typed(typed), "{typed}");
        }
        for text in ["1.2.3", "v1.2.3", "1.2.3-rc.1", "nginx", "latest", "0.1.0+build", "2fa", "0x"] {
            assert!(!yaml11_typed(text), "{text}");
        }
    }

    #[test]
    fn plain_emails_and_urls_are_the_common_ones() {
        assert!(plain_email("me@example.org"));
        assert!(plain_email("first.last+tag@mail.example.co"));
        for bad in ["me", "me@localhost", "me@ex ample.org", "Me@example.123", "é@example.org"] {
            assert!(!plain_email(bad), "{bad}");
        }
        assert!(plain_url("https://github.com/nex-charts/charts"));
        assert!(plain_url("https://example.org:8443/a/b?c=d&e=%2F"));
        for bad in [
            "github.com/x",
            "ftp://example.org",
            "https://exa mple.org",
            "https://example.org/a b",
            "https://example.org/%zz",
            "https://localhost/x",
        ] {
            assert!(!plain_url(bad), "{bad}");
        }
    }

    #[test]
    fn names_follow_the_kind_with_a_margin() {
        assert_eq!(name_doubt("Deployment", "nex-app", 18), None);
        assert!(name_doubt("Service", "1nex", 0).is_some(), "a Service name starts with a letter");
        assert_eq!(name_doubt("ConfigMap", "1nex.a-b", 0), None);
        assert!(name_doubt("ConfigMap", "Nex", 0).is_some());
        assert!(name_doubt("Deployment", "", 0).is_some());
        assert!(name_doubt("Service", &"a".repeat(50), 18).is_some(), "near the 63-character limit");
        assert_eq!(name_doubt("Role", "system:nex", 0), None);
        assert!(name_doubt("Role", "a/b", 0).is_some());
    }

    #[test]
    fn crd_install_hooks_are_found_as_helm_3_finds_them() {
        assert!(crd_install_hook("annotations:\n  \"helm.sh/hook\": crd-install\n"));
        assert!(crd_install_hook("helm.sh/hook:   crd-install"));
        assert!(!crd_install_hook("helm.sh/hook: pre-install"));
        assert!(!crd_install_hook("helm.sh/hook:crd-install"));
    }

    #[test]
    fn documents_are_grouped_by_source() {
        let stream = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n---\n# Source: c/templates/a.yaml\nkind: C\n";
        let groups = by_source(stream);
        assert_eq!(groups.len(), 2);
        assert!(groups[0].1.contains("kind: A") && groups[0].1.contains("kind: C"));
    }

    #[test]
    fn the_deprecation_tables_hold_the_known_cases() {
        assert!(DEPRECATED_HELM3.contains(&("policy/v1beta1", "PodDisruptionBudget")));
        assert!(DEPRECATED_HELM4.contains(&("policy/v1beta1", "PodDisruptionBudget")));
        assert!(!DEPRECATED_HELM4.contains(&("policy/v1", "PodDisruptionBudget")));
        // Deprecated in 1.35: after helm 3's default (1.32), not after helm 4's.
        assert!(DEPRECATED_HELM4.contains(&("resource.k8s.io/v1beta1", "ResourceClaim")));
        assert!(!DEPRECATED_HELM3.contains(&("resource.k8s.io/v1beta1", "ResourceClaim")));
    }
}
