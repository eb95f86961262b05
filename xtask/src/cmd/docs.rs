use nex_harness::Exit;
use nex_harness::docs::{self, DocsError, Sources};
use nex_harness::helm::Major;
use std::path::{Path, PathBuf};

/// Generate each chart's README.md and the catalog table of the top-level README.
///
/// A chart README is built from Chart.yaml, values.schema.json, values.yaml and
/// ci/*-values.yaml; the text between `<!-- nex-charts:manual:start -->` and
/// `<!-- nex-charts:manual:end -->` is kept as it is. The top-level README's table
/// goes between `<!-- nex-charts:catalog:start -->` and `<!-- nex-charts:catalog:end -->`;
/// an existing `docs/rules.md` is regenerated from the rule registry.
/// Files are replaced atomically and only when their content changes.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Chart folders or names (default: every chart, plus the top-level catalog table)
    pub charts: Vec<PathBuf>,

    /// Write nothing; print a diff and exit 1 when a README is missing or stale
    #[arg(long)]
    pub check: bool,
}

/// One README and what it should contain.
struct Target {
    file: PathBuf,
    have: Option<String>,
    want: String,
}

pub fn run(args: &Args, _major: Major) -> anyhow::Result<Exit> {
    let root = super::root()?;
    let config = super::config(&root)?;
    let all = nex_harness::catalog::discover(&root, &config)?;
    let whole_catalog = args.charts.is_empty();
    let charts = nex_harness::catalog::select(all, &args.charts)?;

    let mut targets = Vec::new();
    let mut failed = 0usize;
    for chart in &charts {
        match chart_target(chart) {
            Ok(target) => targets.push(target),
            Err(e) => {
                failed += 1;
                eprintln!("error: {}", relative_message(&e.to_string(), &root));
            }
        }
    }

    if whole_catalog && failed > 0 {
        eprintln!("note: the catalog table in README.md is left as it is until every chart's docs build");
    } else if whole_catalog {
        match docs::catalog_readme(&root, &charts) {
            Ok(Some((have, want))) => {
                targets.push(Target { file: root.join(docs::README), have: Some(have), want })
            }
            Ok(None) => {}
            Err(e) => {
                failed += 1;
                eprintln!("error: {}", relative_message(&e.to_string(), &root));
            }
        }
    }

    // The rule reference is generated from the registry, not from the charts; it
    // belongs to the harness's own repository, so only a copy already there is kept
    // current (a library test fails when this repository's copy drifts).
    let rules_file = root.join(nex_harness::rules_doc::FILE);
    if whole_catalog
        && let Ok(have) = nex_harness::fsio::read_text(&rules_file, nex_harness::fsio::limit::SETTINGS_FILE)
    {
        targets.push(Target { file: rules_file, have: Some(have), want: nex_harness::rules_doc::markdown() });
    }

    let mut changed = 0usize;
    // A README that cannot be written does not stop the others; each is named at the end.
    let mut unwritable: Vec<String> = Vec::new();
    for t in &targets {
        if t.have.as_deref() == Some(t.want.as_str()) {
            continue;
        }
        changed += 1;
        let shown = t.file.strip_prefix(&root).unwrap_or(&t.file);
        if args.check {
            match &t.have {
                Some(have) => print!("{}", docs::unified_diff(shown, have, &t.want)),
                None => println!("{} is missing", shown.display()),
            }
        } else {
            if let Err(e) = docs::write_atomic(&t.file, &t.want) {
                unwritable.push(format!("{}: {e}", shown.display()));
                continue;
            }
            let verb = if t.have.is_some() { "updated" } else { "created" };
            println!("{verb} {}", shown.display());
        }
    }

    let total = targets.len();
    if args.check {
        if changed > 0 {
            println!("{changed} of {total} READMEs stale; run `cargo xtask docs`");
        } else {
            println!("{total} READMEs up to date");
        }
    } else {
        println!("{} written, {} up to date", changed - unwritable.len(), total - changed);
    }
    if !unwritable.is_empty() {
        // Not a finding about the charts: the checkout cannot be written (exit 2).
        for e in &unwritable {
            eprintln!("error: cannot write {e}");
        }
        return Ok(Exit::Failure);
    }
    Ok(if failed > 0 || (args.check && changed > 0) { Exit::Findings } else { Exit::Clean })
}

fn chart_target(chart: &nex_harness::catalog::Chart) -> Result<Target, DocsError> {
    let sources = Sources::read(chart)?;
    let file = chart.dir.join(docs::README);
    let have = docs::read_readme(&file)?;
    let want = docs::chart_readme(&sources, have.as_deref())?;
    Ok(Target { file, have, want })
}

/// Error messages name files by the path they were read from; show them from the root.
fn relative_message(msg: &str, root: &Path) -> String {
    let mut prefix = root.display().to_string();
    prefix.push('/');
    msg.replace(&prefix, "")
}
