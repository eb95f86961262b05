use anyhow::Context;
use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::scaffold::{self, FRAGMENT, LIBRARY};
use std::path::Path;

/// Scaffold a chart on the common library and the values contract.
///
/// Creates <first chart dir of ct.yaml>/NAME with Chart.yaml, values.yaml,
/// values.schema.json (the contract, from the library's schema fragment), templates,
/// NOTES.txt, a helm test, a ci/ scenario, .helmignore and the generated README.
/// The example app is traefik/whoami; the chart lints clean as generated.
/// Exits 2, writing nothing, on a bad name or an existing folder.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The chart's name: lowercase letters and digits, single dashes between (`^[a-z0-9]+(-[a-z0-9]+)*$`)
    pub name: String,
}

pub fn run(args: &Args, _major: Major) -> anyhow::Result<Exit> {
    let name = &args.name;
    if !scaffold::valid_name(name) {
        eprintln!(
            "error: `{name}` is not a valid chart name: use lowercase letters and digits, with single dashes \
             between them (`^[a-z0-9]+(-[a-z0-9]+)*$`, at most 53 characters)"
        );
        return Ok(Exit::Failure);
    }
    let root = super::root()?;
    let config = super::config(&root)?;
    let chart_dir = config.chart_dirs.first().context("ct.yaml lists no `chart-dirs`")?;
    let dest = chart_dir.join(name);
    if root.join(&dest).symlink_metadata().is_ok() {
        eprintln!("error: {} already exists; nothing was written", dest.display());
        return Ok(Exit::Failure);
    }

    let charts = nex_harness::catalog::discover(&root, &config)?;
    let library = charts.iter().find(|c| c.name == LIBRARY).with_context(|| {
        format!("no `{LIBRARY}` library chart in the catalog; new charts are built on it")
    })?;
    let fragment_file = library.dir.join(FRAGMENT);
    let shown = fragment_file.strip_prefix(&root).unwrap_or(&fragment_file).to_path_buf();
    let fragment = nex_harness::files::read_text(&fragment_file)
        .with_context(|| format!("cannot read {} (the values contract)", shown.display()))?;
    let files = scaffold::files(name, &fragment, &shown)?;

    write_all(&root.join(&dest), &files)?;
    for (file, _) in &files {
        println!("created {}", dest.join(file).display());
    }
    // The catalog table lists every chart, so it gains a row; lint would call it stale otherwise.
    let charts = nex_harness::catalog::discover(&root, &config)?;
    match nex_harness::docs::catalog_readme(&root, &charts) {
        Ok(Some((have, want))) if have != want => {
            let top = root.join(nex_harness::docs::README);
            nex_harness::docs::write_atomic(&top, &want)
                .with_context(|| format!("cannot write {}", top.display()))?;
            println!("updated {}", nex_harness::docs::README);
        }
        Ok(_) => {}
        Err(e) => eprintln!("note: the catalog table in README.md was not updated: {e}"),
    }
    println!(
        "\nNext: replace the example image (traefik/whoami), port and probe paths with {name}'s, \
         then run `cargo xtask docs` and `cargo xtask lint {name}`."
    );
    Ok(Exit::Clean)
}

/// Writes every file into a temp folder beside `dest`, then renames it into place:
/// an interrupted run leaves no half-made chart.
fn write_all(dest: &Path, files: &[(std::path::PathBuf, String)]) -> anyhow::Result<()> {
    let parent = dest.parent().context("the chart folder has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(nex_harness::catalog::NEW_TEMP_PREFIX)
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a temp folder in {}", parent.display()))?;
    for (file, text) in files {
        let path = tmp.path().join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        nex_harness::fsio::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Temp folders are private (0700); a chart folder is an ordinary one.
    #[cfg(unix)]
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .with_context(|| format!("cannot set the mode of {}", tmp.path().display()))?;
    // rename(2) refuses a non-empty destination, so a folder made meanwhile is never clobbered.
    nex_harness::fsio::rename_within(parent, tmp.path(), dest)
        .with_context(|| format!("cannot move the new chart to {}", dest.display()))?;
    let _ = tmp.keep();
    Ok(())
}
