use nex_harness::Exit;
use nex_harness::catalog::Chart;
use nex_harness::changed::Baseline;
use nex_harness::diag::Diagnostic;
use nex_harness::helm::Major;
use nex_harness::kube::Schemas;
use nex_harness::lintconf::LintConf;
use nex_harness::load::{LoadOptions, Settings};
use nex_harness::report::{self, Format, Summary};
use nex_harness::rule::Profile;
use nex_harness::settings::{Flags, RunSettings};
use std::io::IsTerminal;
use std::path::PathBuf;

/// CRDs configured for the whole catalog (custom resources charts may render).
const CATALOG_CRDS: &str = "schemas/crds";

/// Check charts: Chart.yaml, values and schemas, YAML, helm lint, renders, Kubernetes schemas, policy
///
/// Checks Chart.yaml policy, values against values.schema.json, YAML hygiene and
/// helm lint, then renders every scenario for each Kubernetes version of the
/// chart's matrix, validates every object against the Kubernetes JSON schemas (strict)
/// and applies the Pod Security "restricted" and catalog policies.
///
/// Charts are found under the `chart-dirs` of ct.yaml (nested folders too);
/// every chart is checked even when another fails. ct.yaml's `excluded-charts`,
/// `charts`, `all`, `exclude-deprecated`, `validate-chart-schema`,
/// `validate-yaml`, `lint-conf`, `helm-lint-extra-args`, `chart-yaml-schema`, `remote`, `target-branch`, `since`
/// and `check-version-increment` mean what they mean to ct; an unknown key is
/// an error. Each chart is checked with its values.yaml and with every
/// ci/*-values.yaml coalesced over it. helm runs are cached by content under
/// target/nex-cache, so an unchanged chart is not rendered again. harness.yaml (or
/// --harness-config) picks the rule profile (`catalog` or `ct`, the default without
/// one), per-rule levels, the release, namespace and Kubernetes versions of the renders.
#[derive(Debug, clap::Args)]
#[command(after_help = "Rule ids (stable): `--list-rules`, or docs/rules.md. \
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

    /// Print every rule (id, severity, profiles, exceptable, summary) and exit; `--format json` too
    #[arg(long)]
    pub list_rules: bool,

    /// chart-testing's configuration file (ct's own flag; default: ct.yaml at the root)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The harness settings file (default: harness.yaml at the root, when there is one)
    #[arg(long, value_name = "PATH")]
    pub harness_config: Option<PathBuf>,

    /// Rule profile, overriding harness.yaml's (`ct` without a harness.yaml)
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,

    /// yamllint configuration, overriding ct.yaml's `lint-conf` (ct's flag)
    #[arg(long, value_name = "PATH")]
    pub lint_conf: Option<String>,

    /// Yamale schema for Chart.yaml, overriding ct.yaml's `chart-yaml-schema` (ct's flag)
    #[arg(long, value_name = "PATH")]
    pub chart_yaml_schema: Option<String>,

    /// Extra `helm lint` arguments, overriding ct.yaml's `helm-lint-extra-args` (ct's flag)
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub helm_lint_extra_args: Option<String>,
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    if args.list_rules {
        let rules = nex_harness::rules_doc::text();
        print!("{}", if args.format == Format::Json { nex_harness::rules_doc::json() } else { rules });
        return Ok(Exit::Clean);
    }
    nex_harness::lint::init_thread_pool();
    let root = super::root()?;
    let flags = Flags {
        config: args.config.clone(),
        harness_config: args.harness_config.clone(),
        profile: args.profile,
        lint_conf: args.lint_conf.clone(),
        chart_yaml_schema: args.chart_yaml_schema.clone(),
        helm_lint_extra_args: args.helm_lint_extra_args.clone(),
    };
    // ct.yaml + harness.yaml + flags, resolved once; below reads only `settings`.
    let settings = RunSettings::resolve(&root, &flags)?;
    let config = &settings.ct;
    let shown_ct = settings.ct_path.strip_prefix(&root).unwrap_or(&settings.ct_path);
    let mut findings: Vec<Diagnostic> = config.findings_in(&settings.ct_path, shown_ct);
    let named = !args.charts.is_empty();
    // Charts named by their folders need no walk over the other charts.
    let direct = if named { nex_harness::catalog::by_path(&args.charts) } else { None };
    let discovery = match direct {
        Some(_) => Default::default(),
        None => nex_harness::catalog::discover_all(&root, config)?,
    };
    // Findings about chart folders belong to runs over the whole catalog.
    let whole = !named && !args.changed;
    findings.extend(discovery.findings.into_iter().filter(|d| whole || d.chart.is_empty()));
    let check_versions = config.check_version_increment && !config.all && (named || args.changed);
    // The README's catalog table is judged over the whole catalog only.
    let every_chart = (whole && config.charts.is_empty()).then(|| discovery.charts.clone());

    let mut baseline = None;
    let mut charts: Vec<Chart> = if let Some(direct) = direct {
        direct
    } else if named {
        nex_harness::catalog::select(discovery.charts, &args.charts)?
    } else if args.changed {
        let base = Baseline::resolve(config).map_err(|e| anyhow::anyhow!("--changed: {e}"))?;
        let touched = discovery.charts.into_iter().filter(|c| base.touches_chart(&c.dir)).collect();
        baseline = Some(base);
        touched
    } else if !config.charts.is_empty() {
        nex_harness::catalog::select(discovery.charts, &config.charts)?
    } else {
        discovery.charts
    };
    if check_versions && baseline.is_none() {
        match Baseline::resolve(config) {
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
    // ct lints a chart with each of its ci files, and with its bare defaults only
    // when it has none: under `profile: ct`, a chart whose defaults require a value
    // (a password) is not judged on them. The catalog profile keeps them (its
    // charts must install with their defaults).
    if settings.profile == Profile::Ct {
        for c in &mut charts {
            if c.scenarios.iter().any(|s| s.values_file.is_some()) {
                c.scenarios.retain(|s| s.values_file.is_some());
            }
        }
    }

    let helm = super::helm(major)?.with_release(&settings.release, &settings.namespace);
    let cache_root = nex_harness::provision::cache_root();
    let cache = nex_harness::cache::Cache::new(&cache_root);
    let schemas = Schemas::from_env(&cache, &cache_root, Some(root.join(CATALOG_CRDS)));
    let deps = nex_harness::deps::Deps::new(config.chart_repos.clone(), &cache_root);
    let mut opts = LoadOptions::new(&helm, &cache, settings.lint_extra_args.clone());
    opts.deps = Some(&deps);
    opts.render = Some(&schemas);
    let docs_judged =
        settings.severity(nex_harness::checks::docs::RULE.id, nex_harness::diag::Severity::Error).is_some();
    let (yamllint, lint_conf_findings) = LintConf::load(&root, &config.lint_conf);
    findings.extend(lint_conf_findings);
    opts.settings = Settings {
        validate_chart_schema: config.validate_chart_schema,
        validate_yaml: config.validate_yaml,
        yamllint: std::sync::Arc::new(yamllint),
        release: settings.release.clone(),
        kube_versions: settings.kube_versions.clone(),
        chart_yaml_schema: settings.chart_yaml_schema.clone(),
        chart_policy: settings.chart_policy(),
        // README rendering is a tenth of a cold run: skipped when its rule is off (profile ct).
        docs: docs_judged,
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
    // The image rules read the catalog's lock (offline); a catalog without one is not judged.
    // Read from the working directory (the root), so findings name it relative.
    if let Some((lock, problem)) = nex_harness::images::lock::LockFile::find(std::path::Path::new(""), &cache)
    {
        match problem {
            None => opts.images_lock = Some(lock),
            Some((message, at)) => findings.push(
                Diagnostic::error(nex_harness::checks::image::RULE_LOCK, "", message)
                    .at(at)
                    .hint("fix the file, or regenerate it with `cargo xtask images --update`"),
            ),
        }
    }
    // ct/install-ready judges the scenarios ct installs against the kind job's fixtures;
    // unreadable ones stop the run (the install would apply them).
    let fixtures = nex_harness::kind::FixturesFile::find(std::path::Path::new(""), &cache)
        .map_err(|e| anyhow::anyhow!("{e} (the kind job's fixtures, {})", nex_harness::kind::FIXTURES_DIR))?;
    opts.kind_fixtures = Some(std::sync::Arc::new(fixtures));
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
    for e in schemas.crd_errors() {
        findings.push(Diagnostic::error(
            nex_harness::checks::kube_schema::CRD,
            "",
            format!("cannot read CRD file {e}"),
        ));
    }
    if let Some(all) = every_chart.as_ref().filter(|_| docs_judged) {
        // The table lists every chart `docs` sees (deprecated ones too).
        findings.extend(nex_harness::lint::catalog_table(&root, all, &cache));
    }
    // Missing Kubernetes schemas are a tooling failure, not a finding about the charts.
    let unavailable = findings.iter().any(|d| d.rule == nex_harness::checks::kube_schema::UNAVAILABLE);
    let diags = nex_harness::diag::normalize(nex_harness::diag::relative_to(settings.apply(findings), &root));
    let names: Vec<String> = charts.iter().map(|c| c.name.clone()).collect();
    let color = args.format == Format::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    print!("{}", report::render_run(args.format, &diags, &names, color, Some(settings.coverage())));
    // Keep the results cache bounded (least recently used entries go first).
    cache.settle(nex_harness::cache::MAX_CACHE_BYTES);
    if unavailable {
        return Ok(Exit::Failure);
    }
    Ok(if Summary::of(&diags, names.len()).errors > 0 { Exit::Findings } else { Exit::Clean })
}

/// `deprecated: true` in Chart.yaml (for ct's `exclude-deprecated`).
fn is_deprecated(chart: &Chart) -> bool {
    nex_harness::files::read_chart_meta(&chart.dir).deprecated
}

/// A message with the catalog root left out of its paths.
fn relative(msg: &str, root: &std::path::Path) -> String {
    msg.replace(&format!("{}/", root.display()), "")
}
