//! The `yaml/*` hygiene rules against the real yamllint (what `ct lint` runs),
//! file by file: the same findings at the same line and column, under ct's
//! default yamllint settings. yamllint comes from PyPI into a venv kept in the
//! cache (chart-testing-action's default version); without pip the test says so
//! and checks nothing.

use nex_harness::checks::yaml_hygiene::file_findings;
use nex_harness::files::YamlFile;
use nex_harness::lintconf::LintConf;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

/// chart-testing-action v2.8.0's default `yamllint_version`.
const YAMLLINT: &str = "yamllint==1.33.0";

/// ct's default yamllint settings (ct v3.14 `etc/lintconf.yaml`), as yamllint reads them.
const CT_LINTCONF: &str = "rules:
  braces: {min-spaces-inside: 0, max-spaces-inside: 0, min-spaces-inside-empty: -1, max-spaces-inside-empty: -1}
  brackets: {min-spaces-inside: 0, max-spaces-inside: 0, min-spaces-inside-empty: -1, max-spaces-inside-empty: -1}
  colons: {max-spaces-before: 0, max-spaces-after: 1}
  commas: {max-spaces-before: 0, min-spaces-after: 1, max-spaces-after: 1}
  comments: {require-starting-space: true, min-spaces-from-content: 2}
  document-end: disable
  document-start: disable
  empty-lines: {max: 2, max-start: 0, max-end: 0}
  hyphens: {max-spaces-after: 1}
  indentation: {spaces: consistent, indent-sequences: whatever, check-multi-line-strings: false}
  key-duplicates: enable
  line-length: disable
  new-line-at-end-of-file: enable
  new-lines: {type: unix}
  trailing-spaces: enable
  truthy: {level: warning}
";

/// Files as chart repositories write them, each with what yamllint should say.
const CASES: &[(&str, &str)] = &[
    ("block-literal", "config: |\n  first  \n  second \n  third\nnext: 1\n"),
    ("block-folded", "text: >-\n  one \n  two\n\n  three  \nother: x\n"),
    ("blank-with-spaces-in-block", "script: |\n  set -e\n  \n  echo hi\n"),
    ("blank-lines-in-block", "script: |\n  a\n\n\n\n  b\nk: v\n"),
    ("blank-lines-outside", "a: 1\n\n\n\nb: 2\n"),
    ("blank-lines-at-start-and-end", "\na: 1\nb: 2\n\n"),
    ("quoted-multi-line", "msg: \"one  \n  two\"\nx: 1\n"),
    ("plain-multi-line", "msg: one \n  two \nx: 1\n"),
    ("trailing-after-comment", "a: 1  # note \n# whole line \nb: 2\n"),
    ("nested-block-in-list", "items:\n  - name: a\n    script: |\n      run  \n      done\n  - name: b\n"),
    ("keep-chomping", "a: |+\n  x  \n\n\nb: 1\n"),
    ("indentation-and-block", "a:\n  b: |\n     deeper  \n     still\n  c: 2\n"),
    ("only-spaces-line", "a: 1\n   \nb: 2\n"),
    ("comments", "a: 1 # too close\n#no space\nb: 2\n"),
    ("truthy-and-colons", "a: yes\nb:  2\nc : 3\n"),
    // DataDog's values.yaml: an empty flow map with a comment after it.
    ("empty-braces-then-comment", "a:\n  b: {}  # |\n  #  foobar\n  #     foo bar baz\n\nc: 1\n"),
    ("braces-and-brackets", "a: { b: 1}\nc: [ 1, 2 ]\nd: {x: [1, 2]}\ne: {\n  f: 1}\ng: []  # [ x ]\n"),
];

fn yamllint() -> Option<PathBuf> {
    let venv = support::workspace_root().join("target/nex-cache/yamllint-venv");
    let bin = venv.join("bin/yamllint");
    if bin.is_file() {
        return Some(bin);
    }
    let ok = |c: &mut Command| c.output().map(|o| o.status.success()).unwrap_or(false);
    (ok(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        && ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", YAMLLINT])))
    .then_some(bin)
    .filter(|b| b.is_file())
}

/// yamllint's rule names for the harness's `yaml/*` rules both implement.
fn yamllint_rule(id: &str) -> Option<&'static str> {
    Some(match id {
        "yaml/trailing-spaces" => "trailing-spaces",
        "yaml/empty-lines" => "empty-lines",
        "yaml/final-newline" => "new-line-at-end-of-file",
        "yaml/new-lines" => "new-lines",
        "yaml/indentation" => "indentation",
        "yaml/comments" => "comments",
        "yaml/colons" => "colons",
        "yaml/commas" => "commas",
        "yaml/truthy" => "truthy",
        "yaml/braces" => "braces",
        "yaml/brackets" => "brackets",
        "yaml/hyphens" => "hyphens",
        "yaml/duplicate-key" => "key-duplicates",
        _ => return None,
    })
}

/// `(line, column, rule)` of each finding yamllint reports (`-f parsable`).
fn real(bin: &Path, conf: &Path, file: &Path) -> BTreeSet<(usize, usize, String)> {
    let out = Command::new(bin).arg("-c").arg(conf).args(["-f", "parsable"]).arg(file).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // path:line:col: [level] message (rule)
            let rest = l.strip_prefix(&format!("{}:", file.display()))?;
            let mut parts = rest.splitn(3, ':');
            let line = parts.next()?.parse().ok()?;
            let col = parts.next()?.parse().ok()?;
            let rule = parts.next()?.rsplit_once('(')?.1.trim_end_matches(')').to_owned();
            Some((line, col, rule))
        })
        .collect()
}

#[test]
fn hygiene_findings_equal_yamllint_s_to_the_column() {
    let Some(bin) = yamllint() else {
        eprintln!("SKIPPED: pip could not install {YAMLLINT}; the yaml/* rules are not compared with it");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("lintconf.yaml");
    std::fs::write(&conf, CT_LINTCONF).unwrap();
    let mut differences = Vec::new();
    for (name, text) in CASES {
        let file = tmp.path().join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        let expected = real(&bin, &conf, &file);
        let found: BTreeSet<(usize, usize, String)> =
            file_findings("c", &YamlFile::from_text(&file, text.to_string()), &LintConf::default())
                .into_iter()
                .filter_map(|d| {
                    let rule = yamllint_rule(&d.rule)?;
                    let l = d.location?;
                    Some((l.line?, l.column?, rule.to_owned()))
                })
                .collect();
        if expected != found {
            differences.push(format!("{name}: yamllint {expected:?}, harness {found:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
