//! Chart.yaml: Helm's v2 fields and the catalog's policy
//! (`schemas/chart.schema.json`), plus what a schema cannot say: the name is
//! the folder's, the version is SemVer 2 (and grew since the target branch),
//! appVersion is quoted, kubeVersion is a valid constraint, and the YAML held
//! in the Artifact Hub annotations is well formed.

use crate::diag::{Diagnostic, Location};
use crate::load::LoadedChart;
use crate::rule::{CATALOG, EVERY, Rule};
use crate::values::coalesce;
use crate::yaml::{Node, Style, Value};
use std::path::Path;
use std::sync::OnceLock;

pub const RULE_SCHEMA: Rule = Rule::error(
    "chart/schema",
    EVERY,
    "Chart.yaml against ct.yaml's `chart-yaml-schema` (yamale; `schemas/chart.ct.yaml` under profile ct without one) and, under profile catalog, `schemas/chart.schema.json` (the catalog policy); off with `validate-chart-schema: false`",
);
pub const RULE_NAME: Rule = Rule::error(
    "chart/name",
    CATALOG,
    "`name` differs from the chart's folder name (a house rule: helm and ct accept any name, which `helm lint` checks)",
);
pub const RULE_VERSION: Rule = Rule::error(
    "chart/version",
    CATALOG,
    "`version` is not strict SemVer 2 (a house rule: helm accepts `v1.2.3` and `1.2`, and `helm lint` judges that)",
);
pub const RULE_APP_VERSION: Rule =
    Rule::error("chart/app-version", CATALOG, "`appVersion` is not a quoted string");
pub const RULE_KUBE_VERSION: Rule =
    Rule::error("chart/kube-version", EVERY, "`kubeVersion` is not a valid constraint (`\">=1.25.0-0\"`)");
pub const RULE_CHANGES: Rule = Rule::error(
    "chart/changes",
    CATALOG,
    "`artifacthub.io/changes` is not a YAML list of `kind`/`description` with an Artifact Hub kind",
);
pub const RULE_IMAGES: Rule = Rule::error(
    "chart/images",
    CATALOG,
    "`artifacthub.io/images` is not a YAML list of `name`/`image`, or an image has no tag or digest",
);
pub const RULE_LICENSE: Rule =
    Rule::error("chart/license", CATALOG, "`artifacthub.io/license` is not an SPDX expression");
pub const RULE_DEPENDENCY: Rule = Rule::error(
    "chart/dependency",
    CATALOG,
    "a dependency version is not a `~`/`^` range (the `file://` library chart excepted)",
);
pub const RULE_INCREMENT: Rule = Rule::error(
    "chart/version-increment",
    EVERY,
    "a changed chart's version is not greater than on the target branch (`--changed`, or charts named on the command line; `check-version-increment`)",
);
pub const RULE_MAINTAINERS: Rule = Rule::error(
    "chart/maintainers",
    EVERY,
    "(ct's `validate-maintainers`, on unless ct.yaml turns it off) a chart without maintainers, a deprecated chart with some, or a maintainer `name` that cannot be an account on the git host ct looks it up on; names that can be are not looked up (offline)",
);
pub const RULES: &[Rule] = &[
    RULE_SCHEMA,
    RULE_MAINTAINERS,
    RULE_NAME,
    RULE_VERSION,
    RULE_APP_VERSION,
    RULE_KUBE_VERSION,
    RULE_CHANGES,
    RULE_IMAGES,
    RULE_LICENSE,
    RULE_DEPENDENCY,
    RULE_INCREMENT,
];

/// The policy schema, compiled once per run.
const POLICY: &str = include_str!("../../../../schemas/chart.schema.json");

fn policy() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| serde_json::from_str(POLICY).ok().and_then(|s| crate::schema::compile(&s).ok())).as_ref()
}

/// The Artifact Hub change kinds.
pub const CHANGE_KINDS: &[&str] = &["added", "changed", "deprecated", "removed", "fixed", "security"];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let chart = loaded.chart.name.as_str();
    let Ok(file) = &loaded.files.chart_yaml.content else { return Vec::new() };
    let Some(root) = file.root() else { return Vec::new() };
    let path = file.path.as_path();
    let mut out = Vec::new();
    let at = |node: &Node| Location::at(path, node.span.start.line, node.span.start.column);

    if loaded.settings.validate_chart_schema {
        // ct's schema (ct.yaml's `chart-yaml-schema`, or the built-in shape under
        // profile ct) and, under profile catalog, the catalog's policy schema.
        if let Some(ct) = &loaded.settings.chart_yaml_schema {
            for v in ct.schema.validate(root) {
                out.push(
                    Diagnostic::error(RULE_SCHEMA, chart, v.message)
                        .at(Location::at(path, v.span.start.line.max(1), v.span.start.column.max(1)))
                        .hint(format!("the Chart.yaml schema in force: {}", ct.shown.display())),
                );
            }
        }
        if loaded.settings.chart_policy {
            schema_errors(&mut out, chart, path, root);
        }
    }
    if let Some(name) = root.get("name")
        && name.as_str() != Some(chart)
    {
        out.push(
            Diagnostic::error(RULE_NAME, chart, format!("name must equal the chart's folder name `{chart}`"))
                .at(at(name)),
        );
    }
    let version = root.get("version");
    let current = version.and_then(|v| match &v.value {
        Value::Str(s) => Some(s.as_str()),
        _ => None,
    });
    if let (Some(node), Some(text)) = (version, current)
        && semver::Version::parse(text).is_err()
    {
        out.push(
            Diagnostic::error(
                RULE_VERSION,
                chart,
                format!("version `{text}` is not SemVer 2 (MAJOR.MINOR.PATCH)"),
            )
            .at(at(node)),
        );
    }
    if let Some(app) = root.get("appVersion")
        && !app.style.is_quoted()
    {
        out.push(
            Diagnostic::error(RULE_APP_VERSION, chart, "appVersion must be a quoted string")
                .at(at(app))
                .hint("unquoted, 1.10 reads as the number 1.1; write appVersion: \"1.10\""),
        );
    }
    if let Some(kv) = root.get("kubeVersion")
        && let Some(Err(e)) = kv.as_str().map(kube_constraint)
    {
        out.push(
            Diagnostic::error(
                RULE_KUBE_VERSION,
                chart,
                format!("kubeVersion is not a valid constraint: {e}"),
            )
            .at(at(kv))
            .hint("for example \">=1.25.0-0\" (the -0 admits providers' pre-release builds)"),
        );
    }
    if let Some(ann) = root.get("annotations") {
        annotations(&mut out, chart, path, ann);
    }
    if loaded.settings.validate_maintainers {
        maintainers(&mut out, chart, path, root);
    }
    for dep in root.get("dependencies").map(sequence).unwrap_or_default() {
        let repo = dep.get("repository").and_then(Node::as_str).unwrap_or_default();
        let Some(v) = dep.get("version") else { continue };
        let text = v.as_str().unwrap_or_default();
        // `1.42.*` / `1.x` take patches as `~1.42.0` does.
        let wildcard = text.split('.').skip(1).any(|p| matches!(p, "*" | "x" | "X"));
        let ranged = text.starts_with('~') || text.starts_with('^') || wildcard;
        // In-tree subcharts (no repository: `charts/<name>/`) and `file://` ones
        // come with the chart; only fetched ones need a range.
        if !(ranged || repo.is_empty() || repo.starts_with("file://")) {
            out.push(
                Diagnostic::error(
                    RULE_DEPENDENCY,
                    chart,
                    format!("dependency version `{text}` is not a range (~, ^ or a wildcard)"),
                )
                .at(at(v))
                .hint("pin a range that takes patches (~1.2.3) or compatible releases (^1.2.3)"),
            );
        }
    }
    // Compared as ct compares them (Masterminds: `v1.2` is 1.2.0).
    let parse = crate::constraint::Version::parse;
    if let (Some(prev), Some(node), Some(text)) = (&loaded.previous, version, current)
        && let (Some(old), Some(new)) = (prev.version.as_deref(), parse(text))
        && parse(old).is_some_and(|old| new.compare(&old) != std::cmp::Ordering::Greater)
    {
        out.push(
            Diagnostic::error(
                RULE_INCREMENT,
                chart,
                format!(
                    "the chart changed but its version {text} is not greater than {old} on {}",
                    prev.base
                ),
            )
            .at(at(node))
            .hint("bump version (and add an artifacthub.io/changes entry)"),
        );
    }
    out
}

/// ct's `validate-maintainers` (v3.14, `pkg/chart/chart.go` `ValidateMaintainers`):
/// a deprecated chart must have no maintainers, any other chart at least one, and
/// each `name` must answer `HEAD https://<git host>/<name>` with 200. The lookup
/// needs the network; offline, a name that no git host (GitHub, GitLab,
/// Bitbucket) allows in an account name is certain to fail it, and is reported.
fn maintainers(out: &mut Vec<Diagnostic>, chart: &str, path: &Path, root: &Node) {
    let at = |node: &Node| Location::at(path, node.span.start.line.max(1), node.span.start.column.max(1));
    let deprecated = root.get("deprecated").is_some_and(|d| d.value == Value::Bool(true));
    let list = root.get("maintainers");
    let items = list.map(sequence).unwrap_or_default();
    let hint =
        "or set `validate-maintainers: false` in ct.yaml (or pass --validate-maintainers=false), as ct needs";
    if deprecated {
        if let Some(node) = list.filter(|_| !items.is_empty()) {
            out.push(
                Diagnostic::error(
                    RULE_MAINTAINERS,
                    chart,
                    "a deprecated chart must not have maintainers (ct fails it)",
                )
                .at(at(node))
                .hint(format!("remove `maintainers`, {hint}")),
            );
        }
        return;
    }
    if items.is_empty() {
        let place = list.or_else(|| root.get("name")).map(at).unwrap_or_else(|| Location::file(path));
        out.push(
            Diagnostic::error(RULE_MAINTAINERS, chart, "the chart has no maintainers (ct fails it)")
                .at(place)
                .hint(format!("add `maintainers:` with each maintainer's account `name`, {hint}")),
        );
        return;
    }
    for m in items {
        let Some(name_node) = m.get("name") else { continue };
        let name = name_node.as_str().unwrap_or_default();
        if !account_shaped(name) {
            out.push(
                Diagnostic::error(
                    RULE_MAINTAINERS,
                    chart,
                    format!(
                        "maintainer `{name}` cannot be an account name: ct looks each name up as https://<git host>/<name>, which fails for it"
                    ),
                )
                .at(at(name_node))
                .hint(format!("write the maintainer's GitHub (or GitLab, Bitbucket) user name, {hint}")),
            );
        }
    }
}

/// Whether `name` can be an account on GitHub, GitLab or Bitbucket: letters,
/// digits, `-`, `_` and `.`, starting with a letter or digit.
fn account_shaped(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn sequence(node: &Node) -> Vec<&Node> {
    match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}

fn schema_errors(out: &mut Vec<Diagnostic>, chart: &str, path: &Path, root: &Node) {
    let Some(validator) = policy() else { return };
    let Some(merged) = coalesce(&[(path, root)]) else { return };
    let json = root.to_json();
    for err in validator.iter_errors(&json) {
        let pointer = err.instance_path().as_str();
        let (target, key, message) = match err.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                let k = unexpected.first().cloned().unwrap_or_default();
                (
                    format!("{pointer}/{}", crate::yaml::escape_token(&k)),
                    true,
                    format!("`{k}` is not a Chart.yaml field the catalog allows"),
                )
            }
            _ => (pointer.to_owned(), false, crate::yaml::prefixed(pointer, &err.to_string())),
        };
        let (_, span) = merged.place(&target, key);
        out.push(
            Diagnostic::error(RULE_SCHEMA, chart, message)
                .at(Location::at(path, span.start.line.max(1), span.start.column.max(1)))
                .hint(format!("schemas/chart.schema.json#{}", err.schema_path().as_str())),
        );
    }
}

/// The YAML inside `artifacthub.io/changes` and `artifacthub.io/images`, and the license.
fn annotations(out: &mut Vec<Diagnostic>, chart: &str, path: &Path, ann: &Node) {
    if let Some(node) = ann.get("artifacthub.io/license")
        && let Some(Err(e)) = node.as_str().map(spdx)
    {
        out.push(
            Diagnostic::error(
                RULE_LICENSE,
                chart,
                format!("artifacthub.io/license is not an SPDX expression: {e}"),
            )
            .at(Location::at(path, node.span.start.line, node.span.start.column))
            .hint("for example Apache-2.0, MIT, GPL-3.0-only, or `MIT OR Apache-2.0`"),
        );
    }
    // (annotation, rule, fields of each entry, whether the list may be empty:
    // a library chart deploys no images).
    let embedded = [
        ("artifacthub.io/changes", RULE_CHANGES, &["kind", "description"][..], false),
        ("artifacthub.io/images", RULE_IMAGES, &["name", "image"][..], true),
    ];
    for (key, rule, fields, may_be_empty) in embedded {
        let Some(node) = ann.get(key) else { continue };
        let Some(text) = node.as_str() else { continue };
        let place = |line: usize, column: usize| inner(path, node, line, column);
        let items = match crate::yaml::parse(text) {
            Err(e) => {
                out.push(
                    Diagnostic::error(rule, chart, format!("{key} is not valid YAML: {}", e.message))
                        .at(place(e.line, e.column)),
                );
                continue;
            }
            Ok(y) => y.docs.into_iter().next(),
        };
        let list = match items {
            Some(Node { value: Value::Seq(list), .. }) if may_be_empty || !list.is_empty() => list,
            _ => {
                out.push(
                    Diagnostic::error(
                        rule,
                        chart,
                        match rule {
                            RULE_CHANGES => format!(
                                "{key} must hold a YAML list of {{{}}} or of strings",
                                fields.join(", ")
                            ),
                            _ => format!("{key} must hold a YAML list of {{{}}}", fields.join(", ")),
                        },
                    )
                    .at(place(1, 1)),
                );
                continue;
            }
        };
        for item in &list {
            let here = place(item.span.start.line, item.span.start.column);
            // Artifact Hub also documents changes as a plain list of strings.
            if rule == RULE_CHANGES && item.as_str().is_some_and(|s| !s.trim().is_empty()) {
                continue;
            }
            for f in fields {
                match item.get(f).and_then(Node::as_str) {
                    Some(v) if !v.trim().is_empty() => {
                        if *f == "kind" && !CHANGE_KINDS.contains(&v) {
                            let n = item.get(f).map_or(item, |n| n);
                            out.push(
                                Diagnostic::error(
                                    rule,
                                    chart,
                                    format!("change kind `{v}` is not one of {}", CHANGE_KINDS.join(", ")),
                                )
                                .at(place(n.span.start.line, n.span.start.column)),
                            );
                        }
                        if *f == "image" && !has_tag_or_digest(v) {
                            let n = item.get(f).map_or(item, |n| n);
                            out.push(
                                Diagnostic::error(rule, chart, format!("image `{v}` has no tag or digest"))
                                    .at(place(n.span.start.line, n.span.start.column)),
                            );
                        }
                    }
                    _ => out.push(
                        Diagnostic::error(rule, chart, format!("each {key} entry needs a non-empty `{f}`"))
                            .at(here.clone()),
                    ),
                }
            }
        }
    }
}

/// Maps a place inside an annotation's text to Chart.yaml. Exact for block
/// scalars (`|`), whose text starts on the line after the key; otherwise the
/// annotation's own place.
fn inner(path: &Path, node: &Node, line: usize, column: usize) -> Location {
    let s = node.span.start;
    if matches!(node.style, Style::BlockScalar) {
        Location::at(path, s.line + line - 1, s.column + column - 1)
    } else {
        Location::at(path, s.line, s.column)
    }
}

fn has_tag_or_digest(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    image.contains("@sha256:") || last.contains(':')
}

/// A Masterminds/semver constraint, as Helm reads `kubeVersion` ([`crate::constraint`]).
pub fn kube_constraint(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("it is empty".into());
    }
    crate::constraint::Constraint::parse(text).map(|_| ())
}

/// The shape of an SPDX license expression: identifiers joined by AND, OR,
/// WITH, with optional parentheses.
pub fn spdx(text: &str) -> Result<(), String> {
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let mut expect_id = true;
    let mut depth = 0i32;
    for tok in spaced.split_whitespace() {
        match tok {
            "(" if expect_id => depth += 1,
            ")" if !expect_id => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `)`".into());
                }
            }
            "AND" | "OR" | "WITH" if !expect_id => expect_id = true,
            id if expect_id
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'+')
                && id.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) =>
            {
                expect_id = false
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    if expect_id || depth != 0 {
        return Err("incomplete expression".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_schema_compiles() {
        assert!(policy().is_some());
    }

    #[test]
    fn kube_version_constraints() {
        for ok in
            [">=1.25.0-0", ">= 1.25", "^1.28", "1.25 - 1.30", ">=1.25.0-0 <1.33.0-0", "~1.29 || >=1.31.x"]
        {
            assert!(kube_constraint(ok).is_ok(), "{ok}");
        }
        for bad in ["", "latest", ">=one", ">=1.2.3.4", "||"] {
            assert!(kube_constraint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spdx_expressions() {
        for ok in [
            "MIT",
            "Apache-2.0",
            "GPL-3.0-or-later",
            "(MIT OR Apache-2.0) AND BSD-3-Clause",
            "GPL-2.0-only WITH Classpath-exception-2.0",
        ] {
            assert!(spdx(ok).is_ok(), "{ok}");
        }
        for bad in ["MIT License", "", "MIT OR", "(MIT"] {
            assert!(spdx(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn images_need_a_tag_or_digest() {
        assert!(has_tag_or_digest("ghcr.io/a/b:1.0"));
        assert!(has_tag_or_digest("registry:5000/a/b@sha256:abc"));
        assert!(!has_tag_or_digest("registry:5000/a/b"));
    }
}
