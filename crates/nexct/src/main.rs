//! `nexct`: the installable drop-in for chart-testing's `ct lint`, over the
//! nex-charts harness engine. `nexct lint` takes ct's flags and ct.yaml with ct's
//! meaning, so a CI line `ct lint ARGS` becomes `nexct lint ARGS`.

use clap::{Parser, Subcommand};
use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::lint_cmd::{Cli as LintCli, LintArgs, Unnamed};
use std::process::ExitCode;

/// Lint Helm charts as `ct lint` does, and check what they render
///
/// nexct reads chart-testing's ct.yaml and takes every `ct lint` flag with ct's
/// meaning: replace `ct lint` with `nexct lint` in a CI line and keep its
/// arguments. It runs what ct runs (helm lint with each ci/*-values.yaml,
/// yamllint's rules, the Chart.yaml schema, version increments, maintainers,
/// additional commands), in parallel and cached, then renders every scenario
/// for the Kubernetes versions the chart claims and validates each object
/// against the Kubernetes JSON schemas: removed APIs, unknown fields and broken
/// YAML are found before an install. Every finding names its rule, chart and
/// file:line:col.
///
/// Without `--all` or `--charts` it checks the charts changed against the target
/// branch, as ct does. The pinned helm (3, as in ct's own image) and the
/// Kubernetes schemas are fetched and checksum-verified on first use into
/// $XDG_CACHE_HOME/nexct (or ~/.cache/nexct; NEX_CACHE_DIR moves it).
#[derive(Debug, Parser)]
#[command(name = "nexct", bin_name = "nexct", version)]
#[command(after_help = "Exit codes: 0 clean, 1 findings, 2 usage or tooling failure, 141 standard \
output closed early (`| head`: the run stops quietly, as a writer killed by SIGPIPE).\n\
Environment: CT_<KEY> (a ct.yaml key, as ct reads it), HELM_BIN (use this helm instead of the pinned one), \
NEX_HELM (3 or 4), NEX_CACHE_DIR (tools and results cache), NEX_NO_CACHE=1 (ignore cached results), \
NEX_HELM_TIMEOUT (seconds one helm run may take; default 300), KUBE_SCHEMA_DIR (Kubernetes JSON schemas \
in kubeconform's layout).")]
struct Cli {
    /// Helm major to run (default: 3 under profile ct, as ct's image; harness.yaml `helm:` may say 4)
    #[arg(long, global = true, value_enum, env = "NEX_HELM")]
    helm: Option<Major>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Lint(Box<LintArgs>),
    /// Print nexct's version and the pinned helm versions
    Version,
}

fn main() -> ExitCode {
    nex_harness::closed_stdout::stop_quietly();
    let cli = Cli::parse();
    if let Some(dir) = nex_harness::provision::user_cache_dir("nexct") {
        nex_harness::provision::set_default_cache_root(dir);
    }
    let result = match &cli.command {
        Command::Lint(args) => nex_harness::lint_cmd::run(
            args,
            cli.helm,
            LintCli { name: "nexct lint", unnamed: Unnamed::Changed },
        ),
        Command::Version => {
            println!(
                "nexct {} (helm {} and {} pinned)",
                env!("CARGO_PKG_VERSION"),
                nex_harness::provision::HELM_3.version,
                nex_harness::provision::HELM_4.version
            );
            Ok(Exit::Clean)
        }
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) if nex_harness::closed_stdout::is_closed(&e) => {
            ExitCode::from(nex_harness::closed_stdout::STATUS)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Failure.into()
        }
    }
}
