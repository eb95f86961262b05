//! Rules as data: every finding the harness reports belongs to a [`Rule`]
//! declared once, beside the check that emits it.
//!
//! # Adding a rule
//!
//! 1. In the check's module, declare it and list it in the module's `RULES`:
//!
//!    ```ignore
//!    pub const RULE_FOO: Rule = Rule::error("area/foo", EVERY, "what it catches, in one line");
//!    pub const RULES: &[Rule] = &[RULE_FOO /* , ... */];
//!    ```
//!
//!    `EVERY` puts it in both profiles (objective: a chart anyone maintains would
//!    want it); `CATALOG` makes it a house rule of this catalog (off under
//!    `profile: ct`). Add `.exceptable()` when a chart's policy exception may
//!    allow it (object findings only: exceptions name objects).
//! 2. Emit it: `Diagnostic::error(RULE_FOO, chart, message)` (a `Rule` is
//!    accepted wherever a rule id is).
//! 3. A new module's `RULES` goes once into [`crate::checks::REGISTRY`].
//! 4. Add its fixture test, then run `cargo xtask docs` to regenerate
//!    `docs/rules.md` (a test fails when it drifts, and another when code
//!    emits a rule id the registry does not hold).

use crate::diag::Severity;

/// A named set of rules, chosen in `harness.yaml` with `profile:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Everything, this catalog's house rules included.
    Catalog,
    /// What `ct lint` checks plus the objective checks (schemas, Kubernetes
    /// schemas, renders); no house rules.
    Ct,
}

impl Profile {
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Catalog => "catalog",
            Profile::Ct => "ct",
        }
    }
}

/// Both profiles: an objective rule.
pub const EVERY: &[Profile] = &[Profile::Catalog, Profile::Ct];
/// This catalog's house rules only.
pub const CATALOG: &[Profile] = &[Profile::Catalog];

/// One rule: its stable id, default severity, one-line summary, whether a
/// policy exception may allow its findings, and the profiles it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `area/name`, stable.
    pub id: &'static str,
    /// The severity its findings usually have (a few rules report some
    /// findings as warnings, e.g. yamllint levels); `harness.yaml` may override it.
    pub severity: Severity,
    pub summary: &'static str,
    pub exceptable: bool,
    pub profiles: &'static [Profile],
}

impl Rule {
    pub const fn error(id: &'static str, profiles: &'static [Profile], summary: &'static str) -> Self {
        Self { id, severity: Severity::Error, summary, exceptable: false, profiles }
    }

    pub const fn warning(id: &'static str, profiles: &'static [Profile], summary: &'static str) -> Self {
        Self { id, severity: Severity::Warning, summary, exceptable: false, profiles }
    }

    /// A chart's policy exception may allow this rule's findings.
    pub const fn exceptable(mut self) -> Self {
        self.exceptable = true;
        self
    }

    pub fn in_profile(&self, profile: Profile) -> bool {
        self.profiles.contains(&profile)
    }
}

impl AsRef<str> for Rule {
    fn as_ref(&self) -> &str {
        self.id
    }
}

impl From<Rule> for &'static str {
    fn from(r: Rule) -> Self {
        r.id
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

// Findings store ids as strings; compare them with rules directly.
impl PartialEq<Rule> for String {
    fn eq(&self, r: &Rule) -> bool {
        self == r.id
    }
}

impl PartialEq<Rule> for &str {
    fn eq(&self, r: &Rule) -> bool {
        *self == r.id
    }
}

impl PartialEq<Rule> for str {
    fn eq(&self, r: &Rule) -> bool {
        self == r.id
    }
}

/// Whether `id` has the `area/name` shape of a rule id (lower-case words and dashes).
pub fn well_formed(id: &str) -> bool {
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
    };
    id.split_once('/').is_some_and(|(a, n)| word(a) && word(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compare_with_ids_and_build_as_constants() {
        const R: Rule = Rule::warning("a/b", CATALOG, "x").exceptable();
        assert!(R.exceptable && R.severity == Severity::Warning);
        let found: String = ["a", "b"].join("/");
        assert!(found == R);
        assert!("a/b" == R && "a/c" != R);
        assert!(R.in_profile(Profile::Catalog) && !R.in_profile(Profile::Ct));
    }

    #[test]
    fn rule_ids_are_area_slash_name() {
        assert!(well_formed("kube/removed-api"));
        for bad in ["kube", "Kube/x", "kube/", "/x", "a/b/c", "a/-b"] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
