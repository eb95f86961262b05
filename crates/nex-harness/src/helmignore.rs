//! `.helmignore` rules, read as helm reads them (helm v3 `pkg/ignore/rules.go`):
//! one pattern a line (`#` comments, blank lines skipped), `!` negates, a
//! trailing `/` matches folders only, a leading `/` anchors at the chart root, a
//! pattern with a `/` matches the whole relative path and one without matches the
//! file name alone; patterns are Go's `filepath.Match` globs (`*`, `?`, `[...]`),
//! `**` is refused. ct's `use-helmignore` filters changed files with these rules
//! plus helm's default `templates/.?*`.

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    glob: String,
    negate: bool,
    must_dir: bool,
    /// Leading `/` or a `/` inside: matched against the whole path.
    whole_path: bool,
}

impl Rules {
    /// Parses the file's text; `Err` names the line helm would refuse.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rules = Rules::default();
        for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            rules.add(line).map_err(|e| format!(".helmignore:{}: {e}", i + 1))?;
        }
        Ok(rules)
    }

    /// Parses the file's text and adds helm's default rule (dot files in templates/).
    pub fn parse_with_defaults(text: &str) -> Result<Self, String> {
        let mut rules = Self::parse(text)?;
        rules.add("templates/.?*")?;
        Ok(rules)
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let mut rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        glob_match(rule, "abc").map_err(|e| format!("{rule}: {e}"))?;
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        let rule = rule.strip_suffix('/').unwrap_or(rule);
        let whole_path = rule.contains('/');
        let glob = rule.strip_prefix('/').unwrap_or(rule).to_owned();
        self.patterns.push(Pattern { glob, negate, must_dir, whole_path });
        Ok(())
    }

    /// Whether helm ignores `path` (relative to the chart, `/`-separated). As in
    /// helm, the first rule that decides wins, and a negated rule that does not
    /// match decides "ignored".
    pub fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let subject = if p.whole_path { path } else { path.rsplit('/').next().unwrap_or(path) };
            let hit = glob_match(&p.glob, subject).unwrap_or(false);
            if p.negate {
                if (p.must_dir && !is_dir) || !hit {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if hit {
                return true;
            }
        }
        false
    }

    /// The files (relative to the chart) helm would keep: a file inside an
    /// ignored folder is dropped with it, as ct's walk skips the folder.
    pub fn keep<'a>(&self, files: &'a [String]) -> Vec<&'a str> {
        files
            .iter()
            .map(String::as_str)
            .filter(|f| {
                let parts: Vec<&str> = f.split('/').collect();
                let dir_ignored = (1..parts.len()).any(|n| self.ignores(&parts[..n].join("/"), true));
                !dir_ignored && !self.ignores(f, false)
            })
            .collect()
    }
}

/// Go's `filepath.Match` on `/`-separated names: `*` any run of non-`/`
/// characters, `?` one, `[...]` a class (`^` negates, ranges, `\` escapes).
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, String> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> Result<bool, String> {
    match p.first() {
        None => Ok(n.is_empty()),
        Some('*') => {
            // A run of stars is one star; try every split that stays within a segment.
            let rest = &p[1..];
            for i in 0..=n.len() {
                if i > 0 && n[i - 1] == '/' {
                    break;
                }
                if matches(rest, &n[i..])? {
                    return Ok(true);
                }
            }
            // A malformed rest is an error even when nothing matched (Go checks the pattern).
            Ok(false)
        }
        Some('?') => Ok(matches!(n.first(), Some(c) if *c != '/') && matches(&p[1..], &n[1..])?),
        Some('[') => {
            let (matched, len) = class(&p[1..], n.first().copied())?;
            Ok(matched && matches(&p[1 + len..], &n[1..])?)
        }
        Some('\\') => {
            let Some(c) = p.get(1) else { return Err("syntax error in pattern".into()) };
            Ok(n.first() == Some(c) && matches(&p[2..], &n[1..])?)
        }
        Some(c) => Ok(n.first() == Some(c) && matches(&p[1..], &n[1..])?),
    }
}

/// A `[...]` class after its `[`: whether `c` is in it, and how many pattern
/// characters it took (up to and including `]`).
fn class(p: &[char], c: Option<char>) -> Result<(bool, usize), String> {
    let bad = || Err("syntax error in pattern".to_owned());
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let Some(&lo) = p.get(i) else { return bad() };
        if lo == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if lo == '\\' {
            i += 1;
            *p.get(i).ok_or("syntax error in pattern")?
        } else {
            lo
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|h| *h != ']') {
            hi = if p[i + 1] == '\\' { *p.get(i + 2).ok_or("syntax error in pattern")? } else { p[i + 1] };
            i += if p[i + 1] == '\\' { 3 } else { 2 };
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            found = true;
        }
    }
    let Some(c) = c else { return Ok((false, i)) };
    Ok((found != negated && c != '/', i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_go_s_filepath_match() {
        assert_eq!(glob_match("*.md", "README.md"), Ok(true));
        assert_eq!(glob_match("*.md", "docs/README.md"), Ok(false), "* stops at /");
        assert_eq!(glob_match("templates/*.yaml", "templates/a.yaml"), Ok(true));
        assert_eq!(glob_match("?.txt", "a.txt"), Ok(true));
        assert_eq!(glob_match("[abc].txt", "b.txt"), Ok(true));
        assert_eq!(glob_match("[^abc].txt", "b.txt"), Ok(false));
        assert_eq!(glob_match("[a-c]x", "cx"), Ok(true));
        assert!(glob_match("[a-", "a").is_err());
    }

    #[test]
    fn rules_decide_as_helm_does() {
        let r = Rules::parse_with_defaults("# docs\n*.md\nci/\n/tests/*.yaml\n").unwrap();
        let files: Vec<String> = [
            "README.md",
            "docs/x.md",
            "ci/a-values.yaml",
            "tests/t.yaml",
            "templates/.hidden",
            "values.yaml",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(r.keep(&files), ["values.yaml"]);
        assert!(Rules::parse("**/x\n").unwrap_err().contains(".helmignore:1"));
        // helm's quirk: a negated rule that does not match ignores the path.
        let quirk = Rules::parse("!only-this.yaml\n").unwrap();
        assert!(quirk.ignores("values.yaml", false));
        assert!(!quirk.ignores("only-this.yaml", false));
    }
}
