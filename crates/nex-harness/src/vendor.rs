//! Local (`file://`) dependencies packed into a chart's `charts/` without a
//! helm process: what `helm dependency update` does for them (helm v3.17.2
//! and v4.1.4 `pkg/downloader/manager.go` `tarFromLocalDir`: load the folder
//! as `loader.LoadDir` does, check the version against the constraint, save
//! `<name>-<version>.tgz`), for the plain case only: the chart's Chart.lock
//! already locks exactly what is packed (update would rewrite it otherwise).
//! Anything else (no lock or a stale one, a link, a nested dependency, a
//! version the constraint refuses, other files in `charts/`) is left to helm,
//! which also says what is wrong.
//!
//! The archive is not helm's byte for byte (helm re-writes Chart.yaml from its
//! parse), but helm loads the same chart from it: the same files, the same
//! `.helmignore` rules, the same byte-order marks dropped. A test renders every
//! chart of the catalog from both and compares.

use crate::model::ChartMeta;
use std::path::{Path, PathBuf};

/// The largest file packed here (helm's own limit on one file of a chart it
/// loads, `MaxDecompressedFileSize`); a larger one is left to helm.
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// The most a dependency packed here may hold in all (helm's
/// `MaxDecompressedChartSize`); a larger one is left to helm.
pub const MAX_TOTAL_BYTES: u64 = 100 * 1024 * 1024;

/// Vendors `deps` (name, source folder) into `chart_dir/charts/` as `helm
/// dependency update` would, `helm3` choosing helm 3's reading of version
/// constraints. `None`: not a plain case, helm must do it; `Some(Err)`: the
/// archive could not be written.
pub fn local(
    chart_dir: &Path,
    meta: &ChartMeta,
    deps: &[(String, PathBuf)],
    helm3: bool,
) -> Option<Result<(), String>> {
    // An alias, an in-tree or remote dependency beside the local ones, or a
    // name given twice is helm's to sort out.
    let mut names: Vec<&str> = meta.dependencies.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if meta.dependencies.iter().any(|d| d.alias.is_some())
        || meta.dependencies.len() != deps.len()
        || names.len() != deps.len()
    {
        return None;
    }
    // helm reads a constraint written as a YAML number its own way (`1.0` as "1").
    let written = meta.value.get("dependencies").and_then(serde_json::Value::as_array)?;
    if written.iter().any(|d| !d.get("version").is_some_and(serde_json::Value::is_string)) {
        return None;
    }
    let charts = chart_dir.join("charts");
    let mut planned = Vec::with_capacity(deps.len());
    for ((name, source), declared) in deps.iter().zip(&meta.dependencies) {
        planned.push(pack(name, &declared.version, source, helm3)?);
    }
    // helm's update rewrites Chart.lock whenever what it resolves differs from
    // it; packing is the plain case only when the lock already says exactly
    // that (entries and digest), so a stale lock still goes through helm.
    let lock = crate::fsio::read_text(&chart_dir.join("Chart.lock"), crate::fsio::limit::CHART_FILE).ok()?;
    let expected: Vec<(String, String, String)> = meta
        .dependencies
        .iter()
        .zip(&planned)
        .map(|(d, p)| (d.name.clone(), d.repository.clone(), p.version.clone()))
        .collect();
    if crate::chart_lock::locked(&lock).ok()? != expected
        || crate::chart_lock::stated_digest(&lock)?
            != crate::chart_lock::lock_digest(&meta.text, &lock).ok()?
    {
        return None;
    }
    // helm replaces what `charts/` holds with the dependencies it saves: only
    // older archives of these dependencies may be there for the plain case.
    let names: Vec<&str> = planned.iter().map(|p| p.name.as_str()).collect();
    let mut stale = Vec::new();
    if charts.exists() {
        for entry in std::fs::read_dir(&charts).ok()? {
            let entry = entry.ok()?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type().ok()?.is_file() || !names.iter().any(|n| archive_of(&file, n)) {
                return None;
            }
            stale.push(entry.path());
        }
    }
    Some(write(chart_dir, &charts, planned, stale))
}

/// One dependency, ready to be written.
struct Packed {
    name: String,
    version: String,
    archive: Vec<u8>,
}

/// The archive helm would save for the chart in `source`, when it is a plain case.
fn pack(name: &str, constraint: &str, source: &Path, helm3: bool) -> Option<Packed> {
    // A link in the dependency's place is helm's to follow.
    if !std::fs::symlink_metadata(source).ok()?.is_dir() {
        return None;
    }
    let meta = crate::files::read_chart_meta(source);
    if meta.error.is_some()
        || meta.name.as_deref() != Some(name)
        || !meta.dependencies.is_empty()
        || meta.value.get("apiVersion").and_then(|v| v.as_str()) != Some("v2")
        // helm reads a version written as a YAML number its own way (`1.0` as "1").
        || !meta.value.get("version").is_some_and(serde_json::Value::is_string)
    {
        return None;
    }
    let version = meta.version.clone()?;
    let parsed = crate::constraint::Version::parse(&version)?;
    // helm refuses an empty constraint: its message is helm's to give.
    if constraint.trim().is_empty() {
        return None;
    }
    let constraint = crate::constraint::Constraint::parse(constraint).ok()?;
    let admitted = if helm3 { constraint.matches_helm3(&parsed) } else { constraint.matches(&parsed) };
    if !admitted {
        return None;
    }
    let ignore_text =
        crate::fsio::read_text_optional(&source.join(".helmignore"), crate::fsio::limit::CHART_FILE).ok()?;
    // Go's `filepath.Match` reads bracket classes differently in corner cases: helm decides those.
    if ignore_text.as_deref().is_some_and(|t| t.contains('[')) {
        return None;
    }
    let ignore = crate::helmignore::Rules::parse_with_defaults(ignore_text.as_deref().unwrap_or("")).ok()?;
    let files = plain_files(source, &ignore)?;
    let kept = ignore.keep(&files);
    // Nested charts and the Chart API v1 files helm rewrites on saving are helm's.
    let helms = |f: &str| f == "charts" || f.starts_with("charts/") || f.starts_with("requirements.");
    if kept.iter().any(|f| helms(f)) {
        return None;
    }
    let mut entries = Vec::with_capacity(kept.len());
    let mut total: u64 = 0;
    for rel in kept {
        let data = crate::fsio::read_capped(&source.join(rel), MAX_FILE_BYTES).ok()?;
        total = total.saturating_add(data.len() as u64);
        if total > MAX_TOTAL_BYTES {
            return None;
        }
        let data = data.strip_prefix(b"\xEF\xBB\xBF".as_slice()).map(<[u8]>::to_vec).unwrap_or(data);
        // helm refuses to save a schema that is not JSON (an empty file included).
        if rel == "values.schema.json" && serde_json::from_slice::<serde_json::Value>(&data).is_err() {
            return None;
        }
        entries.push(crate::archive::Entry { path: format!("{name}/{rel}"), data });
    }
    let archive = crate::archive::build_local(entries).ok()?;
    // helm 4 loads no file over its limit, `charts/*.tgz` included.
    if archive.len() as u64 > MAX_FILE_BYTES {
        return None;
    }
    Some(Packed { name: name.to_owned(), version, archive })
}

/// Every file under `dir` (relative, `/`-separated, sorted) outside the
/// folders `ignore` leaves out (not walked, as helm skips them), when all of
/// them are regular files reached without a link; `None` otherwise.
fn plain_files(dir: &Path, ignore: &crate::helmignore::Rules) -> Option<Vec<String>> {
    let rel = |p: &Path| -> Option<String> {
        let parts: Option<Vec<&str>> =
            p.strip_prefix(dir).ok()?.components().map(|c| c.as_os_str().to_str()).collect();
        Some(parts?.join("/"))
    };
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name().into_iter().filter_entry(|e| {
        !(e.file_type().is_dir() && rel(e.path()).is_some_and(|r| ignore.ignores(&r, true)))
    });
    for entry in walk {
        let entry = entry.ok()?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return None;
        }
        out.push(rel(entry.path())?);
    }
    Some(out)
}

/// Whether `file` is an archive of chart `name` (`<name>-<version>.tgz`).
fn archive_of(file: &str, name: &str) -> bool {
    file.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_suffix(".tgz"))
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit() || c == 'v'))
}

fn write(chart_dir: &Path, charts: &Path, planned: Vec<Packed>, stale: Vec<PathBuf>) -> Result<(), String> {
    std::fs::create_dir_all(charts).map_err(|e| format!("cannot create {}: {e}", charts.display()))?;
    let mut written = Vec::new();
    for p in planned {
        let path = charts.join(format!("{}-{}.tgz", p.name, p.version));
        crate::fsio::write_within(chart_dir, &path, &p.archive).map_err(|e| e.to_string())?;
        written.push(path);
    }
    for old in stale.iter().filter(|s| !written.contains(s)) {
        crate::fsio::remove_file_within(chart_dir, old).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(dir: &Path, text: &str, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("Chart.yaml"), text).unwrap();
        for (rel, body) in files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
    }

    const APP: &str = "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: ~0.1.0\n    repository: file://../lib\n";
    const LIB: &str = "apiVersion: v2\nname: lib\nversion: 0.1.2\ntype: library\n";

    /// A Chart.lock for `app` locking `lib` at `version`, with helm's digest.
    fn lock(app: &Path, version: &str) {
        let text = format!(
            "dependencies:\n- name: lib\n  repository: file://../lib\n  version: {version}\ndigest: DIGEST\ngenerated: \"2026-01-01T00:00:00Z\"\n"
        );
        let chart = std::fs::read_to_string(app.join("Chart.yaml")).unwrap();
        let digest = crate::chart_lock::lock_digest(&chart, &text).unwrap();
        std::fs::write(app.join("Chart.lock"), text.replace("DIGEST", &digest)).unwrap();
    }

    fn entries(path: &Path) -> Vec<(String, String)> {
        let bytes = std::fs::read(path).unwrap();
        let mut e: Vec<(String, String)> = crate::archive::read_entries(&bytes)
            .unwrap()
            .into_iter()
            .map(|e| (e.path, String::from_utf8(e.data).unwrap()))
            .collect();
        e.sort();
        e
    }

    #[test]
    fn packs_the_files_helm_loads_and_replaces_older_archives() {
        let tmp = tempfile::tempdir().unwrap();
        let (app, lib) = (tmp.path().join("app"), tmp.path().join("lib"));
        chart(&app, APP, &[("charts/lib-0.1.0.tgz", "old")]);
        lock(&app, "0.1.2");
        chart(
            &lib,
            LIB,
            &[
                (".helmignore", "*.bak\nnotes/\n"),
                ("templates/_x.tpl", "\u{feff}{{- define \"x\" }}{{- end }}"),
                ("templates/.hidden", "dot files in templates/ are ignored"),
                ("files/a.txt", "kept"),
                ("notes/n.txt", "ignored folder"),
                ("old.bak", "ignored file"),
            ],
        );
        let meta = crate::files::read_chart_meta(&app);
        let deps = meta.local_dependencies(&app);
        assert_eq!(local(&app, &meta, &deps, false), Some(Ok(())));
        assert!(!app.join("charts/lib-0.1.0.tgz").exists(), "the older archive is replaced");
        let got = entries(&app.join("charts/lib-0.1.2.tgz"));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["lib/.helmignore", "lib/Chart.yaml", "lib/files/a.txt", "lib/templates/_x.tpl"]);
        assert_eq!(
            got[3].1, "{{- define \"x\" }}{{- end }}",
            "the byte-order mark is dropped, as helm's loader does"
        );
    }

    #[test]
    fn leaves_anything_unusual_to_helm() {
        let tmp = tempfile::tempdir().unwrap();
        let (app, lib) = (tmp.path().join("app"), tmp.path().join("lib"));
        let run = |app_text: &str, lib_text: &str, extra: &[(&str, &str)]| {
            let _ = std::fs::remove_dir_all(&app);
            let _ = std::fs::remove_dir_all(&lib);
            chart(&app, app_text, extra);
            chart(&lib, lib_text, &[]);
            lock(&app, lib_text.lines().find_map(|l| l.strip_prefix("version: ")).unwrap_or("0.1.2"));
            let meta = crate::files::read_chart_meta(&app);
            let deps = meta.local_dependencies(&app);
            local(&app, &meta, &deps, false)
        };
        assert_eq!(run(APP, LIB, &[]), Some(Ok(())), "the plain case is packed");
        // Chart.lock: helm rewrites a stale one, so only one that already says what is packed will do.
        run(APP, LIB, &[]);
        lock(&app, "0.1.1");
        let meta = crate::files::read_chart_meta(&app);
        assert_eq!(
            local(&app, &meta, &meta.local_dependencies(&app), false),
            None,
            "a lock of another version"
        );
        std::fs::remove_file(app.join("Chart.lock")).unwrap();
        assert_eq!(local(&app, &meta, &meta.local_dependencies(&app), false), None, "no lock");
        lock(&app, "0.1.2");
        let wrong = std::fs::read_to_string(app.join("Chart.lock")).unwrap().replace("sha256:", "sha256:0");
        std::fs::write(app.join("Chart.lock"), wrong).unwrap();
        assert_eq!(
            local(&app, &meta, &meta.local_dependencies(&app), false),
            None,
            "a digest helm would refuse"
        );
        // helm 3 (Masterminds v3.3.0) admits no prerelease to a group whose other terms have none.
        let pre = LIB.replace("0.1.2", "0.1.3-rc.1");
        let ranged = APP.replace("~0.1.0", "\">=0.1.0-0, <0.2.0\"");
        assert_eq!(run(&ranged, &pre, &[]), Some(Ok(())), "helm 4 admits it");
        let meta = crate::files::read_chart_meta(&app);
        assert_eq!(local(&app, &meta, &meta.local_dependencies(&app), true), None, "helm 3 decides");
        assert_eq!(
            run(&APP.replace("~0.1.0", "1.0"), &LIB.replace("0.1.2", "1.0.0"), &[]),
            None,
            "a constraint as a number"
        );
        assert_eq!(
            run(APP, &LIB.replace("version: 0.1.2", "version: 0.1"), &[]),
            None,
            "a version as a number"
        );
        assert_eq!(run(APP, &LIB.replace("0.1.2", "0.2.0"), &[]), None, "a version the constraint refuses");
        assert_eq!(run(APP, &LIB.replace("name: lib", "name: other"), &[]), None, "a chart named otherwise");
        assert_eq!(
            run(&APP.replace("    repository", "    alias: l\n    repository"), LIB, &[]),
            None,
            "an alias"
        );
        assert_eq!(run(APP, LIB, &[("charts/other-1.0.0.tgz", "x")]), None, "charts/ holds something else");
        let nested =
            format!("{LIB}dependencies:\n  - name: x\n    version: 1.0.0\n    repository: file://../x\n");
        assert_eq!(run(APP, &nested, &[]), None, "a dependency with dependencies of its own");
        assert_eq!(run(APP, &LIB.replace("v2", "v1"), &[]), None, "a Chart API v1 dependency");
        run(APP, LIB, &[]);
        std::fs::write(lib.join("values.schema.json"), "").unwrap();
        let meta = crate::files::read_chart_meta(&app);
        assert_eq!(
            local(&app, &meta, &meta.local_dependencies(&app), false),
            None,
            "a schema that is not JSON"
        );
        std::fs::remove_file(lib.join("values.schema.json")).unwrap();
        std::fs::write(lib.join("requirements.lock"), "dependencies: []\n").unwrap();
        assert_eq!(local(&app, &meta, &meta.local_dependencies(&app), false), None, "Chart API v1 files");
        std::fs::remove_file(lib.join("requirements.lock")).unwrap();
        std::fs::write(lib.join(".helmignore"), "[a-]\n").unwrap();
        assert_eq!(local(&app, &meta, &meta.local_dependencies(&app), false), None, "a bracket class");
        // An ignored folder is not walked: a link inside it does not matter.
        std::fs::write(lib.join(".helmignore"), "node_modules/\n").unwrap();
        std::fs::create_dir_all(lib.join("node_modules")).unwrap();
        std::os::unix::fs::symlink("/etc", lib.join("node_modules/etc")).unwrap();
        assert_eq!(
            local(&app, &meta, &meta.local_dependencies(&app), false),
            Some(Ok(())),
            "an ignored link"
        );
        std::os::unix::fs::symlink("/etc", lib.join("etc")).unwrap();
        assert_eq!(
            local(&app, &meta, &meta.local_dependencies(&app), false),
            None,
            "a link in the dependency"
        );
    }

    #[test]
    fn archive_names_are_told_apart() {
        assert!(archive_of("common-0.1.0.tgz", "common"));
        assert!(archive_of("common-v1.tgz", "common"));
        assert!(!archive_of("common-test-0.1.0.tgz", "common"));
        assert!(!archive_of("common-0.1.0.tar", "common"));
        assert!(!archive_of("other-0.1.0.tgz", "common"));
    }
}
