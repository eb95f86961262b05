//! Discovery: which charts the catalog holds, and the scenarios each is checked in.

use crate::config::CtConfig;
use crate::diag::Diagnostic;
use crate::rule::{CATALOG, EVERY, Rule};
use std::path::{Path, PathBuf};

/// `catalog/symlink-loop`: a symbolic link that leads back into its own folder.
pub const RULE_SYMLINK_LOOP: Rule = Rule::error(
    "catalog/symlink-loop",
    EVERY,
    "a symbolic link under a chart dir leads back into its own folder",
);
/// `chart/missing`: a folder that looks like a chart (values.yaml, templates/) without a Chart.yaml.
pub const RULE_MISSING: Rule = Rule::error(
    "chart/missing",
    CATALOG,
    "a folder under a chart dir looks like a chart (values.yaml, templates/) but has no Chart.yaml",
);
pub const RULES: &[Rule] = &[RULE_SYMLINK_LOOP, RULE_MISSING];

/// A chart folder found under one of the `chart-dirs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// The folder name; Chart.yaml's `name` must match it.
    pub name: String,
    /// The chart folder, as reached from the working directory.
    pub dir: PathBuf,
    pub scenarios: Vec<Scenario>,
}

/// One way a chart is rendered: its defaults, or a `ci/*-values.yaml` over them
/// (ct's convention), or a `ci/lint/*-values.yaml` (linted and rendered like the
/// others, never installed: ct reads `ci/*-values.yaml` only, chart-testing
/// v3.14.0 `pkg/chart/chart.go` NewChart, which globs no subfolder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// `default`, or the file stem without `-values` (`ci/tls-values.yaml` → `tls`).
    pub name: String,
    pub values_file: Option<PathBuf>,
}

impl Scenario {
    pub const DEFAULT: &'static str = "default";

    /// A scenario for lint only: its file is under `ci/lint/`, where ct does not look.
    pub fn lint_only(&self) -> bool {
        self.values_file.as_deref().is_some_and(|f| {
            let mut up = f.ancestors().skip(1).filter_map(|a| a.file_name());
            up.next().is_some_and(|d| d == LINT_ONLY_DIR) && up.next().is_some_and(|d| d == "ci")
        })
    }
}

/// The folder under `ci/` for scenarios ct must not install (they need what a
/// bare kind cluster lacks: an outside service, a LoadBalancer, a privileged pod…).
pub const LINT_ONLY_DIR: &str = "lint";

impl Chart {
    /// The scenarios `ct install` installs, as chart-testing v3.14.0 does
    /// (`pkg/chart/chart.go` doInstall): each `ci/*-values.yaml`, or the defaults
    /// when there is none.
    pub fn ct_install_scenarios(&self) -> Vec<&Scenario> {
        let files: Vec<&Scenario> =
            self.scenarios.iter().filter(|s| s.values_file.is_some() && !s.lint_only()).collect();
        if files.is_empty() {
            self.scenarios.iter().filter(|s| s.values_file.is_none()).collect()
        } else {
            files
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0} is not a chart folder (no Chart.yaml in it or above it inside a chart dir)")]
    NotAChart(PathBuf),
    #[error("chart dir {0} does not exist (listed in ct.yaml `chart-dirs`)")]
    MissingChartDir(PathBuf),
    #[error("chart name {name:?} is ambiguous: it names {}; name the chart by its folder", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Ambiguous { name: String, paths: Vec<PathBuf> },
    #[error(
        "ct.yaml chart-dirs: {0} is outside the repository; chart dirs are folders inside it (such as `charts`)"
    )]
    OutsideChartDir(PathBuf),
}

/// A chart dir must be a relative path that stays inside `root`, links resolved.
fn inside(root: &Path, dir: &Path) -> bool {
    use std::path::Component;
    if !dir.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
        return false;
    }
    match (root.canonicalize(), root.join(dir).canonicalize()) {
        (Ok(r), Ok(d)) => d.starts_with(r),
        // Missing: reported as missing; nothing outside is read.
        _ => true,
    }
}

/// Finds every chart folder below the configured chart dirs: a folder holding a
/// `Chart.yaml`. The walk does not descend into a chart (its `charts/` holds
/// dependencies, not catalog charts), so nested groups of charts are found too.
pub fn discover(root: &Path, config: &CtConfig) -> Result<Vec<Chart>, CatalogError> {
    discover_all(root, config).map(|d| d.charts)
}

/// The charts, and what discovery itself found wrong (symlink loops, chart
/// folders without a Chart.yaml) as catalog-wide diagnostics.
#[derive(Debug, Default)]
pub struct Discovery {
    pub charts: Vec<Chart>,
    pub findings: Vec<Diagnostic>,
}

/// [`discover`], keeping discovery's own findings. Symbolic links are
/// followed (a linked chart is a chart), so loops are detected, not walked forever.
pub fn discover_all(root: &Path, config: &CtConfig) -> Result<Discovery, CatalogError> {
    let mut found = Discovery::default();
    for dir in &config.chart_dirs {
        if !inside(root, dir) {
            return Err(CatalogError::OutsideChartDir(dir.clone()));
        }
        let base = root.join(dir);
        if !base.is_dir() {
            return Err(CatalogError::MissingChartDir(dir.clone()));
        }
        // Hidden folders (`.github/fixtures`, `.git`) hold no catalog charts.
        let mut walk = walkdir::WalkDir::new(&base)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        while let Some(entry) = walk.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    if let Some(path) = e.path().filter(|_| e.loop_ancestor().is_some()) {
                        found.findings.push(loop_finding("", path, &rel(path)));
                    }
                    continue;
                }
            };
            if !entry.file_type().is_dir() {
                continue;
            }
            let path = entry.path();
            // The temp folder of an interrupted `cargo xtask new` is not a chart.
            if entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with(NEW_TEMP_PREFIX) {
                walk.skip_current_dir();
                continue;
            }
            // A Chart.yaml that is a FIFO or a device is still a chart: reading it is a finding, not a vanished chart.
            if std::fs::metadata(path.join("Chart.yaml")).is_ok() {
                walk.skip_current_dir();
                let chart = load(&rel(path));
                if !config.excluded_charts.contains(&chart.name) {
                    found.charts.push(chart);
                }
            } else if looks_like_chart(path) {
                walk.skip_current_dir();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if !config.excluded_charts.contains(&name) {
                    found.findings.push(
                        Diagnostic::error(RULE_MISSING, &name, "chart folder has no Chart.yaml")
                            .in_file(&rel(path).join("Chart.yaml"))
                            .hint("add a Chart.yaml (the name is case-sensitive), or move the folder out of the chart dir"),
                    );
                }
            }
        }
    }
    found.charts.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}

/// The prefix of the temp folder `cargo xtask new` builds a chart in.
pub const NEW_TEMP_PREFIX: &str = ".xtask-new.";

/// Paths are kept relative to the working directory when under it, so
/// reports (and GitHub annotations) name them the way the repository does.
fn rel(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => path.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}

fn looks_like_chart(dir: &Path) -> bool {
    ["chart.yaml", "Chart.yml", "chart.yml", "values.yaml"].iter().any(|f| dir.join(f).is_file())
        || dir.join("templates").is_dir()
}

fn loop_finding(chart: &str, path: &Path, shown: &Path) -> Diagnostic {
    let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
    Diagnostic::error(
        RULE_SYMLINK_LOOP,
        chart,
        format!("symbolic link loops back into its own folder (-> {target})"),
    )
    .in_file(shown)
    .hint("remove the link or point it outside the folder that contains it")
}

/// Symbolic links inside `dir` (a chart) that loop; helm would walk them forever.
/// Links leaving the repository are not walked (a link to `/usr` is not a loop to look for).
pub fn symlink_loops(dir: &Path) -> Vec<PathBuf> {
    crate::fsio::walk_chart(dir, Path::new("")).loops
}

/// The diagnostic for a loop found by [`symlink_loops`].
pub fn symlink_loop_diagnostic(chart: &str, path: &Path) -> Diagnostic {
    loop_finding(chart, path, path)
}

/// Narrows the catalog to the charts named on the command line: by folder, or
/// by name when exactly one chart folder has that name.
pub fn select(charts: Vec<Chart>, wanted: &[PathBuf]) -> Result<Vec<Chart>, CatalogError> {
    if wanted.is_empty() {
        return Ok(charts);
    }
    let mut out = Vec::new();
    for w in wanted {
        let found = match charts.iter().find(|c| same_dir(&c.dir, w)) {
            Some(c) => Some(c),
            None => {
                let named: Vec<&Chart> = charts.iter().filter(|c| w.as_os_str() == c.name.as_str()).collect();
                if named.len() > 1 {
                    return Err(CatalogError::Ambiguous {
                        name: w.to_string_lossy().into_owned(),
                        paths: named.iter().map(|c| c.dir.clone()).collect(),
                    });
                }
                named.first().copied()
            }
        };
        match found {
            Some(c) if !out.contains(c) => out.push(c.clone()),
            Some(_) => {}
            None if w.join("Chart.yaml").is_file() => out.push(load(&rel(w))),
            None => return Err(CatalogError::NotAChart(w.clone())),
        }
    }
    Ok(out)
}

/// The charts named by their folders (paths such as `charts/gatus`, each
/// holding a Chart.yaml), found without walking the chart dirs, so that
/// linting one chart touches no other; `None` when any is a bare name (which
/// discovery resolves) or not a chart folder (which [`select`] reports).
pub fn by_path(wanted: &[PathBuf]) -> Option<Vec<Chart>> {
    let mut out: Vec<Chart> = Vec::new();
    for w in wanted {
        let is_path = w.is_absolute() || w.components().count() > 1;
        if !is_path || !w.join("Chart.yaml").is_file() {
            return None;
        }
        let chart = load(&rel(&crate::paths::clean(w)));
        if !out.iter().any(|c| same_dir(&c.dir, &chart.dir)) {
            out.push(chart);
        }
    }
    Some(out)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Builds a chart from its folder: the name and the scenarios (defaults, then
/// each `ci/*-values.yaml` in name order).
pub fn load(dir: &Path) -> Chart {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut scenarios = vec![Scenario { name: Scenario::DEFAULT.into(), values_file: None }];
    let values_in = |d: PathBuf| {
        let mut found: Vec<PathBuf> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && is_ci_values(p))
            .collect();
        found.sort();
        found
    };
    let ci = dir.join("ci");
    let installed = values_in(ci.clone());
    let lint_only = values_in(ci.join(LINT_ONLY_DIR));
    for file in installed.into_iter().chain(lint_only) {
        let stem = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = stem.trim_end_matches(".yaml");
        // `ci/default-values.yaml` (kept by ct users) is a scenario of its own,
        // never the built-in defaults: it keeps its full stem.
        let mut name = match stem.trim_end_matches("-values") {
            Scenario::DEFAULT => stem.to_owned(),
            short => short.to_owned(),
        };
        // The same stem in ci/ and ci/lint/: names stay unique (exceptions and docs use them).
        if scenarios.iter().any(|s| s.name == name) {
            name = format!("{name}-{LINT_ONLY_DIR}");
        }
        scenarios.push(Scenario { name, values_file: Some(file) });
    }
    Chart { name, dir: dir.to_path_buf(), scenarios }
}

/// ct only reads `ci/*-values.yaml`; anything else under `ci/` is skipped by it.
pub fn is_ci_values(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("-values.yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(root: &Path, rel: &str, ci: &[&str]) {
        let dir = root.join(rel);
        std::fs::create_dir_all(dir.join("ci")).unwrap();
        std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\n").unwrap();
        for f in ci {
            std::fs::write(dir.join("ci").join(f), "a: 1\n").unwrap();
        }
    }

    #[test]
    fn finds_nested_charts_but_not_dependencies() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/a", &["tls-values.yaml", "notes.yaml"]);
        chart(tmp.path(), "charts/group/b", &[]);
        chart(tmp.path(), "charts/a/charts/dep", &[]);
        let found = discover(tmp.path(), &CtConfig::default()).unwrap();
        let names: Vec<_> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let scen: Vec<_> = found[0].scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(scen, ["default", "tls"]);
    }

    #[test]
    fn lint_only_scenarios_are_rendered_but_not_installed_by_ct() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/a", &["tls-values.yaml"]);
        let lint = tmp.path().join("charts/a/ci/lint");
        std::fs::create_dir_all(&lint).unwrap();
        for f in ["host-values.yaml", "tls-values.yaml", "notes.md"] {
            std::fs::write(lint.join(f), "a: 1\n").unwrap();
        }
        let found = discover(tmp.path(), &CtConfig::default()).unwrap();
        let scen: Vec<_> = found[0].scenarios.iter().map(|s| (s.name.as_str(), s.lint_only())).collect();
        assert_eq!(scen, [("default", false), ("tls", false), ("host", true), ("tls-lint", true)]);
        let installed: Vec<_> = found[0].ct_install_scenarios().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(installed, ["tls"]);
        // With no ci/*-values.yaml left, ct installs the defaults.
        std::fs::remove_file(tmp.path().join("charts/a/ci/tls-values.yaml")).unwrap();
        let found = discover(tmp.path(), &CtConfig::default()).unwrap();
        let installed: Vec<_> = found[0].ct_install_scenarios().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(installed, ["default"]);
    }

    #[test]
    fn a_ci_file_named_default_does_not_replace_the_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/a", &["default-values.yaml", "tls-values.yaml"]);
        let found = discover(tmp.path(), &CtConfig::default()).unwrap();
        let scen: Vec<_> = found[0].scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(scen, ["default", "default-values", "tls"]);
    }

    #[test]
    fn hidden_folders_are_not_walked() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/a", &[]);
        chart(tmp.path(), "charts/.github/fixtures/b", &[]);
        chart(tmp.path(), "charts/.hidden", &[]);
        let found = discover(tmp.path(), &CtConfig::default()).unwrap();
        let names: Vec<_> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn a_name_two_folders_share_is_ambiguous_and_paths_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/one/app", &[]);
        chart(tmp.path(), "charts/two/app", &[]);
        chart(tmp.path(), "charts/solo", &[]);
        let found = discover(tmp.path(), &CtConfig::default()).unwrap();
        let err = select(found.clone(), &[PathBuf::from("app")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("one/app") && message.contains("two/app"), "{message}");
        let by_path = select(found.clone(), &[tmp.path().join("charts/two/app")]).unwrap();
        assert_eq!(by_path.len(), 1);
        assert!(by_path[0].dir.ends_with("two/app"));
        assert_eq!(select(found, &[PathBuf::from("solo")]).unwrap()[0].name, "solo");
    }

    #[test]
    fn charts_named_by_folder_are_found_without_discovery() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/a", &["tls-values.yaml"]);
        let a = tmp.path().join("charts/a");
        let found = by_path(&[a.clone(), tmp.path().join("charts/./a/")]).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].name, "a");
        assert_eq!(found[0].scenarios.len(), 2);
        // A bare name is discovery's to resolve, a folder without Chart.yaml select's to refuse.
        assert!(by_path(&[PathBuf::from("a")]).is_none());
        assert!(by_path(&[a, tmp.path().join("charts")]).is_none());
    }

    #[test]
    fn excluded_charts_are_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/a", &[]);
        chart(tmp.path(), "charts/b", &[]);
        let config = CtConfig { excluded_charts: vec!["a".into()], ..CtConfig::default() };
        let found = discover(tmp.path(), &config).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "b");
    }

    #[test]
    fn an_interrupted_new_is_not_a_chart() {
        let tmp = tempfile::tempdir().unwrap();
        chart(tmp.path(), "charts/a", &[]);
        chart(tmp.path(), &format!("charts/{NEW_TEMP_PREFIX}x1y2"), &[]);
        let names: Vec<_> =
            discover(tmp.path(), &CtConfig::default()).unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["a"]);
    }

    #[test]
    fn chart_dirs_outside_the_repository_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        chart(&root, "charts/a", &[]);
        chart(tmp.path(), "elsewhere/b", &[]);
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), root.join("linked")).unwrap();
        for dir in ["/etc", "../elsewhere", "charts/../../elsewhere", "linked"] {
            let config = CtConfig { chart_dirs: vec![PathBuf::from(dir)], ..CtConfig::default() };
            let e = discover(&root, &config).unwrap_err();
            assert!(matches!(e, CatalogError::OutsideChartDir(_)), "{dir}: {e}");
        }
        let config = CtConfig { chart_dirs: vec![PathBuf::from("./charts")], ..CtConfig::default() };
        assert_eq!(discover(&root, &config).unwrap().len(), 1);
    }
}
