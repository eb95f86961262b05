//! Synthetic catalogs for the benchmark: the real charts copied into a temp dir,
//! as they are (the real catalog) or N times under new names with 3 scenarios
//! each (their defaults and their first two `ci/*-values.yaml`).

use super::BenchError;
use crate::catalog::Chart;
use std::path::{Path, PathBuf};

/// Files at the catalog root that lint reads (ct's configuration and schemas).
const ROOT_FILES: &[&str] = &["ct.yaml", "lintconf.yaml", "chart_schema.yaml", "schemas"];

/// A generated catalog: where it is and what it holds.
#[derive(Debug, Clone)]
pub struct Generated {
    pub root: PathBuf,
    /// Application charts (rendered), then library charts (linted only).
    pub apps: Vec<PathBuf>,
    pub libraries: Vec<PathBuf>,
    /// Scenarios over all charts (each is one `helm lint`, and renders for applications).
    pub scenarios: usize,
    /// A copied repository's files as checked out (`--repo`): a cold run starts
    /// from them, whatever the previous run vendored. `None`: a generated catalog.
    pub pristine: Option<std::collections::BTreeSet<PathBuf>>,
    /// The repository's profile is ct: a chart with ci files is linted with
    /// those alone (ct's rule), by the lint and so by the baselines.
    pub ci_only: bool,
}

impl Generated {
    pub fn charts(&self) -> usize {
        self.apps.len() + self.libraries.len()
    }

    /// The chart in `dir` with the scenarios the lint runs.
    pub fn chart(&self, dir: &Path) -> Chart {
        let mut c = crate::catalog::load(dir);
        if self.ci_only && c.scenarios.iter().any(|s| s.values_file.is_some()) {
            c.scenarios.retain(|s| s.values_file.is_some());
        }
        c
    }

    /// Folders with vendored dependencies; removed before a cold run, the way a fresh checkout has none.
    pub fn clear_vendored(&self) -> Result<(), BenchError> {
        if let Some(kept) = &self.pristine {
            // Only what a run added to the checkout goes (in-tree subcharts stay).
            for dir in self.apps.iter().chain(&self.libraries) {
                for e in walkdir::WalkDir::new(dir.join("charts")).into_iter().flatten() {
                    if e.file_type().is_file() && !kept.contains(e.path()) {
                        crate::fsio::remove_file_within(&self.root, e.path())
                            .map_err(|err| BenchError::io(e.path(), err.into()))?;
                    }
                }
            }
            return Ok(());
        }
        for dir in self.apps.iter().chain(&self.libraries) {
            let vendored = dir.join("charts");
            if vendored.is_dir() {
                crate::fsio::remove_dir_all_within(dir, &vendored)
                    .map_err(|e| BenchError::io(&vendored, e.into()))?;
            }
        }
        Ok(())
    }
}

/// Whether a chart is a library (`type: library`): linted, never rendered.
pub fn is_library(dir: &Path) -> bool {
    crate::files::read_chart_meta(dir).is_library()
}

/// `count` = None: the real catalog as it is; `Some(n)`: n application charts
/// copied round-robin from the real ones, plus the library charts.
pub fn generate(
    source: &Path,
    real: &[Chart],
    dest: &Path,
    count: Option<usize>,
) -> Result<Generated, BenchError> {
    for f in ROOT_FILES {
        let from = source.join(f);
        if from.exists() {
            copy_tree(&from, &dest.join(f), &|_| true)?;
        }
    }
    let charts_dir = dest.join("charts");
    let (libs, apps): (Vec<&Chart>, Vec<&Chart>) = real.iter().partition(|c| is_library(&c.dir));
    if apps.is_empty() {
        return Err(BenchError::Setup("the catalog has no application chart to copy".into()));
    }
    let mut out = Generated {
        root: dest.to_path_buf(),
        apps: Vec::new(),
        libraries: Vec::new(),
        scenarios: 0,
        pristine: None,
        ci_only: false,
    };
    for lib in &libs {
        let to = charts_dir.join(&lib.name);
        copy_chart(&lib.dir, &to, None, None)?;
        out.scenarios += lib.scenarios.len();
        out.libraries.push(to);
    }
    match count {
        None => {
            for app in &apps {
                let to = charts_dir.join(&app.name);
                copy_chart(&app.dir, &to, None, None)?;
                out.scenarios += app.scenarios.len();
                out.apps.push(to);
            }
        }
        Some(n) => {
            for i in 0..n {
                let app = apps[i % apps.len()];
                let name = format!("{}-{i:03}", app.name);
                let to = charts_dir.join(&name);
                copy_chart(&app.dir, &to, Some(&name), Some(2))?;
                out.scenarios += 1 + app.scenarios.len().saturating_sub(1).min(2);
                out.apps.push(to);
            }
        }
    }
    Ok(out)
}

/// A copy of a whole repository (its `.git` left out), as it is: its charts
/// are those its ct.yaml names, application charts rendered, libraries linted.
pub fn copy_repo(source: &Path, dest: &Path) -> Result<Generated, BenchError> {
    // A git checkout is copied as git has it (what a CI job starts from); other folders whole.
    let tracked = std::process::Command::new("git")
        .arg("-C")
        .arg(source)
        .args(["ls-files", "-z"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            o.stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
                .collect::<std::collections::BTreeSet<PathBuf>>()
        });
    copy_tree(source, dest, &|rel: &Path| {
        rel.components().next().is_none_or(|c| c.as_os_str() != ".git")
            && tracked.as_ref().is_none_or(|t| t.contains(rel) || t.iter().any(|f| f.starts_with(rel)))
    })?;
    let config = crate::config::CtConfig::load(dest)
        .map_err(|e| BenchError::Setup(format!("{}: {e}", source.display())))?;
    let charts = crate::catalog::discover(dest, &config).map_err(|e| BenchError::Setup(e.to_string()))?;
    let pristine = walkdir::WalkDir::new(dest)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    let ci_only = crate::settings::RunSettings::resolve(dest, &Default::default())
        .is_ok_and(|s| s.profile == crate::rule::Profile::Ct);
    let mut out = Generated {
        root: dest.to_path_buf(),
        apps: Vec::new(),
        libraries: Vec::new(),
        scenarios: 0,
        pristine: Some(pristine),
        ci_only,
    };
    for c in charts {
        let dir = if c.dir.is_absolute() { c.dir.clone() } else { dest.join(&c.dir) };
        out.scenarios += out.chart(&dir).scenarios.len();
        if is_library(&dir) { out.libraries.push(dir) } else { out.apps.push(dir) }
    }
    if out.apps.is_empty() {
        return Err(BenchError::Setup(format!("{} has no application chart to measure", source.display())));
    }
    Ok(out)
}

/// Copies a chart without its vendored dependencies; renames it (Chart.yaml
/// `name`) and keeps only the first `ci` scenario files when asked.
fn copy_chart(from: &Path, to: &Path, rename: Option<&str>, ci: Option<usize>) -> Result<(), BenchError> {
    let mut kept_ci: Vec<PathBuf> = std::fs::read_dir(from.join("ci"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| crate::catalog::is_ci_values(p))
        .collect();
    kept_ci.sort();
    if let Some(n) = ci {
        kept_ci.truncate(n);
    }
    copy_tree(from, to, &|rel: &Path| {
        let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
        match first.as_deref() {
            Some("charts") => false,
            Some("ci") if rel.components().count() > 1 => kept_ci.iter().any(|k| k.ends_with(rel)),
            _ => true,
        }
    })?;
    if let Some(name) = rename {
        let path = to.join("Chart.yaml");
        let text = crate::files::read_text(&path).map_err(|e| BenchError::io(&path, e.into()))?;
        let renamed: Vec<String> = text
            .lines()
            .map(|l| if l.starts_with("name:") { format!("name: {name}") } else { l.to_owned() })
            .collect();
        crate::fsio::write_atomic(&path, (renamed.join("\n") + "\n").as_bytes())
            .map_err(|e| BenchError::io(&path, e.into()))?;
    }
    Ok(())
}

/// Copies a file or folder; `keep` sees paths relative to `from`.
fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<(), BenchError> {
    if from.is_file() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BenchError::io(parent, e))?;
        }
        crate::fsio::copy_capped(from, to, crate::fsio::limit::ARCHIVE)
            .map_err(|e| BenchError::io(from, e.into()))?;
        return Ok(());
    }
    let mut walk = walkdir::WalkDir::new(from).into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| BenchError::Setup(format!("{}: {e}", from.display())))?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        if !rel.as_os_str().is_empty() && !keep(rel) {
            if entry.file_type().is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| BenchError::io(&target, e))?;
        } else if entry.file_type().is_file() {
            crate::fsio::copy_capped(entry.path(), &target, crate::fsio::limit::ARCHIVE)
                .map_err(|e| BenchError::io(entry.path(), e.into()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(root: &Path, name: &str, library: bool, ci: &[&str]) -> Chart {
        let dir = root.join("charts").join(name);
        std::fs::create_dir_all(dir.join("ci")).unwrap();
        std::fs::create_dir_all(dir.join("charts")).unwrap();
        let kind = if library { "library" } else { "application" };
        std::fs::write(dir.join("Chart.yaml"), format!("apiVersion: v2\nname: {name}\ntype: {kind}\n"))
            .unwrap();
        std::fs::write(dir.join("charts/common-0.1.0.tgz"), "x").unwrap();
        for c in ci {
            std::fs::write(dir.join("ci").join(format!("{c}-values.yaml")), "a: 1\n").unwrap();
        }
        crate::catalog::load(&dir)
    }

    #[test]
    fn synthetic_catalogs_rename_and_keep_three_scenarios() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("ct.yaml"), "chart-dirs: [charts]\n").unwrap();
        let real =
            vec![chart(src.path(), "common", true, &[]), chart(src.path(), "app", false, &["a", "b", "c"])];
        let dest = tempfile::tempdir().unwrap();
        let g = generate(src.path(), &real, dest.path(), Some(5)).unwrap();
        assert_eq!(g.apps.len(), 5);
        assert_eq!(g.libraries.len(), 1);
        assert_eq!(g.scenarios, 5 * 3 + 1);
        let copy = dest.path().join("charts/app-004");
        assert!(std::fs::read_to_string(copy.join("Chart.yaml")).unwrap().contains("name: app-004\n"));
        assert!(copy.join("ci/b-values.yaml").is_file());
        assert!(!copy.join("ci/c-values.yaml").exists());
        assert!(!copy.join("charts").exists(), "vendored dependencies are not copied");
        assert!(dest.path().join("ct.yaml").is_file());
        let discovered = crate::catalog::discover(
            dest.path(),
            &crate::config::CtConfig { chart_dirs: vec!["charts".into()], ..Default::default() },
        )
        .unwrap();
        assert_eq!(discovered.len(), 6);
    }

    #[test]
    fn the_real_catalog_is_copied_whole() {
        let src = tempfile::tempdir().unwrap();
        let real = vec![chart(src.path(), "app", false, &["a", "b", "c"])];
        let dest = tempfile::tempdir().unwrap();
        let g = generate(src.path(), &real, dest.path(), None).unwrap();
        assert_eq!(g.scenarios, 4);
        assert!(dest.path().join("charts/app/ci/c-values.yaml").is_file());
    }
}
