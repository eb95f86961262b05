//! The run's settings: `ct.yaml` + `harness.yaml` + command-line flags,
//! resolved once into an immutable [`RunSettings`] that everything downstream
//! reads (the flags are parsed by the CLI; this module decides what they mean).
//!
//! `harness.yaml` (at the repository root, or `--harness-config PATH`):
//!
//! ```yaml
//! profile: catalog        # or ct: what `ct lint` checks plus the objective checks
//! rules:                  # any registered rule: off | warning | error
//!   policy/image-digest: off
//! release: nex            # release name and namespace of the renders
//! namespace: nex
//! kube-versions: ["1.30", "1.37"]   # render for these instead of the chart's matrix
//! ```
//!
//! Without a `harness.yaml` the profile is `ct`: a repository that did not ask
//! for this catalog's house rules does not get them.

use crate::config::{CtConfig, CtOverrides};
use crate::diag::{Diagnostic, Severity};
use crate::helm::Major;
use crate::rule::Profile;
use crate::yaml::{Node, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "harness.yaml";
/// helm's defaults would be `release-name` and `default`; these are the harness's.
pub const DEFAULT_RELEASE: &str = "nex";
pub const DEFAULT_NAMESPACE: &str = "nex";

const KEYS: &[&str] = &["profile", "rules", "release", "namespace", "kube-versions", "helm"];

/// The helm major `profile: ct` runs: chart-testing's own image (v3.14.0's
/// Dockerfile, `ARG helm_version=v3.16.4`) ships helm 3, so its users see helm 3's
/// verdicts (`CT_IMAGE_HELM_VERSION` in `.github/tool-versions.env`, tested).
pub const CT_HELM: Major = Major::V3;

/// What `harness.yaml` may set for one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Off,
    Warning,
    Error,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// Every problem of the file, each `file:line:col: message`.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Ct(#[from] crate::config::ConfigError),
}

/// `harness.yaml` as written (validated; every field optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HarnessFile {
    pub profile: Option<Profile>,
    pub rules: BTreeMap<String, Level>,
    pub release: Option<String>,
    pub namespace: Option<String>,
    pub kube_versions: Option<Vec<String>>,
    /// `helm: 3` or `4`: the helm major of the run.
    pub helm: Option<Major>,
}

impl HarnessFile {
    /// Parses and validates; every problem is reported with `shown:line:col`.
    pub fn parse(text: &str, shown: &Path) -> Result<Self, SettingsError> {
        let mut problems = Vec::new();
        let mut out = HarnessFile::default();
        let at = |node: &Node| (node.span.start.line.max(1), node.span.start.column.max(1));
        let mut say = |(line, column): (usize, usize), msg: String| {
            problems.push(format!("{}:{line}:{column}: {msg}", shown.display()));
        };
        let yaml = match crate::yaml::parse(text) {
            Ok(y) => y,
            Err(e) => {
                say((e.line.max(1), e.column.max(1)), format!("YAML syntax error: {}", e.message));
                return Err(SettingsError::Invalid(problems));
            }
        };
        for d in &yaml.duplicates {
            say((d.second.start.line, d.second.start.column), format!("`{}` is set twice", d.key));
        }
        let Some(root) = yaml.docs.first() else { return Ok(out) };
        match &root.value {
            Value::Map(_) => {}
            Value::Null => return Ok(out),
            _ => {
                say(at(root), "harness.yaml must be a mapping of settings".into());
                return Err(SettingsError::Invalid(problems));
            }
        }
        for e in root.entries() {
            let key_at = (e.key_span.start.line.max(1), e.key_span.start.column.max(1));
            let v = &e.value;
            match e.key.as_str() {
                "profile" => match v.as_str() {
                    Some("catalog") => out.profile = Some(Profile::Catalog),
                    Some("ct") => out.profile = Some(Profile::Ct),
                    _ => say(at(v), "`profile` is `catalog` or `ct`".into()),
                },
                "rules" => {
                    if !matches!(v.value, Value::Map(_) | Value::Null) {
                        say(at(v), "`rules` maps rule ids to off, warning or error".into());
                    }
                    for r in v.entries() {
                        let r_at = (r.key_span.start.line.max(1), r.key_span.start.column.max(1));
                        if crate::checks::rule(&r.key).is_none() {
                            let hint = nearest(&r.key, crate::checks::rules().map(|r| r.id))
                                .map(|k| format!(" (did you mean `{k}`?)"))
                                .unwrap_or_else(|| " (`cargo xtask lint --list-rules` lists them)".into());
                            say(r_at, format!("unknown rule `{}`{hint}", r.key));
                            continue;
                        }
                        let level = match &r.value.value {
                            Value::Str(s) if s == "off" => Level::Off,
                            Value::Bool(false) => Level::Off,
                            Value::Str(s) if s == "warning" => Level::Warning,
                            Value::Str(s) if s == "error" => Level::Error,
                            _ => {
                                say(at(&r.value), format!("`{}` is off, warning or error", r.key));
                                continue;
                            }
                        };
                        out.rules.insert(r.key.clone(), level);
                    }
                }
                "release" | "namespace" => match v.as_str() {
                    Some(s) if dns_label(s, if e.key == "release" { 53 } else { 63 }) => {
                        let slot = if e.key == "release" { &mut out.release } else { &mut out.namespace };
                        *slot = Some(s.to_owned());
                    }
                    _ => {
                        say(at(v), format!("`{}` is a lower-case DNS label (letters, digits and `-`)", e.key))
                    }
                },
                "kube-versions" => {
                    let items: Vec<&Node> = match &v.value {
                        Value::Seq(items) if !items.is_empty() => items.iter().collect(),
                        _ => {
                            say(
                                at(v),
                                "`kube-versions` is a non-empty list such as [\"1.30\", \"1.37\"]".into(),
                            );
                            continue;
                        }
                    };
                    let mut versions = Vec::new();
                    for item in items {
                        match item.as_str().and_then(kube_version) {
                            Some(k) => versions.push(k),
                            None => say(
                                at(item),
                                "a Kubernetes version is a quoted string such as \"1.30\"".into(),
                            ),
                        }
                    }
                    out.kube_versions = Some(versions);
                }
                "helm" => match &v.value {
                    Value::Int(3) => out.helm = Some(Major::V3),
                    Value::Int(4) => out.helm = Some(Major::V4),
                    Value::Str(s) if s == "3" => out.helm = Some(Major::V3),
                    Value::Str(s) if s == "4" => out.helm = Some(Major::V4),
                    _ => say(at(v), "`helm` is the helm major to run: 3 or 4".into()),
                },
                other => {
                    let hint = nearest(other, KEYS.iter().copied())
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    say(
                        key_at,
                        format!("unknown key `{other}`{hint}; harness.yaml knows {}", KEYS.join(", ")),
                    );
                }
            }
        }
        if problems.is_empty() { Ok(out) } else { Err(SettingsError::Invalid(problems)) }
    }
}

/// ct.yaml's `chart-yaml-schema`, read from the root (as ct reads it from the
/// working directory) and parsed; a bad schema stops the run at its place.
fn chart_yaml_schema(
    root: &Path,
    ct: &CtConfig,
) -> Result<Option<std::sync::Arc<crate::load::ChartYamlSchema>>, SettingsError> {
    let name = ct.chart_yaml_schema.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let path = root.join(name);
    let text = crate::fsio::read_text(&path, crate::fsio::limit::SETTINGS_FILE)
        .map_err(|e| SettingsError::Read { path: path.clone(), source: e.into() })?;
    let schema = crate::yamale::Schema::parse(&text)
        .map_err(|e| SettingsError::Invalid(vec![format!("{name}:{e} (ct.yaml's chart-yaml-schema)")]))?;
    Ok(Some(std::sync::Arc::new(crate::load::ChartYamlSchema { shown: PathBuf::from(name), schema })))
}

/// Under profile ct without a `chart-yaml-schema`: every field Helm reads, typed.
const CT_SHAPE: &str = include_str!("../../../schemas/chart.ct.yaml");

fn builtin_ct_shape() -> std::sync::Arc<crate::load::ChartYamlSchema> {
    // A test parses the file; an error here is a harness bug, shown as no schema.
    let schema = crate::yamale::Schema::parse(CT_SHAPE).unwrap_or_default();
    std::sync::Arc::new(crate::load::ChartYamlSchema {
        shown: PathBuf::from("schemas/chart.ct.yaml"),
        schema,
    })
}

/// `1.30` or `1.30.2` → `1.30.0` / `1.30.2` (what helm's `--kube-version` takes).
fn kube_version(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.trim_start_matches('v').split('.').collect();
    let num = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [ma, mi] if num(ma) && num(mi) => Some(format!("{ma}.{mi}.0")),
        [ma, mi, pa] if num(ma) && num(mi) && num(pa) => Some(format!("{ma}.{mi}.{pa}")),
        _ => None,
    }
}

fn dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The candidate closest to `word` (edit distance at most 3).
fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates.map(|k| (crate::config::distance(word, k), k)).filter(|(d, _)| *d <= 3).min().map(|(_, k)| k)
}

/// What the command line says (the CLI's parsed flags, before resolution).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config`: ct.yaml elsewhere than at the root.
    pub config: Option<PathBuf>,
    /// `--harness-config`: harness.yaml elsewhere than at the root.
    pub harness_config: Option<PathBuf>,
    /// `--profile`: overrides harness.yaml's.
    pub profile: Option<Profile>,
    /// `--helm` (or `NEX_HELM`): overrides harness.yaml's `helm`.
    pub helm: Option<Major>,
    /// ct's own flags (`ct lint --help`), overriding ct.yaml's keys of the same names.
    pub ct: CtOverrides,
}

/// Where ct looks for its files when none is named: the working directory, then
/// `.ct/` (ct also reads `~/.ct`, `/usr/local/etc/ct` and `/etc/ct`; a machine's
/// own folders are not read here, so a run means the same on every machine).
const CT_SEARCH: &[&str] = &["", ".ct"];

/// ct's configuration file found where ct looks for it (`ct.yaml`, `ct.yml`, `ct.json`).
fn find_ct_file(root: &Path) -> Option<PathBuf> {
    CT_SEARCH
        .iter()
        .flat_map(|dir| ["ct.yaml", "ct.yml", "ct.json"].map(|f| Path::new(dir).join(f)))
        .find(|p| root.join(p).is_file())
}

/// A file ct finds by name when its key is empty (`chart_schema.yaml`, `lintconf.yaml`).
fn find_ct_default(root: &Path, name: &str) -> Option<String> {
    CT_SEARCH
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| root.join(p).is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

/// Everything a run needs to know about its configuration, resolved once.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub root: PathBuf,
    /// ct.yaml as ct reads it (its defaults when there is none).
    pub ct: CtConfig,
    /// Where ct.yaml is (it may not exist).
    pub ct_path: PathBuf,
    /// The harness.yaml read, when there was one.
    pub harness_path: Option<PathBuf>,
    pub profile: Profile,
    /// Per-rule overrides from harness.yaml.
    pub rules: BTreeMap<String, Level>,
    pub release: String,
    pub namespace: String,
    /// Kubernetes versions to render for instead of each chart's matrix.
    pub kube_versions: Option<Vec<String>>,
    /// ct's `helm-lint-extra-args`, split.
    pub lint_extra_args: Vec<String>,
    /// ct's `chart-yaml-schema`, read and parsed.
    pub chart_yaml_schema: Option<std::sync::Arc<crate::load::ChartYamlSchema>>,
    /// The helm major the run uses: `--helm`, else harness.yaml's `helm`, else
    /// what the profile's users run (ct's images ship helm 3; the catalog runs 4).
    pub helm: Major,
    /// Version increments were turned off because charts were named or `all` set (ct does so).
    pub increments_off_by_selection: bool,
}

impl RunSettings {
    /// Reads ct.yaml and harness.yaml (from the flags or the root) and resolves them.
    pub fn resolve(root: &Path, flags: &Flags) -> Result<Self, SettingsError> {
        let ct_path = match &flags.config {
            Some(p) => root.join(p),
            None => root.join(find_ct_file(root).unwrap_or_else(|| crate::config::FILE_NAME.into())),
        };
        // A file named on the command line must exist.
        let mut ct = CtConfig::load_file(&ct_path, flags.config.is_some())?;
        // Paths ct.yaml names are the repository's files; flags may name any.
        for (key, value) in [("lint-conf", &ct.lint_conf), ("chart-yaml-schema", &ct.chart_yaml_schema)] {
            if !value.trim().is_empty()
                && let Err(e) = crate::fsio::confine(root, root, Path::new(value.trim()))
            {
                return Err(SettingsError::Invalid(vec![format!("{}: {key}: {e}", ct_path.display())]));
            }
        }
        flags.ct.apply(&mut ct);
        if ct.all && !ct.charts.is_empty() && (flags.ct.all.is_some() || flags.ct.charts.is_some()) {
            return Err(SettingsError::Invalid(vec![
                "specifying both `--all` and `--charts` is not allowed (ct refuses it too)".into(),
            ]));
        }
        // As ct: unnamed files are looked for where ct looks.
        if ct.chart_yaml_schema.is_empty()
            && let Some(found) = find_ct_default(root, "chart_schema.yaml")
        {
            ct.chart_yaml_schema = found;
        }
        if ct.lint_conf.is_empty()
            && let Some(found) = find_ct_default(root, "lintconf.yaml")
        {
            ct.lint_conf = found;
        }
        // ct: "Version increment checking disabled" when charts are named or all are processed.
        let increments_off_by_selection = ct.check_version_increment && (ct.all || !ct.charts.is_empty());
        if increments_off_by_selection {
            ct.check_version_increment = false;
        }
        let harness_path = match &flags.harness_config {
            Some(p) => Some(root.join(p)),
            None => Some(root.join(FILE_NAME)).filter(|p| p.exists()),
        };
        let file = match &harness_path {
            Some(p) => {
                let text = crate::fsio::read_text(p, crate::fsio::limit::SETTINGS_FILE)
                    .map_err(|e| SettingsError::Read { path: p.clone(), source: e.into() })?;
                HarnessFile::parse(&text, p.strip_prefix(root).unwrap_or(p))?
            }
            None => HarnessFile::default(),
        };
        let mut settings = Self::from_parts(root, ct, ct_path, harness_path, file, flags);
        settings.increments_off_by_selection = increments_off_by_selection;
        settings.chart_yaml_schema = match chart_yaml_schema(root, &settings.ct)? {
            Some(s) => Some(s),
            // ct checks Chart.yaml against its default shape; so does profile ct.
            None if settings.profile == Profile::Ct => Some(builtin_ct_shape()),
            None => None,
        };
        Ok(settings)
    }

    /// The resolution itself, from what was read.
    pub fn from_parts(
        root: &Path,
        ct: CtConfig,
        ct_path: PathBuf,
        harness_path: Option<PathBuf>,
        file: HarnessFile,
        flags: &Flags,
    ) -> Self {
        // No harness.yaml: a repository that did not ask for house rules gets none.
        let profile = flags.profile.or(file.profile).unwrap_or(Profile::Ct);
        Self {
            root: root.to_owned(),
            lint_extra_args: ct.lint_extra_args(),
            ct,
            ct_path,
            harness_path,
            profile,
            helm: flags.helm.or(file.helm).unwrap_or(match profile {
                Profile::Ct => CT_HELM,
                Profile::Catalog => Major::V4,
            }),
            increments_off_by_selection: false,
            rules: file.rules,
            release: file.release.unwrap_or_else(|| DEFAULT_RELEASE.into()),
            namespace: file.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            kube_versions: file.kube_versions,
            chart_yaml_schema: None,
        }
    }

    /// The severity a rule's findings get in this run, or `None` when it is off
    /// (not in the profile, or turned off). `emitted` is what the check said.
    pub fn severity(&self, rule: &str, emitted: Severity) -> Option<Severity> {
        match self.rules.get(rule) {
            Some(Level::Off) => None,
            Some(Level::Warning) => Some(Severity::Warning),
            Some(Level::Error) => Some(Severity::Error),
            // An explicit level turns a rule on whatever the profile; otherwise the profile decides.
            None => match crate::checks::rule(rule) {
                Some(r) if !r.in_profile(self.profile) => None,
                _ => Some(emitted),
            },
        }
    }

    /// The findings this run reports: rules out of the profile or turned off
    /// are dropped, overridden severities applied.
    pub fn apply(&self, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
        diags
            .into_iter()
            .filter_map(|mut d| {
                d.severity = self.severity(&d.rule, d.severity)?;
                Some(d)
            })
            .collect()
    }

    /// How many registered rules this run judges, and how many `rules:` turns off.
    pub fn coverage(&self) -> crate::report::Coverage {
        let rules_on = crate::checks::rules().filter(|r| self.severity(r.id, r.severity).is_some()).count();
        let rules_off = self.rules.values().filter(|l| **l == Level::Off).count();
        crate::report::Coverage { rules_on, rules_off }
    }

    /// Whether Chart.yaml is held to the catalog's `schemas/chart.schema.json`
    /// (a house rule: the catalog profile only; ct's schema applies otherwise).
    pub fn chart_policy(&self) -> bool {
        self.profile == Profile::Catalog
    }

    /// Whether helm lint runs with `--strict` (only when ct.yaml asks, as ct does).
    pub fn strict_lint(&self) -> bool {
        self.lint_extra_args.iter().any(|a| a == "--strict")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HarnessFile, String> {
        HarnessFile::parse(text, Path::new("harness.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_json_schema_knows_the_same_keys_and_accepts_this_repository_s_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("schemas/harness.schema.json")).unwrap())
                .unwrap();
        let mut keys: Vec<&str> =
            schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut known = KEYS.to_vec();
        known.sort();
        assert_eq!(keys, known);
        let text = std::fs::read_to_string(root.join(FILE_NAME)).unwrap();
        let file = parse(&text).unwrap();
        assert_eq!(file.profile, Some(Profile::Catalog), "this catalog runs its house rules");
        let doc = crate::yaml::parse(&text).unwrap().docs[0].to_json();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&doc));
        assert!(!validator.is_valid(&serde_json::json!({"profle": "ct"})));
    }

    #[test]
    fn the_built_in_ct_shape_parses_and_passes_a_plain_helm_chart() {
        let schema = crate::yamale::Schema::parse(CT_SHAPE).unwrap();
        let chart = "apiVersion: v1\nname: a\nversion: 1.0.0\nappVersion: 1.2\nengine: gotpl\n\
                     dependencies:\n  - name: b\n    condition: b.enabled\n    import-values: [x, {child: c, parent: p}]\n";
        let doc = crate::yaml::parse(chart).unwrap();
        assert_eq!(schema.validate(&doc.docs[0]), []);
        let doc = crate::yaml::parse("name: a\nversion: 1\nfoo: 1\n").unwrap();
        assert_eq!(
            schema.validate(&doc.docs[0]).len(),
            3,
            "apiVersion missing, version a number, foo unknown"
        );
    }

    #[test]
    fn profile_ct_runs_the_helm_major_of_ct_s_own_image() {
        let tools = crate::tools::ToolVersions::parse(crate::tools::COMPILED).unwrap();
        let image = tools.require("CT_IMAGE_HELM_VERSION").unwrap();
        let major = |v: &str| v.trim_start_matches('v').split('.').next().unwrap_or_default().to_owned();
        assert_eq!(major(image), "3");
        assert_eq!(CT_HELM, Major::V3);
        assert_eq!(major(CT_HELM.pin().version), major(image), "the pinned helm of that major");
        let s = settings(HarnessFile::default());
        assert_eq!(s.helm, Major::V3, "no harness.yaml: profile ct, helm 3");
        let catalog = settings(HarnessFile { profile: Some(Profile::Catalog), ..Default::default() });
        assert_eq!(catalog.helm, Major::V4);
        let told = settings(HarnessFile { helm: Some(Major::V4), ..Default::default() });
        assert_eq!(told.helm, Major::V4, "harness.yaml `helm: 4` under profile ct");
        assert_eq!(parse("helm: 3\n").unwrap().helm, Some(Major::V3));
        assert!(parse("helm: 2\n").unwrap_err().contains("`helm` is the helm major to run"));
    }

    #[test]
    fn reads_every_setting() {
        let f = parse(
            "profile: catalog\nrules:\n  policy/image-digest: off\n  kube/unknown-kind: error\n\
             release: web\nnamespace: apps\nkube-versions: [\"1.30\", \"1.37.2\"]\n",
        )
        .unwrap();
        assert_eq!(f.profile, Some(Profile::Catalog));
        assert_eq!(f.rules["policy/image-digest"], Level::Off);
        assert_eq!(f.rules["kube/unknown-kind"], Level::Error);
        assert_eq!((f.release.as_deref(), f.namespace.as_deref()), (Some("web"), Some("apps")));
        assert_eq!(f.kube_versions.unwrap(), ["1.30.0", "1.37.2"]);
        assert_eq!(parse("").unwrap(), HarnessFile::default());
    }

    #[test]
    fn unknown_keys_and_rules_are_located_errors() {
        let e =
            parse("profle: ct\nrules:\n  policy/no-such-rule: off\n  policy/resources: loud\n").unwrap_err();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 3, "{e}");
        assert!(
            lines[0].starts_with("harness.yaml:1:1: unknown key `profle` (did you mean `profile`?)"),
            "{e}"
        );
        assert!(lines[1].starts_with("harness.yaml:3:3: unknown rule `policy/no-such-rule`"), "{e}");
        assert!(
            lines[2].starts_with("harness.yaml:4:21: `policy/resources` is off, warning or error"),
            "{e}"
        );
        let e = parse("profile: strict\nrelease: Web_1\nkube-versions: [1.30]\n").unwrap_err();
        assert!(e.contains("harness.yaml:1:10: `profile` is `catalog` or `ct`"), "{e}");
        assert!(e.contains("harness.yaml:2:10: `release`"), "{e}");
        assert!(e.contains("harness.yaml:3:17: a Kubernetes version is a quoted string"), "{e}");
    }

    fn settings(file: HarnessFile) -> RunSettings {
        let root = Path::new("/r");
        RunSettings::from_parts(
            root,
            CtConfig::default(),
            root.join("ct.yaml"),
            None,
            file,
            &Flags::default(),
        )
    }

    #[test]
    fn profile_and_overrides_decide_what_is_reported() {
        let diags = vec![
            Diagnostic::error("policy/resources", "c", "m"),
            Diagnostic::error("helm/lint", "c", "m"),
            Diagnostic::warning("policy/image-digest", "c", "m"),
            Diagnostic::error("kube/schema", "c", "m"),
        ];
        let rules = |s: &RunSettings| -> Vec<(String, Severity)> {
            s.apply(diags.clone()).into_iter().map(|d| (d.rule, d.severity)).collect()
        };
        // No harness.yaml: ct profile, the house rules are silent.
        let ct = settings(HarnessFile::default());
        assert_eq!(ct.profile, Profile::Ct);
        assert_eq!(
            rules(&ct),
            [("helm/lint".into(), Severity::Error), ("kube/schema".into(), Severity::Error)]
        );
        let mut file = HarnessFile { profile: Some(Profile::Catalog), ..Default::default() };
        assert_eq!(rules(&settings(file.clone())).len(), 4);
        file.rules.insert("policy/resources".into(), Level::Off);
        file.rules.insert("policy/image-digest".into(), Level::Error);
        file.rules.insert("kube/schema".into(), Level::Warning);
        assert_eq!(
            rules(&settings(file)),
            [
                ("helm/lint".into(), Severity::Error),
                ("policy/image-digest".into(), Severity::Error),
                ("kube/schema".into(), Severity::Warning)
            ]
        );
    }

    #[test]
    fn flags_pick_the_files_and_the_profile() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(".ci/ct")).unwrap();
        std::fs::write(
            tmp.path().join(".ci/ct/ct.yaml"),
            "chart-dirs: [kubernetes]\nhelm-lint-extra-args: --strict\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("h.yaml"), "profile: catalog\nrelease: web\n").unwrap();
        let flags = Flags { config: Some(".ci/ct/ct.yaml".into()), ..Default::default() };
        let s = RunSettings::resolve(tmp.path(), &flags).unwrap();
        assert_eq!(s.ct.chart_dirs, [PathBuf::from("kubernetes")]);
        assert!(s.strict_lint());
        assert_eq!((s.profile, s.release.as_str()), (Profile::Ct, DEFAULT_RELEASE));
        let flags = Flags { harness_config: Some("h.yaml".into()), ..Default::default() };
        let s = RunSettings::resolve(tmp.path(), &flags).unwrap();
        assert_eq!((s.profile, s.release.as_str()), (Profile::Catalog, "web"));
        assert_eq!(s.ct.chart_dirs, [PathBuf::from("charts")]);
        assert!(!s.strict_lint());
        let flags =
            Flags { harness_config: Some("h.yaml".into()), profile: Some(Profile::Ct), ..Default::default() };
        assert_eq!(RunSettings::resolve(tmp.path(), &flags).unwrap().profile, Profile::Ct);
        // A ct.yaml named on the command line must exist.
        let flags = Flags { config: Some("missing.yaml".into()), ..Default::default() };
        assert!(RunSettings::resolve(tmp.path(), &flags).unwrap_err().to_string().contains("missing.yaml"));
    }
}
