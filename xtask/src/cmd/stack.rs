//! `cargo xtask stack`: the homelab's releases judged, rendered and exported as one unit.

use nex_harness::Exit;
use nex_harness::diag::Diagnostic;
use nex_harness::helm::Major;
use nex_harness::kube::Schemas;
use nex_harness::report::{self, Format, Summary};
use nex_harness::stack::{self, export};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Stacks: several releases deployed together (stacks/<name>/stack.yaml)
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Render every release, check each object, then the stack rules (references,
    /// network policies, secrets, node budget, architectures, name clashes)
    Lint {
        /// Stack folders, stack files or names under stacks/ (default: every stack)
        stacks: Vec<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print what the stack's releases render (one stream, release by release)
    Render {
        /// Stack folder, stack file or name under stacks/
        stack: PathBuf,
    },
    /// What this branch changes in the objects each release renders, against
    /// the merge base of ct.yaml's target branch (as `diff` does for charts)
    Diff {
        /// Stack folder, stack file or name under stacks/
        stack: PathBuf,
        /// Output format
        #[arg(long, value_enum, default_value_t = nex_harness::diff::report::Format::Human)]
        format: nex_harness::diff::report::Format,
    },
    /// Write the GitOps objects that deploy the stack from the published chart repository
    Export {
        /// Stack folder, stack file or name under stacks/
        stack: PathBuf,
        /// Flux (HelmRepository + HelmReleases) or Argo CD (Applications)
        #[arg(long, value_enum)]
        format: export::Format,
        /// Folder to write into (built beside it and swapped in whole; stale exported files
        /// are dropped, other regular files kept; two objects with one file name are refused)
        #[arg(long)]
        out: PathBuf,
    },
    /// Hash a bind password for the stack's yaLDAP directory: reads one line on stdin,
    /// prints the bcrypt hash in the PHC form yaLDAP verifies (`$bcrypt$v=0$r=COST$$HEX`),
    /// what a `!!ldap/bind:password` placeholder takes
    Hash {
        /// bcrypt cost (2^COST rounds), 4 to 31
        #[arg(long, default_value_t = stack::password::DEFAULT_COST)]
        cost: u32,
        /// `phc`: yaLDAP's form; `bcrypt`: the plain `$2a$…` hash (AdGuard Home's passwordHash)
        #[arg(long, value_enum, default_value = "phc")]
        form: HashForm,
    },
}

pub fn run(args: &Args, major: Major) -> anyhow::Result<Exit> {
    // `hash` needs no catalog: it works from any folder.
    let root = super::root;
    match &args.command {
        Command::Lint { stacks, format } => lint(&root()?, stacks, *format, major),
        Command::Render { stack } => render(&root()?, stack, major),
        Command::Export { stack, format, out } => export_stack(&root()?, stack, *format, out, major),
        Command::Diff { stack, format } => diff(&root()?, stack, *format, major),
        Command::Hash { cost, form } => hash(*cost, *form),
    }
}

fn one(root: &std::path::Path, named: &PathBuf) -> anyhow::Result<PathBuf> {
    stack::select(root, std::slice::from_ref(named)).map_err(anyhow::Error::msg).map(|mut v| v.remove(0))
}

fn lint(root: &std::path::Path, named: &[PathBuf], format: Format, major: Major) -> anyhow::Result<Exit> {
    nex_harness::lint::init_thread_pool();
    let files = stack::select(root, named).map_err(anyhow::Error::msg)?;
    if files.is_empty() {
        anyhow::bail!("no stack files under {}/ (stacks/<name>/stack.yaml)", stack::STACKS_DIR);
    }
    let helm = super::helm(major)?;
    let cache_root = nex_harness::provision::cache_root();
    let cache = nex_harness::cache::Cache::new(&cache_root);
    let schemas = Schemas::from_env(&cache, &cache_root, Some(root.join("schemas/crds")));
    let mut all: Vec<Diagnostic> = Vec::new();
    let mut names = Vec::new();
    let mut tables = Vec::new();
    for f in &files {
        let mut r = stack::lint(f, root, &helm, &cache, &schemas);
        if let Ok(s) = stack::file::read_in(f, root) {
            stack::apply_exceptions(&mut r.diagnostics, &s);
        }
        names.push(r.stack.clone());
        if !r.budget.is_empty() {
            tables.push((r.stack.clone(), stack::budget_table(&r.budget)));
        }
        all.extend(r.diagnostics.into_iter().map(|d| stack::relative(d, root)));
    }
    let diags = nex_harness::diag::normalize(all);
    let color =
        format == Format::Human && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = report::render(format, &diags, &names, color);
    if format == Format::Human {
        for (name, table) in tables {
            out.push_str(&format!("\nbudget of stack {name}:\n{table}"));
        }
    }
    print!("{out}");
    if diags.iter().any(|d| d.rule == nex_harness::checks::kube_schema::UNAVAILABLE) {
        return Ok(Exit::Failure);
    }
    Ok(if Summary::of(&diags, names.len()).errors > 0 { Exit::Findings } else { Exit::Clean })
}

/// What `stack hash` prints.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum HashForm {
    Phc,
    Bcrypt,
}

fn hash(cost: u32, form: HashForm) -> anyhow::Result<Exit> {
    use std::io::{BufRead, Read};
    let mut line = Vec::new();
    // A password is at most 72 bytes; a longer line is refused, not read whole.
    std::io::stdin().lock().take(4096).read_until(b'\n', &mut line)?;
    let password = stack::password::first_line(&line);
    let hashed = match form {
        HashForm::Phc => stack::password::yaldap_bcrypt(password, cost),
        HashForm::Bcrypt => stack::password::bcrypt_mcf(password, cost),
    }
    .map_err(|e| anyhow::anyhow!("stack hash: {e}"))?;
    println!("{hashed}");
    Ok(Exit::Clean)
}

fn read(root: &std::path::Path, path: &std::path::Path) -> anyhow::Result<stack::file::Stack> {
    stack::file::read_in(path, root).map_err(|diags| {
        let lines: Vec<String> = diags
            .iter()
            .map(|d| {
                format!("{}: {}", d.location.as_ref().map(|l| l.to_string()).unwrap_or_default(), d.message)
            })
            .collect();
        anyhow::anyhow!("the stack file has problems:\n{}", lines.join("\n"))
    })
}

fn render(root: &std::path::Path, named: &PathBuf, major: Major) -> anyhow::Result<Exit> {
    let path = one(root, named)?;
    let s = read(root, &path)?;
    let helm = super::helm(major)?;
    let cache = nex_harness::cache::Cache::new(&nex_harness::provision::cache_root());
    let (rendered, failed) = stack::render(&s, &helm, &cache);
    let mut stdout = std::io::stdout().lock();
    for r in &rendered {
        writeln!(stdout, "# Release: {} (namespace {})", r.release.name, r.release.namespace)?;
        stdout.write_all(r.stream.as_bytes())?;
    }
    for d in &failed {
        eprintln!("error[{}]: {}: {}", d.rule, d.chart, d.message);
    }
    Ok(if failed.is_empty() { Exit::Clean } else { Exit::Findings })
}

fn export_stack(
    root: &std::path::Path,
    named: &PathBuf,
    format: export::Format,
    out: &std::path::Path,
    major: Major,
) -> anyhow::Result<Exit> {
    let path = one(root, named)?;
    let s = read(root, &path)?;
    if format == export::Format::Argocd {
        // Argo CD renders with `helm template`: a Secret generated on every render would be
        // replaced on every sync. Refuse before anything is written.
        let helm = super::helm(major)?;
        let cache = nex_harness::cache::Cache::new(&nex_harness::provision::cache_root());
        let blockers = stack::argocd_blockers(&s, &helm, &cache);
        if !blockers.is_empty() {
            for d in blockers.into_iter().map(|d| stack::relative(d, root)) {
                let at = d.location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default();
                eprintln!("error[{}]: {at}{}: {}", d.rule, d.chart, d.message);
                if let Some(h) = &d.hint {
                    eprintln!("  = hint: {h}");
                }
            }
            eprintln!("nothing was written: Argo CD could not deploy this stack as it is");
            return Ok(Exit::Findings);
        }
    }
    let objects = export::objects(&s, format)?;
    let written = export::write(&objects, out, &root.join(export::GITOPS_CRDS))?;
    for w in &written {
        println!("wrote {}", w.display());
    }
    println!(
        "{} objects, {} file(s) written, validated against {}",
        objects.len(),
        written.len(),
        export::GITOPS_CRDS
    );
    Ok(Exit::Clean)
}

fn diff(
    root: &std::path::Path,
    named: &PathBuf,
    format: nex_harness::diff::report::Format,
    major: Major,
) -> anyhow::Result<Exit> {
    let path = one(root, named)?;
    let config = super::config(root)?;
    let base =
        nex_harness::changed::Baseline::resolve(&config).map_err(|e| anyhow::anyhow!("stack diff: {e}"))?;
    let helm = super::helm(major)?;
    let cache = nex_harness::cache::Cache::new(&nex_harness::provision::cache_root());
    let report =
        stack::diff(&path, root, &base, &config.chart_dirs, &helm, &cache).map_err(anyhow::Error::msg)?;
    print!("{}", nex_harness::diff::report::render(format, &report));
    Ok(Exit::Clean)
}
