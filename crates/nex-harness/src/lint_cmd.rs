//! The `lint` command, shared by `cargo xtask lint` (this catalog's CLI) and
//! `nexct lint` (the installable drop-in for `ct lint`): its arguments (ct's
//! flags among them, see [`crate::ct_cli`]), which charts it checks, the run,
//! the report and the exit code.

use crate::Exit;
use crate::catalog::{CatalogError, Chart};
use crate::changed::Baseline;
use crate::ct_cli::CtFlags;
use crate::diag::{Diagnostic, Location};
use crate::helm::{Helm, Major};
use crate::kube::Schemas;
use crate::lintconf::LintConf;
use crate::load::{LoadOptions, Settings};
use crate::report::{self, Format, Summary};
use crate::rule::Profile;
use crate::settings::{Flags, RunSettings};
use anyhow::Context;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// CRDs configured for a whole repository (custom resources its charts may render).
pub const REPO_CRDS: &str = "schemas/crds";

/// Which charts a run checks when none are named (by argument, `--charts` or `--all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unnamed {
    /// Every chart (`cargo xtask lint`: the catalog is small, check it all).
    All,
    /// The charts changed against the target branch, as `ct lint` does.
    Changed,
}

/// What differs between the two CLIs.
#[derive(Debug, Clone, Copy)]
pub struct Cli {
    /// How the command is called, for messages (`cargo xtask lint`, `nexct lint`).
    pub name: &'static str,
    pub unnamed: Unnamed,
}

/// Check charts: Chart.yaml, values and schemas, YAML, helm lint, renders, Kubernetes schemas
///
/// Checks what `ct lint` checks (helm lint, yamllint, the Chart.yaml schema, version
/// increments, maintainers, additional commands), renders every scenario for each
/// Kubernetes version of the chart's matrix and validates every object against the
/// Kubernetes JSON schemas (strict); under `profile: catalog`, also Pod Security
/// "restricted" and the catalog's house rules.
///
/// Charts are found under ct.yaml's `chart-dirs` (nested folders too); every chart
/// is checked even when another fails. Each chart is checked with each
/// ci/*-values.yaml (and, under profile catalog or without ci files, its bare
/// defaults). ct's flags and ct.yaml keys mean what they mean to ct. harness.yaml
/// (or --harness-config) picks the rule profile (`ct` without one), per-rule
/// levels, the release, namespace, Kubernetes versions and helm major.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_help = "Rule ids (stable): `--list-rules`, or docs/rules.md. \
Exit codes: 0 clean, 1 findings, 2 usage or tooling failure.")]
pub struct LintArgs {
    /// Chart folders or names to check (as --charts, but version increments are still checked)
    #[arg(value_name = "CHART")]
    pub chart: Vec<PathBuf>,

    /// Only charts changed against the target branch (git merge-base), with version-increment checks
    #[arg(long, conflicts_with = "chart")]
    pub changed: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print every rule (id, severity, profiles, exceptable, summary) and exit; `--format json` too
    #[arg(long)]
    pub list_rules: bool,

    /// The harness settings file (default: harness.yaml at the root, when there is one)
    #[arg(long, value_name = "PATH")]
    pub harness_config: Option<PathBuf>,

    /// Rule profile, overriding harness.yaml's (`ct` without a harness.yaml)
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,

    #[command(flatten)]
    pub ct: CtFlags,
}

/// Which charts, and whether their versions are compared with the target branch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    All,
    Changed,
    Named(Vec<PathBuf>),
}

/// Runs `lint`. `helm` is the `--helm` flag (or `NEX_HELM`), when given.
pub fn run(args: &LintArgs, helm: Option<Major>, cli: Cli) -> anyhow::Result<Exit> {
    if args.list_rules {
        let rules = crate::rules_doc::text();
        print!("{}", if args.format == Format::Json { crate::rules_doc::json() } else { rules });
        return Ok(Exit::Clean);
    }
    if let Some(why) = args.ct.refused() {
        anyhow::bail!("{why}");
    }
    crate::lint::init_thread_pool();
    let root = std::env::current_dir().context("cannot read the working directory")?;
    let flags = Flags {
        config: args.ct.config.clone(),
        harness_config: args.harness_config.clone(),
        profile: args.profile,
        helm,
        ct: args.ct.overrides(&crate::ct_cli::process_env).map_err(|e| anyhow::anyhow!(e))?,
    };
    // ct.yaml + harness.yaml + flags, resolved once; below reads only `settings`.
    let settings = RunSettings::resolve(&root, &flags)?;
    let config = &settings.ct;
    crate::process::set_debug(config.debug);
    if config.print_config {
        eprint!("{}", print_config(&settings, &root));
    }
    let shown_ct = settings.ct_path.strip_prefix(&root).unwrap_or(&settings.ct_path);
    let mut findings: Vec<Diagnostic> = config.findings_in(&settings.ct_path, shown_ct);

    let selection = if args.changed {
        Selection::Changed
    } else if !args.chart.is_empty() {
        Selection::Named(args.chart.clone())
    } else if config.all {
        Selection::All
    } else if !config.charts.is_empty() {
        Selection::Named(config.charts.clone())
    } else {
        match cli.unnamed {
            Unnamed::All => Selection::All,
            Unnamed::Changed => Selection::Changed,
        }
    };
    // Charts named by their folders need no walk over the other charts (issue 26),
    // nor a chart dir (ct reads them where they are).
    let direct = match &selection {
        Selection::Named(named) if !args.chart.is_empty() => crate::catalog::by_path(named),
        _ => None,
    };
    let discovery = match direct {
        Some(_) => Default::default(),
        None => match crate::catalog::discover_all(&root, config) {
            Ok(d) => d,
            Err(CatalogError::MissingChartDir(_)) if matches!(selection, Selection::Named(_)) => {
                Default::default()
            }
            Err(e) => return Err(e.into()),
        },
    };
    // Findings about chart folders belong to runs over the whole catalog.
    let whole = selection == Selection::All;
    findings.extend(discovery.findings.into_iter().filter(|d| whole || d.chart.is_empty()));
    // ct compares versions for changed charts; `cargo xtask lint CHART` does too (ct's
    // `--charts` and `--all` turn it off, which settings did).
    let check_versions = config.check_version_increment
        && match &selection {
            Selection::Changed => true,
            Selection::Named(_) => !args.chart.is_empty(),
            Selection::All => false,
        };

    let mut baseline = None;
    let mut charts: Vec<Chart> = match &selection {
        Selection::Named(named) => match direct {
            Some(direct) => direct,
            None => crate::catalog::select(discovery.charts, named)?,
        },
        Selection::Changed => {
            let base = Baseline::resolve(config).map_err(|e| anyhow::anyhow!("changed charts: {e}"))?;
            let touched = discovery
                .charts
                .into_iter()
                .filter(|c| {
                    if config.use_helmignore { base.touches_kept(&c.dir) } else { base.touches_chart(&c.dir) }
                })
                .collect();
            baseline = Some(base);
            touched
        }
        Selection::All => discovery.charts,
    };
    if check_versions && baseline.is_none() {
        match Baseline::resolve(config) {
            Ok(b) => baseline = Some(b),
            Err(e) => findings.push(
                Diagnostic::warning(
                    crate::checks::chart_yaml::RULE_INCREMENT,
                    "",
                    format!("versions not compared: {e}"),
                )
                .hint("set check-version-increment: false in ct.yaml to skip this comparison"),
            ),
        }
    }
    if config.exclude_deprecated {
        charts.retain(|c| !crate::files::read_chart_meta(&c.dir).deprecated);
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

    let helm = Helm::locate(settings.helm, &crate::provision::cache_root())?
        .with_release(&settings.release, &settings.namespace);
    let cache_root = crate::provision::cache_root();
    let cache = crate::cache::Cache::new(&cache_root);
    let crd_dir = root.join(REPO_CRDS);
    let crd_folder = crd_dir.is_dir().then(|| REPO_CRDS.to_owned());
    let schemas = Schemas::from_env(&cache, &cache_root, Some(crd_dir));
    let mut deps = crate::deps::Deps::new(config.chart_repos.clone(), &cache_root);
    deps.repo_extra_args = config.helm_repo_extra_args.clone();
    deps.dependency_extra_args = config.helm_dependency_extra_args.clone();
    let mut opts = LoadOptions::new(&helm, &cache, settings.lint_extra_args.clone());
    // ct's `skip-helm-dependencies`: charts lint with what their `charts/` holds.
    opts.deps = (!config.skip_helm_dependencies).then_some(&deps);
    opts.render = Some(&schemas);
    let docs_judged = settings.severity(crate::checks::docs::RULE.id, crate::diag::Severity::Error).is_some();
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
        validate_maintainers: config.validate_maintainers,
        crd_folder,
    };
    opts.baseline = if check_versions { baseline.as_ref() } else { None };
    // `--changed` also judges upgrades from the target branch's charts (upgrade/* rules).
    let tree = match (&baseline, &selection) {
        (Some(base), Selection::Changed) => Some(
            crate::base_tree::Tree::extract(base, &config.chart_dirs)
                .map_err(|e| anyhow::anyhow!("changed charts: {e}"))?,
        ),
        _ => None,
    };
    opts.base = tree.as_ref();
    // The image rules read the catalog's lock (offline); a catalog without one is not judged.
    // Read from the working directory (the root), so findings name it relative.
    // Parsed only when a chart's findings are not cached (issue 26).
    if let Some((lock, problem)) = crate::images::lock::LockFile::find(Path::new(""), &cache) {
        match problem {
            None => opts.images_lock = Some(lock),
            Some((message, at)) => findings.push(
                Diagnostic::error(crate::checks::image::RULE_LOCK, "", message)
                    .at(at)
                    .hint("fix the file, or regenerate it with `cargo xtask images --update`"),
            ),
        }
    }
    // ct/install-ready judges the scenarios ct installs against the kind job's fixtures;
    // unreadable ones stop the run (the install would apply them).
    let fixtures = crate::kind::FixturesFile::find(Path::new(""), &cache)
        .map_err(|e| anyhow::anyhow!("{e} (the kind job's fixtures, {})", crate::kind::FIXTURES_DIR))?;
    opts.kind_fixtures = Some(std::sync::Arc::new(fixtures));
    // A checkout the harness cannot write to is a tooling failure, not the charts' fault.
    let unwritable: Vec<String> = charts
        .iter()
        .filter_map(|c| crate::deps::writable(c).err())
        .map(|e| relative(&e.to_string(), &root))
        .collect();
    if !unwritable.is_empty() {
        for e in &unwritable {
            eprintln!("error: {e}");
        }
        return Ok(Exit::Failure);
    }
    findings.extend(crate::lint::run(&charts, &opts));
    let (command_findings, missing_tools) = additional_commands(&charts, &settings, &root);
    findings.extend(command_findings);
    for e in schemas.crd_errors() {
        findings.push(Diagnostic::error(
            crate::checks::kube_schema::CRD,
            "",
            format!("cannot read CRD file {e}"),
        ));
    }
    if whole && config.charts.is_empty() && docs_judged {
        // The table lists every chart `docs` sees (deprecated ones too), row by row
        // cached under each chart's fingerprint.
        let all = crate::catalog::discover(&root, config)?;
        findings.extend(crate::lint::catalog_table(&root, &all, &cache));
    }
    // Missing Kubernetes schemas are a tooling failure, not a finding about the charts.
    let unavailable = findings.iter().any(|d| d.rule == crate::checks::kube_schema::UNAVAILABLE);
    let diags = crate::diag::normalize(crate::diag::relative_to(settings.apply(findings), &root));
    let names: Vec<String> = charts.iter().map(|c| c.name.clone()).collect();
    let color = args.format == Format::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    if selection == Selection::Changed && charts.is_empty() {
        eprintln!("No chart changes detected (against {}/{}).", config.remote, config.target_branch);
    }
    let text = report::render_run(args.format, &diags, &names, color, Some(settings.coverage()));
    if config.github_groups && args.format == Format::Human {
        print!("::group::{} results\n{text}::endgroup::\n", cli.name);
    } else {
        print!("{text}");
    }
    // Keep the results cache bounded (least recently used entries go first).
    cache.settle(crate::cache::MAX_CACHE_BYTES);
    for e in &missing_tools {
        eprintln!("error: {e}");
    }
    // The compiled Kubernetes schemas die with the process: freeing them one by
    // one costs a cold run more than the report.
    std::mem::forget(schemas);
    if unavailable || !missing_tools.is_empty() {
        return Ok(Exit::Failure);
    }
    Ok(if Summary::of(&diags, names.len()).errors > 0 { Exit::Findings } else { Exit::Clean })
}

/// ct's `additional-commands`, run for each chart in order from the working
/// directory (as ct runs them); a failing command is a `ct/additional-command`
/// finding placed at its entry in ct.yaml (or naming the flag). A program that
/// is not on PATH is the machine's failure, not the chart's: returned apart.
fn additional_commands(
    charts: &[Chart],
    settings: &RunSettings,
    root: &Path,
) -> (Vec<Diagnostic>, Vec<String>) {
    let commands = &settings.ct.additional_commands;
    let mut missing = Vec::new();
    if commands.is_empty() {
        return (Vec::new(), missing);
    }
    // Where each command is written in ct.yaml, when it comes from there.
    let places = command_places(&settings.ct_path);
    let shown_ct = settings.ct_path.strip_prefix(root).unwrap_or(&settings.ct_path).to_path_buf();
    let mut out = Vec::new();
    for chart in charts {
        let meta = crate::files::read_chart_meta(&chart.dir);
        let data = crate::ct_commands::ChartData {
            path: chart.dir.to_string_lossy().into_owned(),
            name: meta.name.clone().unwrap_or_default(),
            version: meta.version.clone().unwrap_or_default(),
            deprecated: meta.deprecated,
        };
        for (i, template) in commands.iter().enumerate() {
            let outcome = crate::ct_commands::run(template, &data, root);
            eprintln!("==> {}: {}", chart.name, outcome.command);
            if !outcome.output.is_empty() {
                eprint!("{}", outcome.output);
            }
            if let Some(dropped) = &outcome.dropped {
                eprintln!(
                    "    (not run, as ct does not run it: `{dropped}`; wrap the command in `sh -c '…'`)"
                );
            }
            if !outcome.failed() {
                continue;
            }
            if let Some(program) = &outcome.not_found {
                let e = format!(
                    "additional command `{}`: `{program}` is not on PATH; install it (ct's CI installs it \
                     beside ct), or leave the command out of this run",
                    outcome.command
                );
                if !missing.contains(&e) {
                    missing.push(e);
                }
                continue;
            }
            let why = match &outcome.status {
                Ok(Some(code)) => format!("exited with status {code}"),
                Ok(None) => "was killed by a signal".to_owned(),
                Err(e) => e.clone(),
            };
            let last: Vec<&str> = outcome.output.lines().rev().take(5).collect();
            let mut d = Diagnostic::error(
                crate::config::RULE_ADDITIONAL_COMMAND,
                &chart.name,
                format!("additional command `{}` {why}", outcome.command),
            );
            if !last.is_empty() {
                d = d.hint(last.into_iter().rev().collect::<Vec<_>>().join("\n"));
            }
            d = match places.get(i).copied().flatten() {
                Some((line, column)) => d.at(Location::at(&shown_ct, line, column)),
                None => d.at(Location::at(&meta.path, 1, 1)),
            };
            out.push(d);
        }
    }
    (out, missing)
}

/// Line and column of each `additional-commands` entry in ct's file.
fn command_places(path: &Path) -> Vec<Option<(usize, usize)>> {
    let Ok(text) = crate::fsio::read_text(path, crate::fsio::limit::SETTINGS_FILE) else { return Vec::new() };
    let Some(doc) = crate::yaml::parse(&text).ok().and_then(|y| y.docs.into_iter().next()) else {
        return Vec::new();
    };
    let Some(entry) = doc.get("additional-commands") else { return Vec::new() };
    match &entry.value {
        crate::yaml::Value::Seq(items) => {
            items.iter().map(|n| Some((n.span.start.line.max(1), n.span.start.column.max(1)))).collect()
        }
        crate::yaml::Value::Str(s) => {
            let at = Some((entry.span.start.line.max(1), entry.span.start.column.max(1)));
            s.split(',').map(|_| at).collect()
        }
        _ => Vec::new(),
    }
}

/// ct's `--print-config`: the resolved configuration, one key a line.
fn print_config(s: &RunSettings, root: &Path) -> String {
    let c = &s.ct;
    let list = |v: &[String]| v.join(",");
    let paths = |v: &[PathBuf]| v.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(",");
    let shown = s.ct_path.strip_prefix(root).unwrap_or(&s.ct_path);
    let mut out =
        String::from("------------------------------------------------------------\n Configuration\n");
    out.push_str("------------------------------------------------------------\n");
    let rows: Vec<(&str, String)> = vec![
        (
            "config file",
            format!(
                "{}{}",
                shown.display(),
                if s.ct_path.exists() { "" } else { " (absent: ct's defaults)" }
            ),
        ),
        ("remote", c.remote.clone()),
        ("target-branch", c.target_branch.clone()),
        ("since", if c.since.is_empty() { "HEAD".into() } else { c.since.clone() }),
        ("chart-dirs", paths(&c.chart_dirs)),
        ("charts", paths(&c.charts)),
        ("all", c.all.to_string()),
        ("excluded-charts", list(&c.excluded_charts)),
        ("chart-repos", list(&c.chart_repos)),
        ("lint-conf", c.lint_conf.clone()),
        ("chart-yaml-schema", c.chart_yaml_schema.clone()),
        ("check-version-increment", c.check_version_increment.to_string()),
        ("validate-chart-schema", c.validate_chart_schema.to_string()),
        ("validate-yaml", c.validate_yaml.to_string()),
        ("validate-maintainers", c.validate_maintainers.to_string()),
        ("helm-lint-extra-args", c.helm_lint_extra_args.clone()),
        ("helm-extra-args", c.helm_extra_args.clone()),
        ("helm-dependency-extra-args", list(&c.helm_dependency_extra_args)),
        ("skip-helm-dependencies", c.skip_helm_dependencies.to_string()),
        ("additional-commands", list(&c.additional_commands)),
        ("exclude-deprecated", c.exclude_deprecated.to_string()),
        ("use-helmignore", c.use_helmignore.to_string()),
        ("profile", s.profile.name().into()),
        ("helm", format!("{:?}", s.helm)),
        ("release / namespace", format!("{} / {}", s.release, s.namespace)),
    ];
    for (k, v) in rows {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push_str("------------------------------------------------------------\n");
    out
}

/// A message with the root left out of its paths.
fn relative(msg: &str, root: &Path) -> String {
    msg.replace(&format!("{}/", root.display()), "")
}
