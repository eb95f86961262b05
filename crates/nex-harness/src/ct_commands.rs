//! ct's `additional-commands`: commands run once per chart, as ct v3.14 runs
//! them (`pkg/tool/cmdexecutor.go`, `pkg/exec/exec.go`):
//!
//! - each is a Go template executed over ct's `Chart` value: `{{ .Path }}` is the
//!   chart folder as ct names it (`charts/app`), `{{ .Yaml.Name }}`,
//!   `{{ .Yaml.Version }}` and `{{ .Yaml.Deprecated }}` come from Chart.yaml, and
//!   `{{ . }}` is ct's `name => (version: "v", path: "p")`;
//! - the result is split into words by go-shellwords (quotes and backslashes, no
//!   shell: no globbing, no variables, no pipes — an unquoted `;`, `&`, `|`, `<` or
//!   `>` ends the command, the rest is dropped);
//! - the program is run directly, from the working directory, in the user's
//!   environment (its own `helm` and plugins such as helm-unittest), and a
//!   non-zero exit fails the chart.
//!
//! An edge: it spawns processes. What a failure means is the caller's to say.

use std::path::Path;
use std::process::Command;

/// What ct's template sees of a chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartData {
    pub path: String,
    pub name: String,
    pub version: String,
    pub deprecated: bool,
}

/// Executes the template subset ct's users write: field actions over the chart.
pub fn render(template: &str, data: &ChartData) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let mut before = &rest[..open];
        let after_open = &rest[open + 2..];
        let close = after_open.find("}}").ok_or_else(|| format!("`{{{{` without `}}}}` in `{template}`"))?;
        let mut action = &after_open[..close];
        let mut tail = &after_open[close + 2..];
        // `{{-` and `-}}` trim the white space beside the action.
        if let Some(a) = action.strip_prefix("- ") {
            action = a;
            before = before.trim_end();
        }
        if let Some(a) = action.strip_suffix(" -") {
            action = a;
            tail = tail.trim_start();
        }
        out.push_str(before);
        out.push_str(&field(action.trim(), data)?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

fn field(action: &str, d: &ChartData) -> Result<String, String> {
    Ok(match action {
        ".Path" => d.path.clone(),
        ".Yaml.Name" => d.name.clone(),
        ".Yaml.Version" => d.version.clone(),
        ".Yaml.Deprecated" => d.deprecated.to_string(),
        "." | ".String" => format!("{} => (version: \"{}\", path: \"{}\")", d.name, d.version, d.path),
        other => {
            return Err(format!(
                "template action `{{{{ {other} }}}}` is not supported here (supported: .Path, .Yaml.Name, \
                 .Yaml.Version, .Yaml.Deprecated, .String)"
            ));
        }
    })
}

/// The words of a rendered command, as go-shellwords (v1.0.12, its defaults)
/// splits them, and what follows an unquoted `;` `&` `|` `<` `>` (dropped by ct).
pub fn split(line: &str) -> Result<(Vec<String>, Option<String>), String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let (mut single, mut double, mut escaped) = (false, false, false);
    for (i, c) in line.char_indices() {
        if escaped {
            cur.push(c);
            have = true;
            escaped = false;
            continue;
        }
        match c {
            '\\' if !single => escaped = true,
            '\'' if !double => {
                single = !single;
                have = true;
            }
            '"' if !single => {
                double = !double;
                have = true;
            }
            c if c.is_whitespace() && !single && !double => {
                if have {
                    words.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            ';' | '&' | '|' | '<' | '>' if !single && !double => {
                if have {
                    words.push(std::mem::take(&mut cur));
                }
                return Ok((words, Some(line[i..].to_owned())));
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if single || double {
        return Err(format!("unterminated quote in `{line}`"));
    }
    if escaped {
        return Err(format!("`{line}` ends with a backslash"));
    }
    if have {
        words.push(cur);
    }
    Ok((words, None))
}

/// One additional command run for one chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The command as run (rendered).
    pub command: String,
    /// `Ok(code)`; `Err` when it could not be rendered, split or started.
    pub status: Result<Option<i32>, String>,
    /// stdout then stderr.
    pub output: String,
    /// What ct drops after an unquoted shell operator (said, not run).
    pub dropped: Option<String>,
    /// The program is not on PATH: the machine lacks a tool, the chart is not at fault.
    pub not_found: Option<String>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        !matches!(self.status, Ok(Some(0)))
    }
}

/// Renders `template` for `data` and runs it from `cwd`.
pub fn run(template: &str, data: &ChartData, cwd: &Path) -> Outcome {
    let mut outcome = Outcome {
        command: template.to_owned(),
        status: Ok(None),
        output: String::new(),
        dropped: None,
        not_found: None,
    };
    let rendered = match render(template, data) {
        Ok(r) => r,
        Err(e) => {
            outcome.status = Err(e);
            return outcome;
        }
    };
    outcome.command = rendered.clone();
    let words = match split(&rendered) {
        Ok((w, dropped)) => {
            outcome.dropped = dropped;
            w
        }
        Err(e) => {
            outcome.status = Err(e);
            return outcome;
        }
    };
    let Some((program, args)) = words.split_first() else {
        outcome.status = Err("the command is empty".into());
        return outcome;
    };
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(cwd).stdin(std::process::Stdio::null());
    crate::process::trace(&cmd);
    match cmd.output() {
        Ok(out) => {
            outcome.output =
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            outcome.status = Ok(out.status.code());
        }
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound {
                outcome.not_found = Some(program.clone());
            }
            outcome.status = Err(format!("cannot run `{program}`: {e}"));
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> ChartData {
        ChartData {
            path: "charts/app".into(),
            name: "app".into(),
            version: "1.2.3".into(),
            deprecated: false,
        }
    }

    #[test]
    fn renders_ct_s_fields_and_refuses_others() {
        let d = data();
        assert_eq!(
            render("helm unittest --helm3 -f 'tests/*.yaml' {{ .Path }}", &d).unwrap(),
            "helm unittest --helm3 -f 'tests/*.yaml' charts/app"
        );
        assert_eq!(render("x {{- .Yaml.Name -}} y:{{.Yaml.Version}}", &d).unwrap(), "xappy:1.2.3");
        assert_eq!(render("{{ . }}", &d).unwrap(), "app => (version: \"1.2.3\", path: \"charts/app\")");
        let e = render("{{ .Yaml.Maintainers }}", &d).unwrap_err();
        assert!(e.contains("not supported here"), "{e}");
        assert!(render("{{ .Path", &d).is_err());
    }

    #[test]
    fn splits_like_go_shellwords() {
        let (w, rest) = split(r#"sh -c 'echo "a b"' "c d" e\ f"#).unwrap();
        assert_eq!(w, ["sh", "-c", r#"echo "a b""#, "c d", "e f"]);
        assert_eq!(rest, None);
        let (w, rest) = split("shellcheck charts/a/*.sh | tee log").unwrap();
        assert_eq!(w, ["shellcheck", "charts/a/*.sh"], "no globbing: the pattern reaches the program as is");
        assert_eq!(rest.as_deref(), Some("| tee log"));
        assert_eq!(split("''").unwrap().0, [""]);
        assert!(split("echo 'open").is_err());
    }

    #[test]
    fn runs_from_the_working_directory_and_reports_the_exit() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("charts/app")).unwrap();
        let ok = run("test -d {{ .Path }}", &data(), tmp.path());
        assert_eq!(ok.status, Ok(Some(0)), "{ok:?}");
        assert!(!ok.failed());
        let bad = run("sh -c 'echo nope >&2; exit 3'", &data(), tmp.path());
        assert_eq!(bad.status, Ok(Some(3)));
        assert_eq!(bad.output.trim(), "nope");
        let missing = run("no-such-program-here {{ .Path }}", &data(), tmp.path());
        assert!(missing.failed());
        assert_eq!(missing.not_found.as_deref(), Some("no-such-program-here"));
    }
}
