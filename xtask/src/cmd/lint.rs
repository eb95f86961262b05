use nex_harness::Exit;
use nex_harness::catalog::Chart;
use nex_harness::changed::Baseline;
use nex_harness::diag::Diagnostic;
use nex_harness::helm::Major;
use nex_harness::kube::Schemas;
use nex_harness::lintconf::LintConf;
use nex_harness::load::{LoadOptions, Settings};
use nex_harness::report::{self, Format, Summary};
use std::io::IsTerminal;
use std::path::PathBuf;

/// CRDs configured for the whole catalog (custom resources charts may render).
const CATALOG_CRDS: &str = "schemas/crds";

/// Check charts: Chart.yaml, values and schemas, YAML, helm lint, renders, Kubernetes schemas, policy
///
/// Checks Chart.yaml policy, values against values.schema.json, YAML hygiene and
/// helm lint --strict, then renders every scenario for each Kubernetes version of the
/// chart's matrix, validates every object against the Kubernetes JSON schemas (strict)
/// and applies the Pod Security "restricted" and catalog policies.
///
/// Charts are found under the `chart-dirs` of ct.yaml (nested folders too);
/// every chart is checked even when another fails. ct.yaml's `excluded-charts`,
/// `charts`, `all`, `exclude-deprecated`, `validate-chart-schema`,
/// `validate-yaml`, `lint-conf`, `helm-lint-extra-args`, `remote`, `target-branch`, `since`
/// and `check-version-increment` mean what they mean to ct; an unknown key is
/// an error. Each chart is checked with its values.yaml and with every
/// ci/*-values.yaml coalesced over it. helm runs are cached by content under
/// target/nex-cache, so an unchanged chart is not rendered again.
#[derive(Debug, clap::Args)]
#[command(after_help = "Rule ids (stable) are listed in README.md under \"Checks\". \
Version increments are checked (check-version-increment) with --changed and for charts named \
on the command line, against `git merge-base <remote>/<target-branch> HEAD`.")]
pub struct Args {
    /// Chart folders or names to check (default: the whole catalog, or ct.yaml `charts`)
    pub charts: Vec<PathBuf>,

    /// Only charts changed against ct.yaml's target branch (git merge-base), with version-increment checks
    #[arg(long, conflicts_with = "charts")]
    pub changed: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    nex_harness::lint::init_thread_pool();
    let root = super::root()?;
    let config = super::config(&root)?;
    let mut findings: Vec<Diagnostic> = config.findings(&root);
    let discovery = nex_harness::catalog::discover_all(&root, &config)?;
    let named = !args.charts.is_empty();
    // Findings about chart folders belong to runs over the whole catalog.
    let whole = !named && !args.changed;
    findings.extend(discovery.findings.into_iter().filter(|d| whole || d.chart.is_empty()));
    let check_versions = config.check_version_increment && !config.all && (named || args.changed);

    let mut baseline = None;
    let mut charts: Vec<Chart> = if named {
        nex_harness::catalog::select(discovery.charts, &args.charts)?
    } else if args.changed {
        let base = Baseline::resolve(&config).map_err(|e| anyhow::anyhow!("--changed: {e}"))?;
        let touched = discovery.charts.into_iter().filter(|c| base.touches_chart(&c.dir)).collect();
        baseline = Some(base);
        touched
    } else if !config.charts.is_empty() {
        nex_harness::catalog::select(discovery.charts, &config.charts)?
    } else {
        discovery.charts
    };
    if check_versions && baseline.is_none() {
        match Baseline::resolve(&config) {
            Ok(b) => baseline = Some(b),
            Err(e) => findings.push(
                Diagnostic::warning(
                    nex_harness::checks::chart_yaml::RULE_INCREMENT,
                    "",
                    format!("versions not compared: {e}"),
                )
                .hint("set check-version-increment: false in ct.yaml to skip this comparison"),
            ),
        }
    }
    if config.exclude_deprecated {
        charts.retain(|c| !is_deprecated(c));
    }

    let helm = super::helm(major)?;
    let cache_root = nex_harness::provision::cache_root();
    let cache = nex_harness::cache::Cache::new(&cache_root);
    let (schemas, crd_errors) = Schemas::from_env(&cache_root, Some(root.join(CATALOG_CRDS)));
    let mut opts = LoadOptions::new(&helm, &cache, config.lint_extra_args());
    opts.render = Some(&schemas);
    let (yamllint, lint_conf_findings) = LintConf::load(&root, &config.lint_conf);
    findings.extend(lint_conf_findings);
    opts.settings = Settings {
        validate_chart_schema: config.validate_chart_schema,
        validate_yaml: config.validate_yaml,
        yamllint: std::sync::Arc::new(yamllint),
    };
    opts.baseline = if check_versions { baseline.as_ref() } else { None };
    // `--changed` also judges upgrades from the target branch's charts (upgrade/* rules).
    let tree = match (&baseline, args.changed) {
        (Some(base), true) => Some(
            nex_harness::base_tree::Tree::extract(base, &config.chart_dirs)
                .map_err(|e| anyhow::anyhow!("--changed: {e}"))?,
        ),
        _ => None,
    };
    opts.base = tree.as_ref();
    // A checkout the harness cannot write to is a tooling failure, not the charts' fault.
    let unwritable: Vec<String> = charts
        .iter()
        .filter_map(|c| nex_harness::deps::writable(c).err())
        .map(|e| relative(&e.to_string(), &root))
        .collect();
    if !unwritable.is_empty() {
        for e in &unwritable {
            eprintln!("error: {e}");
        }
        return Ok(Exit::Failure);
    }
    findings.extend(nex_harness::lint::run(&charts, &opts));
    for e in crd_errors {
        findings.push(Diagnostic::error(
            nex_harness::checks::kube_schema::CRD,
            "",
            format!("cannot read CRD file {e}"),
        ));
    }
    if whole && config.charts.is_empty() {
        // The table lists every chart `docs` sees (deprecated ones too). Charts whose
        // docs cannot be built have their own findings; the table is not judged then.
        let all = nex_harness::catalog::discover(&root, &config)?;
        let top = nex_harness::docs::catalog_readme(&root, &all).ok().flatten();
        findings.extend(nex_harness::checks::docs::catalog(&root.join(nex_harness::docs::README), top));
    }
    let diags = nex_harness::diag::normalize(findings);
    let names: Vec<String> = charts.iter().map(|c| c.name.clone()).collect();
    let color = args.format == Format::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    print!("{}", report::render(args.format, &diags, &names, color));
    // Keep the results cache bounded (least recently used entries go first).
    cache.prune(nex_harness::cache::MAX_CACHE_BYTES);
    // Missing Kubernetes schemas are a tooling failure, not a finding about the charts.
    if diags.iter().any(|d| d.rule == nex_harness::checks::kube_schema::UNAVAILABLE) {
        return Ok(Exit::Failure);
    }
    Ok(if Summary::of(&diags, names.len()).errors > 0 { Exit::Findings } else { Exit::Clean })
}

/// `deprecated: true` in Chart.yaml (for ct's `exclude-deprecated`).
fn is_deprecated(chart: &Chart) -> bool {
    nex_harness::files::YamlFile::read(&chart.dir.join("Chart.yaml"))
        .ok()
        .and_then(|f| {
            f.root().and_then(|r| r.get("deprecated")).map(|d| d.to_json() == serde_json::Value::Bool(true))
        })
        .unwrap_or(false)
}

/// A message with the catalog root left out of its paths.
fn relative(msg: &str, root: &std::path::Path) -> String {
    msg.replace(&format!("{}/", root.display()), "")
}
