//! `ct lint`'s command line, parsed as chart-testing parses it (ct v3.14:
//! `ct/cmd/root.go`, `ct/cmd/lint.go`, `pkg/config/config.go`), so a line from a
//! repository's CI can be pasted after this tool's name unchanged.
//!
//! How cobra/pflag read these flags, and so how they are read here:
//! - strings: `--target-branch main` or `--target-branch=main`;
//! - booleans: `--all`, `--all=true`, `--check-version-increment=false` (Go's
//!   `strconv.ParseBool`: `1 t T TRUE true True 0 f F FALSE false False`); a bare
//!   value after a space is not the flag's (it would be a stray argument);
//! - lists: repeated (`--chart-repos a=URL --chart-repos b=URL`) and/or
//!   comma-separated (`--charts a,b`), CSV-style quoting allowed;
//! - unset flags take the `CT_<KEY>` environment variable (viper's AutomaticEnv), then ct.yaml.
//!
//! `ct install`'s flags (`--namespace`, `--release-label`, `--upgrade`…) are
//! refused, as `ct lint` refuses them, with the reason.

use crate::config::CtOverrides;
use std::path::PathBuf;

const HEADING: &str = "chart-testing flags (`ct lint`'s, same meaning)";

/// Every flag of `ct lint` (v3.14).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = HEADING)]
pub struct CtFlags {
    /// ct's configuration file (default: ct.yaml, ct.yml or ct.json in . or .ct/)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Git remote of the target branch, for changed charts and version increments [ct: origin]
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,

    /// Branch changed charts are compared with [ct: main]
    #[arg(long, value_name = "BRANCH")]
    pub target_branch: Option<String>,

    /// Git ref compared with the target branch [ct: HEAD]
    #[arg(long, value_name = "REF")]
    pub since: Option<String>,

    /// Folders holding charts (repeatable, comma-separated) [ct: charts]
    #[arg(long, value_name = "DIR,...", value_parser = csv, action = clap::ArgAction::Append)]
    pub chart_dirs: Option<Vec<Csv>>,

    /// Chart folder names to skip (repeatable, comma-separated)
    #[arg(long, value_name = "NAME,...", value_parser = csv, action = clap::ArgAction::Append)]
    pub excluded_charts: Option<Vec<Csv>>,

    /// Every chart but the excluded ones; no version-increment check
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub all: Option<bool>,

    /// These chart folders only (repeatable, comma-separated); no version-increment check
    #[arg(long = "charts", id = "ct_charts", value_name = "PATH,...", value_parser = csv, action = clap::ArgAction::Append)]
    pub charts: Option<Vec<Csv>>,

    /// `name=url` chart repositories for remote dependencies (repeatable, comma-separated)
    #[arg(long, value_name = "NAME=URL,...", value_parser = csv, action = clap::ArgAction::Append)]
    pub chart_repos: Option<Vec<Csv>>,

    /// yamllint configuration (default: lintconf.yaml in . or .ct/, else ct's own rules)
    #[arg(long, value_name = "PATH")]
    pub lint_conf: Option<String>,

    /// Yamale schema of Chart.yaml (default: chart_schema.yaml in . or .ct/, else the built-in one)
    #[arg(long, value_name = "PATH")]
    pub chart_yaml_schema: Option<String>,

    /// Check maintainers (ct looks each name up on the git host; offline, the harness checks what it can) [ct: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub validate_maintainers: Option<bool>,

    /// Fail a changed chart whose version did not grow [ct: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub check_version_increment: Option<bool>,

    /// Validate Chart.yaml against the Yamale schema [ct: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub validate_chart_schema: Option<bool>,

    /// yamllint's rules on Chart.yaml and the values files [ct: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub validate_yaml: Option<bool>,

    /// Do not run `helm dependency build` before linting
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub skip_helm_dependencies: Option<bool>,

    /// Commands run once per chart from the working directory, Go-templated (`{{ .Path }}`)
    #[arg(long, value_name = "CMD,...", value_parser = csv, action = clap::ArgAction::Append)]
    pub additional_commands: Option<Vec<Csv>>,

    /// Extra arguments of `helm install`/`upgrade`/`test`: ct never passes them to lint, nor does this
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub helm_extra_args: Option<String>,

    /// Extra arguments of `helm lint`, one quoted string (e.g. '--strict')
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub helm_lint_extra_args: Option<String>,

    /// `name=args` appended to that repository's `helm repo add` (repeatable, comma-separated)
    #[arg(long, value_name = "NAME=ARGS,...", value_parser = csv, action = clap::ArgAction::Append, allow_hyphen_values = true)]
    pub helm_repo_extra_args: Option<Vec<Csv>>,

    /// Arguments appended to `helm dependency build` (repeatable, comma-separated)
    #[arg(long, value_name = "ARGS,...", value_parser = csv, action = clap::ArgAction::Append, allow_hyphen_values = true)]
    pub helm_dependency_extra_args: Option<Vec<Csv>>,

    /// Print each command the run spawns (helm, git, additional commands) to stderr
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub debug: Option<bool>,

    /// Print the resolved configuration to stderr
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub print_config: Option<bool>,

    /// Skip charts marked `deprecated: true`
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub exclude_deprecated: Option<bool>,

    /// Wrap the human report in GitHub Actions log groups
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub github_groups: Option<bool>,

    /// Changed-chart detection ignores files the chart's .helmignore excludes
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub use_helmignore: Option<bool>,

    /// `ct install`'s flags: refused, as `ct lint` refuses them (see [`CtFlags::refused`]).
    #[command(flatten)]
    pub install_only: InstallOnly,
}

/// The flags of `ct install` only. They are parsed so that the refusal can say
/// why; `ct lint` fails on them as unknown flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InstallOnly {
    #[arg(long, hide = true, num_args = 0..=1, allow_hyphen_values = true)]
    pub namespace: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_hyphen_values = true)]
    pub release_label: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_hyphen_values = true)]
    pub release_name: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_hyphen_values = true)]
    pub build_id: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_hyphen_values = true)]
    pub helm_extra_set_args: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true)]
    pub upgrade: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true)]
    pub skip_missing_values: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true)]
    pub skip_clean_up: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_hyphen_values = true)]
    pub kubectl_timeout: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true)]
    pub print_logs: Option<Option<String>>,
}

/// One occurrence of a list flag, split as pflag's StringSlice splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csv(pub Vec<String>);

/// pflag reads a StringSlice occurrence as one CSV record: commas separate,
/// double quotes protect commas (`"a,b",c`), `""` inside quotes is a quote.
fn csv(s: &str) -> Result<Csv, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            c => cur.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err(format!("unterminated quote in `{s}`"));
    }
    if !s.is_empty() {
        out.push(cur);
    }
    Ok(Csv(out))
}

/// Go's `strconv.ParseBool`.
fn go_bool(s: &str) -> Result<bool, String> {
    crate::config::parse_bool(s)
        .ok_or_else(|| format!("`{s}` is not a boolean (true, false, 1, 0, t, f as Go reads them)"))
}

fn flatten(v: &Option<Vec<Csv>>) -> Option<Vec<String>> {
    v.as_ref().map(|occurrences| occurrences.iter().flat_map(|c| c.0.iter().cloned()).collect())
}

/// Reads an environment variable as ct's viper would for `key` (`CT_TARGET_BRANCH`).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn env_key(key: &str) -> String {
    format!("CT_{}", key.to_uppercase().replace('-', "_"))
}

impl CtFlags {
    /// Why an install-only flag does not apply to lint, naming each given one.
    pub fn refused(&self) -> Option<String> {
        let i = &self.install_only;
        let given: Vec<&str> = [
            ("--namespace", i.namespace.is_some()),
            ("--release-label", i.release_label.is_some()),
            ("--release-name", i.release_name.is_some()),
            ("--build-id", i.build_id.is_some()),
            ("--helm-extra-set-args", i.helm_extra_set_args.is_some()),
            ("--upgrade", i.upgrade.is_some()),
            ("--skip-missing-values", i.skip_missing_values.is_some()),
            ("--skip-clean-up", i.skip_clean_up.is_some()),
            ("--kubectl-timeout", i.kubectl_timeout.is_some()),
            ("--print-logs", i.print_logs.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        (!given.is_empty()).then(|| {
            format!(
                "{} {} `ct install` flag{}: lint installs nothing, so it does not apply (ct lint refuses it \
                 too, as an unknown flag); lint renders in harness.yaml's `namespace` (default nex)",
                given.join(", "),
                if given.len() == 1 { "is a" } else { "are" },
                if given.len() == 1 { "" } else { "s" }
            )
        })
    }

    /// The flags given, as overrides of ct.yaml's keys; a key whose flag is
    /// absent takes `CT_<KEY>` from `env` when set (flag > environment > file).
    pub fn overrides(&self, env: Env<'_>) -> Result<CtOverrides, String> {
        let s = |flag: &Option<String>, key: &str| flag.clone().or_else(|| env(&env_key(key)));
        let list = |flag: &Option<Vec<Csv>>, key: &str| -> Result<Option<Vec<String>>, String> {
            match flatten(flag) {
                Some(v) => Ok(Some(v)),
                None => env(&env_key(key))
                    .map(|v| csv(&v).map(|c| c.0).map_err(|e| format!("{}: {e}", env_key(key))))
                    .transpose(),
            }
        };
        let b = |flag: &Option<bool>, key: &str| -> Result<Option<bool>, String> {
            match flag {
                Some(v) => Ok(Some(*v)),
                None => env(&env_key(key))
                    .map(|v| go_bool(&v).map_err(|e| format!("{}: {e}", env_key(key))))
                    .transpose(),
            }
        };
        Ok(CtOverrides {
            remote: s(&self.remote, "remote"),
            target_branch: s(&self.target_branch, "target-branch"),
            since: s(&self.since, "since"),
            lint_conf: s(&self.lint_conf, "lint-conf"),
            chart_yaml_schema: s(&self.chart_yaml_schema, "chart-yaml-schema"),
            helm_extra_args: s(&self.helm_extra_args, "helm-extra-args"),
            helm_lint_extra_args: s(&self.helm_lint_extra_args, "helm-lint-extra-args"),
            chart_dirs: list(&self.chart_dirs, "chart-dirs")?,
            excluded_charts: list(&self.excluded_charts, "excluded-charts")?,
            charts: list(&self.charts, "charts")?,
            chart_repos: list(&self.chart_repos, "chart-repos")?,
            helm_repo_extra_args: list(&self.helm_repo_extra_args, "helm-repo-extra-args")?,
            helm_dependency_extra_args: list(&self.helm_dependency_extra_args, "helm-dependency-extra-args")?,
            additional_commands: list(&self.additional_commands, "additional-commands")?,
            all: b(&self.all, "all")?,
            print_config: b(&self.print_config, "print-config")?,
            exclude_deprecated: b(&self.exclude_deprecated, "exclude-deprecated")?,
            github_groups: b(&self.github_groups, "github-groups")?,
            use_helmignore: b(&self.use_helmignore, "use-helmignore")?,
            debug: b(&self.debug, "debug")?,
            validate_maintainers: b(&self.validate_maintainers, "validate-maintainers")?,
            check_version_increment: b(&self.check_version_increment, "check-version-increment")?,
            validate_chart_schema: b(&self.validate_chart_schema, "validate-chart-schema")?,
            validate_yaml: b(&self.validate_yaml, "validate-yaml")?,
            skip_helm_dependencies: b(&self.skip_helm_dependencies, "skip-helm-dependencies")?,
        })
    }
}

/// The process environment, for [`CtFlags::overrides`].
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        ct: CtFlags,
    }

    fn parse(args: &[&str]) -> Result<CtFlags, String> {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .map(|c| c.ct)
            .map_err(|e| e.to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn lists_split_on_commas_repeat_and_honour_quotes() {
        assert_eq!(csv("a,b").unwrap().0, ["a", "b"]);
        assert_eq!(csv(r#""a,b",c"#).unwrap().0, ["a,b", "c"]);
        assert_eq!(csv(r#""say ""hi""""#).unwrap().0, [r#"say "hi""#]);
        assert!(csv(r#""open"#).is_err());
        let f = parse(&["--chart-repos", "a=http://x,b=http://y", "--chart-repos=c=http://z"]).unwrap();
        let o = f.overrides(&no_env).unwrap();
        assert_eq!(o.chart_repos.unwrap(), ["a=http://x", "b=http://y", "c=http://z"]);
        assert_eq!(o.charts, None);
    }

    #[test]
    fn booleans_take_go_values_only_after_an_equals_sign() {
        let o = parse(&["--check-version-increment=false", "--all", "--validate-maintainers=0"])
            .unwrap()
            .overrides(&no_env)
            .unwrap();
        assert_eq!(o.check_version_increment, Some(false));
        assert_eq!(o.all, Some(true));
        assert_eq!(o.validate_maintainers, Some(false));
        assert!(parse(&["--all=maybe"]).unwrap_err().contains("not a boolean"));
        // `--all false`: `false` is a stray argument, as with pflag.
        assert!(parse(&["--all", "false"]).is_err());
    }

    #[test]
    fn the_environment_fills_flags_not_given() {
        let env = |k: &str| match k {
            "CT_TARGET_BRANCH" => Some("develop".to_owned()),
            "CT_CHART_DIRS" => Some("a,b".to_owned()),
            "CT_VALIDATE_MAINTAINERS" => Some("false".to_owned()),
            _ => None,
        };
        let o = parse(&["--chart-dirs", "c"]).unwrap().overrides(&env).unwrap();
        assert_eq!(o.target_branch.as_deref(), Some("develop"));
        assert_eq!(o.chart_dirs.unwrap(), ["c"], "a flag wins over the environment");
        assert_eq!(o.validate_maintainers, Some(false));
    }

    #[test]
    fn install_flags_are_refused_with_the_reason() {
        let f = parse(&["--namespace", "x", "--release-label=app"]).unwrap();
        let why = f.refused().unwrap();
        assert!(why.starts_with("--namespace, --release-label are `ct install` flags"), "{why}");
        assert!(parse(&["--all"]).unwrap().refused().is_none());
    }
}
