//! Loading: everything the checks need about one chart, gathered at the edge
//! (files read, helm run, objects validated) so that the checks themselves stay pure.

use crate::cache::Cache;
use crate::catalog::{Chart, Scenario};
use crate::changed::Baseline;
use crate::files::{FileError, JsonFile, YamlFile};
use crate::helm::Helm;
use crate::kube::Schemas;
use crate::kube::crd::{self, CrdSet};
use crate::model::{CHART_YAML, ChartMeta, Previous};
use crate::paths::clean;
use crate::process::ProcOutput;
use crate::render::{self, RenderInputs, Rendering};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file a library chart keeps its values-contract definitions in.
pub const FRAGMENT: &str = "values.schema.fragment.json";

/// One `helm lint` run: a chart in one scenario.
#[derive(Debug, Clone)]
pub struct LintRun {
    pub scenario: Scenario,
    /// `Err` when helm could not be run at all.
    pub result: Result<ProcOutput, String>,
    /// Run with `--strict` (ct.yaml's `helm-lint-extra-args` asks for it):
    /// helm's warnings then fail the lint, so they are errors.
    pub strict: bool,
}

#[derive(Debug, Clone)]
pub struct LoadedChart {
    pub chart: Chart,
    /// Whether the dependencies could be vendored, and why not. When remote
    /// ones are unavailable, helm is not run at all (its errors would only
    /// repeat that, blaming templates that need the dependency).
    pub dependencies: Result<(), crate::deps::DepsError>,
    pub helm_lint: Vec<LintRun>,
    /// Why the model of `helm lint` could not vouch for the chart whatever
    /// its values (helm lint then ran for every scenario).
    pub lint_doubt: Option<String>,
    /// Otherwise, per scenario, whether the model proved helm lint would say
    /// nothing (`None`: it did not run) or why not (then it ran).
    pub lint_model: Vec<(String, Option<String>)>,
    /// The README and the files it is generated from.
    pub docs: crate::docs::Loaded,
    /// The chart's source files, read and parsed once.
    pub files: ChartFiles,
    /// Which of ct's validations are on.
    pub settings: Settings,
    /// The chart as it was on the target branch, when versions are compared.
    pub previous: Option<Previous>,
    /// Chart.yaml, typed (built from `files.chart_yaml`'s parse).
    pub meta: ChartMeta,
    /// The Kubernetes versions rendered for, or why none could be chosen.
    pub kube_versions: Result<Vec<String>, String>,
    /// Every scenario × Kubernetes version, rendered (empty when not asked for).
    pub renderings: Vec<Rendering>,
    /// Texts of the chart's values.yaml and of each scenario's values file.
    pub values_texts: BTreeMap<String, String>,
    /// Text of every template an object came from, by its path on disk.
    pub templates: BTreeMap<PathBuf, String>,
    /// `file://` dependencies: name and source folder.
    pub local_dependencies: Vec<(String, PathBuf)>,
    /// CRD files of the chart's `crds/` or the catalog's CRD folder that could not be read.
    pub crd_errors: Vec<String>,
    /// The chart on the target branch, rendered, for the upgrade checks (`lint --changed`).
    pub upgrade: Option<crate::base_tree::BaseChart>,
    /// The catalog's `images.lock.yaml` (image/* rules); `None` when it has none.
    pub images_lock: Option<std::sync::Arc<crate::images::lock::Lock>>,
    /// What `cargo xtask ct install` applies before ct runs (`ct/install-ready`);
    /// `None`: not read for this run (no fixtures).
    pub kind_fixtures: Option<std::sync::Arc<crate::kind::Fixtures>>,
    /// `group/Kind` of every CRD the chart's `crds/` (and its subcharts') define: helm installs them.
    pub chart_crd_kinds: Vec<String>,
}

/// ct's switches for the checks (from `ct.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `validate-chart-schema`: Chart.yaml against `schemas/chart.schema.json`.
    pub validate_chart_schema: bool,
    /// `validate-yaml`: the YAML hygiene rules.
    pub validate_yaml: bool,
    /// The yamllint settings of `lint-conf` (ct's defaults without one).
    pub yamllint: std::sync::Arc<crate::lintconf::LintConf>,
    /// The release name objects are rendered under (exceptions may leave its prefix out).
    pub release: String,
    /// harness.yaml's `kube-versions`: rendered for instead of the chart's matrix.
    pub kube_versions: Option<Vec<String>>,
    /// ct.yaml's `chart-yaml-schema` (yamale), when it names one.
    pub chart_yaml_schema: Option<std::sync::Arc<ChartYamlSchema>>,
    /// Whether Chart.yaml is also held to `schemas/chart.schema.json`.
    pub chart_policy: bool,
    /// Whether READMEs are judged (`docs/stale` is on): otherwise they are not read.
    pub docs: bool,
    /// ct's `validate-maintainers`: the `chart/maintainers` rule runs.
    pub validate_maintainers: bool,
    /// The repository's own CRD folder (`schemas/crds`), when it has one: hints name it.
    pub crd_folder: Option<String>,
}

/// A yamale schema for Chart.yaml and the path it is shown by.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartYamlSchema {
    pub shown: PathBuf,
    pub schema: crate::yamale::Schema,
}

// Its numbers come from digits only (never NaN), so equality is total.
impl Eq for ChartYamlSchema {}

impl Default for Settings {
    fn default() -> Self {
        Self {
            validate_chart_schema: true,
            validate_yaml: true,
            yamllint: Default::default(),
            release: crate::helm::RELEASE.into(),
            kube_versions: None,
            chart_yaml_schema: None,
            chart_policy: true,
            docs: true,
            validate_maintainers: false,
            crd_folder: None,
        }
    }
}

/// A file of the chart: where it is and what reading it gave.
#[derive(Debug, Clone)]
pub struct Source<T> {
    pub path: PathBuf,
    pub content: Result<T, FileError>,
}

#[derive(Debug, Clone)]
pub struct ChartFiles {
    pub chart_yaml: Source<YamlFile>,
    /// `None` when the chart has no values.yaml.
    pub values: Option<Source<YamlFile>>,
    /// `ci/*-values.yaml`, in scenario order, with the scenario name.
    pub ci: Vec<(String, Source<YamlFile>)>,
    /// Files under `ci/` that ct would skip (not named `*-values.yaml`).
    pub ci_ignored: Vec<PathBuf>,
    /// `None` when the chart has no values.schema.json.
    pub values_schema: Option<Source<JsonFile>>,
    /// Symbolic links inside the chart folder that lead back into themselves.
    pub symlink_loops: Vec<PathBuf>,
    /// Special files (FIFOs, devices) and links leaving the chart folder or the repository.
    pub scan: crate::files::Scan,
    /// The values-contract schema fragments of the chart's local library
    /// dependencies (`values.schema.fragment.json`), by dependency name.
    pub contracts: Vec<(String, Source<JsonFile>)>,
    /// The runtime contract (`runtime.yaml`), parsed; `None` when the chart has none.
    pub runtime: Option<Source<RuntimeFile>>,
}

/// A runtime contract as read: the model, or every placed problem.
pub type RuntimeFile = Result<crate::runtime::Contract, Vec<crate::runtime::Problem>>;

fn read_runtime(path: &Path) -> Result<RuntimeFile, FileError> {
    crate::files::read_text(path).map(|text| crate::runtime::parse(path, &text))
}

/// What the loader needs from the run's configuration.
#[derive(Clone)]
pub struct LoadOptions<'a> {
    pub helm: &'a Helm,
    pub lint_extra_args: Vec<String>,
    pub settings: Settings,
    /// Set when versions are compared with the target branch.
    pub baseline: Option<&'a Baseline>,
    pub cache: &'a Cache,
    /// Render every scenario × Kubernetes version and validate against these schemas.
    pub render: Option<&'a Schemas>,
    /// The charts at the merge base, for the upgrade checks.
    pub base: Option<&'a crate::base_tree::Tree>,
    /// Chart repositories and the cache for remote dependencies (none: no `chart-repos`, no cache).
    pub deps: Option<&'a crate::deps::Deps>,
    /// The catalog's image lock: its digest (for cache keys), parsed when a chart is loaded.
    pub images_lock: Option<crate::images::lock::LockFile>,
    /// The kind job's fixtures (`crate::kind`), read once for the run, and their text (for cache keys).
    pub kind_fixtures: Option<std::sync::Arc<crate::kind::FixturesFile>>,
    /// Library charts (their folders, canonical) that a chart using them as a
    /// `file://` dependency rendered in this run: their templates parse.
    pub rendered_libraries: Option<&'a std::collections::HashSet<PathBuf>>,
}

impl<'a> LoadOptions<'a> {
    pub fn new(helm: &'a Helm, cache: &'a Cache, lint_extra_args: Vec<String>) -> Self {
        Self {
            helm,
            lint_extra_args,
            settings: Settings::default(),
            baseline: None,
            cache,
            render: None,
            base: None,
            deps: None,
            images_lock: None,
            kind_fixtures: None,
            rendered_libraries: None,
        }
    }
}

/// How a library chart's folder is named in [`LoadOptions::rendered_libraries`]:
/// `file://../common` from two charts is one folder.
pub fn library_key(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| clean(dir))
}

pub fn load(chart: &Chart, opts: &LoadOptions<'_>) -> LoadedChart {
    // Every source file is read and parsed once; the render-side views below derive from it.
    let (files, meta) = read_files_and_meta(chart);
    // helm reads every file of the chart: one that is a FIFO or a device would
    // block it or never end, so such a chart is not given to helm at all (the
    // files are findings of their own).
    let over_limit = |s: &Source<YamlFile>| {
        s.content.as_ref().is_ok_and(|f| f.parsed.as_ref().is_err_and(|e| e.is_over_limit()))
    };
    // helm's YAML reader has no byte bound on alias expansion: a file ours
    // refuses for its size after expansion would run helm out of memory.
    // A link leaving the repository would have helm read (and package) what it points at.
    let helm_may_read = files.scan.special.is_empty()
        && files.scan.leaving_repo.is_empty()
        && !over_limit(&files.chart_yaml)
        && !files.values.as_ref().is_some_and(over_limit);
    // helm splits `--values a,b` at commas: such a file name would be read as two files.
    let comma = |s: &Source<YamlFile>| s.path.file_name().is_some_and(|n| n.to_string_lossy().contains(','));
    let bombs: Vec<&str> =
        files.ci.iter().filter(|(_, s)| over_limit(s) || comma(s)).map(|(name, _)| name.as_str()).collect();
    let scenarios: Vec<Scenario> =
        chart.scenarios.iter().filter(|s| !bombs.contains(&s.name.as_str())).cloned().collect();
    let dependencies = if helm_may_read {
        match opts.deps {
            Some(deps) => deps.ensure(chart, &meta, opts.helm),
            None => crate::deps::Deps::default().ensure(chart, &meta, opts.helm),
        }
    } else {
        Ok(())
    };
    // Without its dependencies helm can only fail; that is said once, as `deps/unavailable`.
    let helm_runs = helm_may_read && !matches!(dependencies, Err(crate::deps::DepsError::Unavailable { .. }));
    let fingerprint = opts.cache.fingerprint(&chart.dir);
    let inputs = RenderInputs {
        chart_dir: &chart.dir,
        meta: &meta,
        fingerprint: &fingerprint,
        helm: opts.helm,
        cache: opts.cache,
    };
    let kube_versions = match &opts.settings.kube_versions {
        Some(fixed) => Ok(fixed.clone()),
        None => crate::kube::versions::matrix(meta.kube_version.as_deref()),
    };
    // helm installs the CRDs of the chart's `crds/` and of its subcharts' (`charts/<dep>/crds/`).
    let (mut crds, mut crd_errors) = crd::load_dir(&chart.dir.join("crds"));
    let mut subcharts: Vec<PathBuf> = std::fs::read_dir(chart.dir.join("charts"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("crds"))
        .filter(|d| d.is_dir())
        .collect();
    subcharts.sort();
    for dir in subcharts {
        let (mut found, mut errors) = crd::load_dir(&dir);
        // The chart's own definitions win over its subcharts'.
        found.append(&mut crds);
        crds = found;
        crd_errors.append(&mut errors);
    }
    let mut chart_crd_kinds: Vec<String> = crds
        .iter()
        .map(|c| format!("{}/{}", c.api_version.split('/').next().unwrap_or_default(), c.kind))
        .collect();
    chart_crd_kinds.sort();
    chart_crd_kinds.dedup();
    let chart_crds = CrdSet::new(crds);

    // `helm lint` runs only where the model of it cannot prove it would say
    // nothing (see `helmlint`): whatever the values (then beside the renders,
    // for every scenario), or given a scenario's renders (then after them).
    let lint_run = |scenario: &Scenario| LintRun {
        scenario: scenario.clone(),
        result: render::lint(&inputs, scenario.values_file.as_deref(), &opts.lint_extra_args),
        strict: opts.lint_extra_args.iter().any(|a| a == "--strict"),
    };
    let model = crate::helmlint::Model::for_helm(&opts.helm.version, &opts.lint_extra_args);
    let chart_doubt = match (&model, opts.render) {
        (Ok(m), Some(_)) if meta.is_library() => m.library_doubt(
            chart,
            files.chart_yaml.content.as_ref().ok(),
            &meta,
            files.values.as_ref().and_then(|v| v.content.as_ref().ok()),
            opts.rendered_libraries.is_some_and(|seen| seen.contains(&library_key(&chart.dir))),
        ),
        (Ok(m), Some(_)) if kube_versions.is_ok() => {
            m.chart_doubt(chart, files.chart_yaml.content.as_ref().ok(), &meta)
        }
        (Err(doubt), _) => Some(doubt.clone()),
        _ => Some("no renders to judge".into()),
    };
    let (mut helm_lint, renderings): (Vec<LintRun>, Vec<Rendering>) = rayon::join(
        || match &chart_doubt {
            Some(_) if helm_runs => scenarios.par_iter().map(lint_run).collect(),
            _ => Vec::new(),
        },
        || match (opts.render, &kube_versions) {
            // A library chart renders nothing (helm refuses to): its users' renders check it.
            _ if meta.is_library() => Vec::new(),
            _ if !helm_runs => Vec::new(),
            (Some(schemas), Ok(versions)) => {
                render::render_all(&inputs, &scenarios, versions, Some((schemas, &chart_crds)))
            }
            _ => Vec::new(),
        },
    );
    let mut lint_model = Vec::new();
    if let (Ok(m), None, true) = (&model, &chart_doubt, helm_runs) {
        let doubts: Vec<Option<String>> = scenarios
            .iter()
            .map(|s| {
                let renders: Vec<&Rendering> =
                    renderings.iter().filter(|r| r.scenario.name == s.name).collect();
                m.render_doubt(&chart.name, &opts.helm.release, &renders)
            })
            .collect();
        helm_lint = scenarios
            .par_iter()
            .zip(&doubts)
            .filter(|(_, d)| d.is_some())
            .map(|(s, _)| lint_run(s))
            .collect();
        lint_model = scenarios.iter().zip(doubts).map(|(s, d)| (s.name.clone(), d)).collect();
    }

    let text = |s: &Source<YamlFile>| s.content.as_ref().map(|f| f.text.clone()).unwrap_or_default();
    let mut values_texts = BTreeMap::new();
    values_texts.insert(Scenario::DEFAULT.to_owned(), files.values.as_ref().map(text).unwrap_or_default());
    for (name, source) in &files.ci {
        values_texts.insert(name.clone(), text(source));
    }
    let local_dependencies = meta.local_dependencies(&chart.dir);
    let mut templates = BTreeMap::new();
    for r in &renderings {
        let sources = r.objects.iter().map(|o| &o.source).chain(r.parse_errors.iter().map(|e| &e.source));
        for source in sources {
            if let Some(path) = source.as_deref().and_then(|s| source_path(chart, &local_dependencies, s)) {
                templates
                    .entry(path)
                    .or_insert_with_key(|path| crate::files::read_text(path).unwrap_or_default());
            }
        }
    }
    let previous = opts.baseline.and_then(|b| b.previous(&chart.dir));
    let docs = if opts.settings.docs {
        crate::docs::Loaded::load(chart, &meta)
    } else {
        crate::docs::Loaded { sources: Err("READMEs are not judged in this run".into()), readme: None }
    };
    // The newest Kubernetes version of the matrix is the one upgrades are judged for.
    let upgrade = match (opts.base, &kube_versions) {
        (Some(tree), Ok(versions)) if helm_runs => {
            versions.last().map(|v| tree.load(chart, opts.helm, opts.cache, v))
        }
        _ => None,
    };
    LoadedChart {
        chart: chart.clone(),
        docs,
        files,
        settings: opts.settings.clone(),
        previous,
        dependencies,
        helm_lint,
        lint_doubt: chart_doubt,
        lint_model,
        meta,
        kube_versions,
        renderings,
        values_texts,
        templates,
        local_dependencies,
        crd_errors,
        upgrade,
        images_lock: opts.images_lock.as_ref().and_then(|l| l.lock()),
        kind_fixtures: opts.kind_fixtures.as_ref().and_then(|f| f.fixtures()),
        chart_crd_kinds,
    }
}

/// The file on disk behind a `# Source:` path: `<chart>/templates/x.yaml` is in
/// the chart folder; `<chart>/charts/<dep>/templates/x.yaml` is in the
/// dependency's source folder when it is a local (`file://`) one. `<chart>` is
/// Chart.yaml's `name`, which may differ from the folder's.
pub fn source_path(chart: &Chart, local_deps: &[(String, PathBuf)], source: &str) -> Option<PathBuf> {
    let (_, rel) = source.split_once('/')?;
    if let Some(rest) = rel.strip_prefix("charts/") {
        let (dep, inner) = rest.split_once('/')?;
        if let Some((_, dir)) = local_deps.iter().find(|(n, _)| n == dep) {
            return Some(clean(&dir.join(inner)));
        }
    }
    Some(chart.dir.join(rel))
}

fn source<T>(path: PathBuf, read: fn(&Path) -> Result<T, FileError>) -> Source<T> {
    let content = read(&path);
    Source { path, content }
}

fn optional<T>(path: PathBuf, read: fn(&Path) -> Result<T, FileError>) -> Option<Source<T>> {
    let s = source(path, read);
    if matches!(s.content, Err(FileError::Missing)) { None } else { Some(s) }
}

/// Reads every source file of a chart (no helm involved).
pub fn read_files(chart: &Chart) -> ChartFiles {
    read_files_and_meta(chart).0
}

/// [`read_files`], and Chart.yaml typed from the same parse.
pub fn read_files_and_meta(chart: &Chart) -> (ChartFiles, ChartMeta) {
    let dir = &chart.dir;
    let chart_yaml = source(dir.join(CHART_YAML), YamlFile::read);
    let meta = match &chart_yaml.content {
        Ok(f) => ChartMeta::from_parsed(&chart_yaml.path, f.text.clone(), &f.parsed)
            .with_requirements(crate::files::requirements(dir).as_deref()),
        Err(e) => ChartMeta::unreadable(&chart_yaml.path, e),
    };
    let ci = chart
        .scenarios
        .iter()
        .filter_map(|s| s.values_file.as_ref().map(|f| (s.name.clone(), source(f.clone(), YamlFile::read))))
        .collect();
    // What ct skips under ci/ (and under ci/lint/, the lint-only scenarios' folder).
    let skipped = |d: PathBuf| {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && !crate::catalog::is_ci_values(p))
            .collect::<Vec<_>>()
    };
    let lint_dir = dir.join("ci").join(crate::catalog::LINT_ONLY_DIR);
    let mut ci_ignored: Vec<PathBuf> = skipped(dir.join("ci"));
    if lint_dir.is_dir() {
        ci_ignored.retain(|p| *p != lint_dir);
        ci_ignored.extend(skipped(lint_dir));
    }
    ci_ignored.sort();
    let files = ChartFiles {
        chart_yaml,
        values: optional(dir.join("values.yaml"), YamlFile::read),
        ci,
        ci_ignored,
        values_schema: optional(dir.join("values.schema.json"), JsonFile::read),
        symlink_loops: crate::catalog::symlink_loops(dir),
        scan: crate::files::scan(dir),
        contracts: meta
            .local_dependencies(dir)
            .into_iter()
            .map(|(name, dep)| (name, dep.join(FRAGMENT)))
            .filter(|(_, path)| path.is_file())
            .map(|(name, path)| (name, source(path, JsonFile::read)))
            .collect(),
        runtime: optional(dir.join(crate::runtime::FILE_NAME), read_runtime),
    };
    (files, meta)
}

/// A loaded chart with nothing read: `scenarios` named, `chart_meta` given
/// (for unit tests of checks that read only those).
#[cfg(test)]
pub(crate) fn for_tests(scenarios: &[&str], chart_meta: serde_json::Value) -> LoadedChart {
    let dir = PathBuf::from("charts/t");
    let missing = |p: &str| Source { path: dir.join(p), content: Err(FileError::Missing) };
    // JSON is YAML: the model is built from the given document as Chart.yaml text.
    let text = chart_meta.to_string();
    let meta =
        ChartMeta::from_parsed(&dir.join(crate::model::CHART_YAML), text.clone(), &crate::yaml::parse(&text));
    LoadedChart {
        chart: Chart {
            name: "t".into(),
            dir: dir.clone(),
            scenarios: scenarios.iter().map(|s| Scenario { name: (*s).into(), values_file: None }).collect(),
        },
        dependencies: Ok(()),
        helm_lint: Vec::new(),
        lint_doubt: None,
        lint_model: Vec::new(),
        docs: crate::docs::Loaded { sources: Err("not read".into()), readme: None },
        files: ChartFiles {
            chart_yaml: missing("Chart.yaml"),
            values: None,
            ci: Vec::new(),
            ci_ignored: Vec::new(),
            values_schema: None,
            symlink_loops: Vec::new(),
            scan: Default::default(),
            contracts: Vec::new(),
            runtime: None,
        },
        settings: Settings::default(),
        previous: None,
        meta,
        images_lock: None,
        kind_fixtures: None,
        chart_crd_kinds: Vec::new(),
        kube_versions: Ok(Vec::new()),
        renderings: Vec::new(),
        values_texts: BTreeMap::new(),
        templates: BTreeMap::new(),
        local_dependencies: Vec::new(),
        crd_errors: Vec::new(),
        upgrade: None,
    }
}

#[cfg(test)]
mod tests {
    use crate::process::{MAX_TOOL_MESSAGE_BYTES, MAX_TOOL_MESSAGE_LINES, cut_tool_output};

    #[test]
    fn long_tool_output_is_cut_and_counted() {
        let dump: String = (0..150).map(|i| format!("goroutine {i} [running]:\n")).collect();
        let cut = cut_tool_output(&format!("Error: boom\n{dump}"));
        assert_eq!(cut.lines().count(), MAX_TOOL_MESSAGE_LINES + 1, "{cut}");
        assert!(cut.starts_with("Error: boom\ngoroutine 0 [running]:\n"), "{cut}");
        assert!(cut.contains("[131 more lines ("), "{cut}");
        let wide = "é".repeat(10_000);
        let cut = cut_tool_output(&wide);
        assert!(cut.len() < MAX_TOOL_MESSAGE_BYTES + 100, "{}", cut.len());
        assert_eq!(cut_tool_output("short\n"), "short\n");
    }
}
