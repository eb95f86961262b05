//! Version constraints with the semantics Helm gives `kubeVersion` (and
//! dependency versions): those of Masterminds/semver v3.4.0, the library
//! helm 4 links (read from its constraints.go and version.go at tag v3.4.0).
//!
//! - `||` separates alternatives; inside one, terms are separated by spaces
//!   or commas, and all must hold.
//! - `A - B` (spaces around the hyphen) is `>= A, <= B`.
//! - A bare version or `=` is an x-range when parts are missing or wildcards
//!   (`1.30` = `1.30.x`: any patch), exact otherwise; `!=` its negation.
//! - `~1.2.3` allows patches, `~1.2` and `~1` alike; `^1.2.3` allows minors,
//!   `^0.2.3` only patches, `^0.0.3` only itself.
//! - A prerelease version (`1.30.0-gke.1`) satisfies an alternative only when
//!   one of its terms names a prerelease (`>=1.25.0-0`). Helm 4 checks a
//!   Kubernetes version's release part only ([`Constraint::admits_kube`]);
//!   helm 3 links v3.3.0, which gates prereleases term by term
//!   ([`Constraint::matches_helm3`]). `xtask/tests/constraints.rs` holds both
//!   against the real helms.

use std::cmp::Ordering;

/// A version as Masterminds reads it (coercing: `v` prefix, missing parts are 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// The prerelease, without its `-` (empty for a release).
    pub pre: String,
}

impl Version {
    pub fn parse(text: &str) -> Option<Self> {
        let mut s = Scanner { text, at: 0 };
        let v = s.version()?;
        if s.at != text.len() || v.wild.iter().any(|w| *w) || v.parts.is_empty() {
            return None;
        }
        let part = |i: usize| v.parts.get(i).map_or(Some(0), |p| p.parse().ok());
        Some(Version { major: part(0)?, minor: part(1)?, patch: part(2)?, pre: v.pre.to_owned() })
    }

    /// Masterminds' order (what ct's version-increment check compares with).
    pub fn compare(&self, o: &Version) -> Ordering {
        self.cmp_to(o)
    }

    fn cmp_to(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch)).then_with(|| {
            match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            }
        })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let (s, o) = (pa.get(i).copied().unwrap_or(""), pb.get(i).copied().unwrap_or(""));
        let d = match (s, o) {
            _ if s == o => Ordering::Equal,
            ("", _) => Ordering::Less,
            (_, "") => Ordering::Greater,
            _ => match (s.parse::<u64>(), o.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                (Err(_), Err(_)) => s.cmp(o),
            },
        };
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

/// One `op version` term.
#[derive(Debug, Clone)]
struct Term {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint: alternatives of terms that must all hold.
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<(Vec<Term>, bool)>,
}

/// A version as written in a constraint: parts (possibly wildcards), prerelease.
struct Written<'a> {
    parts: Vec<&'a str>,
    wild: Vec<bool>,
    pre: &'a str,
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn spaces(&mut self) -> bool {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.at += n;
        n > 0
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.at += s.len();
            true
        } else {
            false
        }
    }

    fn run(&mut self, ok: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let n = rest.find(|c: char| !ok(c)).unwrap_or(rest.len());
        self.at += n;
        &rest[..n]
    }

    /// `v?N(.N)?(.N)?(-pre)?(+meta)?`, N digits or a wildcard (`x`, `X`, `*`).
    fn version(&mut self) -> Option<Written<'a>> {
        let start = self.at;
        self.eat("v");
        let part = |s: &mut Self| s.run(|c| c.is_ascii_digit() || matches!(c, 'x' | 'X' | '*' | '|'));
        let first = part(self);
        if first.is_empty() {
            self.at = start;
            return None;
        }
        let mut parts = vec![first];
        while parts.len() < 3 {
            let back = self.at;
            if !self.eat(".") {
                break;
            }
            let p = part(self);
            if p.is_empty() {
                self.at = back;
                break;
            }
            parts.push(p);
        }
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '-';
        let dotted = |s: &mut Self| -> &'a str {
            let from = s.at;
            if s.run(ident).is_empty() {
                s.at = from;
                return "";
            }
            loop {
                let back = s.at;
                if !s.eat(".") || s.run(ident).is_empty() {
                    s.at = back;
                    break;
                }
            }
            &s.text[from..s.at]
        };
        let mut pre = "";
        let back = self.at;
        if self.eat("-") {
            pre = dotted(self);
            if pre.is_empty() {
                self.at = back;
            }
        }
        let back = self.at;
        if self.eat("+") && dotted(self).is_empty() {
            self.at = back;
        }
        let wild = parts.iter().map(|p| matches!(*p, "x" | "X" | "*")).collect();
        Some(Written { parts, wild, pre })
    }

    fn op(&mut self) -> Op {
        for (s, op) in [
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("=>", Op::Ge),
            ("<=", Op::Le),
            ("=<", Op::Le),
            ("~>", Op::Tilde),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
            ("~", Op::Tilde),
            ("^", Op::Caret),
        ] {
            if self.eat(s) {
                return op;
            }
        }
        Op::Eq
    }
}

fn term(op: Op, w: &Written<'_>) -> Result<Term, String> {
    let bad = || format!("`{}` is not a version", w.parts.join("."));
    let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let (major, minor, patch) = if w.wild[0] {
        dirty = true;
        (0, 0, 0)
    } else if w.parts.len() < 2 || w.wild[1] {
        dirty = true;
        minor_dirty = true;
        (num(w.parts[0])?, 0, 0)
    } else if w.parts.len() < 3 || w.wild[2] {
        dirty = true;
        patch_dirty = true;
        (num(w.parts[0])?, num(w.parts[1])?, 0)
    } else {
        (num(w.parts[0])?, num(w.parts[1])?, num(w.parts[2])?)
    };
    let con = Version { major, minor, patch, pre: w.pre.to_owned() };
    Ok(Term { op, con, dirty, minor_dirty, patch_dirty })
}

/// `A - B` → `>= A, <= B` (Masterminds' rewriteRange), on the text.
fn rewrite_ranges(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let is_version =
            |w: &str| Version::parse(w).is_some() || w.chars().next().is_some_and(|c| c.is_ascii_digit());
        if i + 2 < words.len() && words[i + 1] == "-" && is_version(words[i]) && is_version(words[i + 2]) {
            out.push(format!(">= {}, <= {}", words[i], words[i + 2]));
            i += 3;
        } else {
            out.push(words[i].to_owned());
            i += 1;
        }
    }
    out.join(" ")
}

impl Constraint {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rewritten = rewrite_ranges(text);
        let mut groups = Vec::new();
        for alt in rewritten.split("||") {
            let improper = || format!("improper constraint: {:?}", alt.trim());
            let mut s = Scanner { text: alt, at: 0 };
            let mut terms = Vec::new();
            s.spaces();
            loop {
                let op = s.op();
                s.spaces();
                let w = s.version().ok_or_else(improper)?;
                terms.push(term(op, &w)?);
                let spaced = s.spaces();
                if s.at == alt.len() {
                    break;
                }
                if s.eat(",") {
                    s.spaces();
                } else if !spaced {
                    return Err(improper());
                }
            }
            let pre = terms.iter().any(|t| !t.con.pre.is_empty());
            groups.push((terms, pre));
        }
        Ok(Constraint { groups })
    }

    /// Whether `v` satisfies the constraint (Masterminds' `Check`).
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|(terms, pre)| terms.iter().all(|t| t.check(v, *pre)))
    }

    /// Whether helm 4 installs a chart with this `kubeVersion` on Kubernetes
    /// `v`: helm 4 checks the release part only (`1.30.0-gke.1` counts as
    /// `1.30.0`); helm 3 checks `v` as it is ([`Constraint::matches`]).
    pub fn admits_kube(&self, v: &Version) -> bool {
        self.matches(&Version { pre: String::new(), ..v.clone() })
    }

    /// [`Constraint::matches`] as Masterminds v3.3.0 (linked by helm 3) reads
    /// prereleases: term by term rather than per alternative.
    pub fn matches_helm3(&self, v: &Version) -> bool {
        self.groups.iter().any(|(terms, _)| terms.iter().all(|t| t.check_v3_3(v)))
    }
}

impl Term {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        self.holds(v)
    }

    /// Masterminds v3.3.0 (helm 3): each term admits a prerelease only when it
    /// names one itself, except an exact `!=`, which admits any.
    fn check_v3_3(&self, v: &Version) -> bool {
        let gated = self.op != Op::Ne || self.dirty;
        if gated && !v.pre.is_empty() && self.con.pre.is_empty() {
            return false;
        }
        self.holds(v)
    }

    fn holds(&self, v: &Version) -> bool {
        let c = &self.con;
        match self.op {
            Op::Eq if self.dirty => self.tilde(v),
            Op::Eq => v.cmp_to(c) == Ordering::Equal,
            Op::Tilde => self.tilde(v),
            Op::Ne => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        return (!v.pre.is_empty() || !c.pre.is_empty())
                            && compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                    }
                }
                v.cmp_to(c) != Ordering::Equal
            }
            Op::Gt => {
                if !self.dirty {
                    return v.cmp_to(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.cmp_to(c) == Ordering::Greater
            }
            Op::Lt => v.cmp_to(c) == Ordering::Less,
            Op::Ge => v.cmp_to(c) != Ordering::Less,
            Op::Le => {
                if !self.dirty {
                    return v.cmp_to(c) != Ordering::Greater;
                }
                !(v.major > c.major || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Caret => {
                if v.cmp_to(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.cmp_to(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraint::parse(c).unwrap().matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn bare_versions_are_x_ranges_on_missing_parts() {
        assert!(ok("1.30", "1.30.5"));
        assert!(!ok("1.30", "1.31.0"));
        assert!(ok("1.30.2", "1.30.2"));
        assert!(!ok("1.30.2", "1.30.3"));
        assert!(ok("1", "1.99.0"));
        assert!(ok("!=1.30", "1.31.0") && !ok("!=1.30", "1.30.4"));
    }

    #[test]
    fn ranges_alternatives_and_prereleases() {
        assert!(ok(">=1.25.0-0 <1.30.0-0", "1.29.9") && !ok(">=1.25.0-0 <1.30.0-0", "1.30.0"));
        assert!(ok(">= 1.25, < 1.30", "1.25.0"));
        assert!(ok("1.26 - 1.28", "1.28.9") && !ok("1.26 - 1.28", "1.29.0"));
        assert!(ok("<1.20 || >=1.30", "1.31.0") && !ok("<1.20 || >=1.30", "1.25.0"));
        assert!(!ok(">=1.25.0", "1.30.0-gke.1"), "a prerelease needs a prerelease term");
        assert!(ok(">=1.25.0-0", "1.30.0-gke.1"));
        assert!(ok("^1.25", "1.37.0") && !ok("^0.2.3", "0.3.0") && ok("~1.29", "1.29.7"));
    }

    #[test]
    fn improper_constraints_are_errors() {
        for bad in ["", "latest", ">=one", "||", ">=1.25 <", "1.25,,1.26"] {
            assert!(Constraint::parse(bad).is_err(), "{bad}");
        }
    }
}
