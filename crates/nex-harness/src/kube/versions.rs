//! The Kubernetes versions a chart is rendered and validated for: the lowest
//! its `kubeVersion` allows and the newest known, within the versions the
//! pinned schemas cover.

/// Minor versions of Kubernetes 1.x with schemas (kubernetes-validate 1.37.0).
pub const OLDEST_MINOR: u64 = 25;
pub const NEWEST_MINOR: u64 = 37;

/// `1.25.0`, `1.37.0`, … the matrix for a chart's `kubeVersion` constraint
/// (helm's Masterminds syntax). `Err` when the constraint cannot be read or
/// allows none of the known versions.
pub fn matrix(constraint: Option<&str>) -> Result<Vec<String>, String> {
    let allowed: Vec<u64> = match constraint.map(str::trim).filter(|c| !c.is_empty()) {
        None => (OLDEST_MINOR..=NEWEST_MINOR).collect(),
        Some(c) => {
            let parsed = crate::constraint::Constraint::parse(c)
                .map_err(|e| format!("kubeVersion {c:?} is not a version constraint: {e}"))?;
            (OLDEST_MINOR..=NEWEST_MINOR)
                .filter(|m| {
                    let v = crate::constraint::Version { major: 1, minor: *m, patch: 0, pre: String::new() };
                    parsed.matches(&v)
                })
                .collect()
        }
    };
    let (Some(lo), Some(hi)) = (allowed.first(), allowed.last()) else {
        return Err(format!(
            "kubeVersion {:?} allows no Kubernetes version from 1.{OLDEST_MINOR} to 1.{NEWEST_MINOR}",
            constraint.unwrap_or_default()
        ));
    };
    let mut out = vec![format!("1.{lo}.0")];
    if hi != lo {
        out.push(format!("1.{hi}.0"));
    }
    Ok(out)
}

/// Whether a `kubeVersion` constraint admits `version` (what helm checks
/// before installing a chart on a cluster of that version).
pub fn admits(constraint: Option<&str>, version: &semver::Version) -> Result<bool, String> {
    match constraint.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(true),
        Some(c) => {
            let parsed = crate::constraint::Constraint::parse(c)
                .map_err(|e| format!("kubeVersion {c:?} is not a version constraint: {e}"))?;
            let v = crate::constraint::Version {
                major: version.major,
                minor: version.minor,
                patch: version.patch,
                pre: version.pre.to_string(),
            };
            Ok(parsed.admits_kube(&v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_allowed_and_newest() {
        assert_eq!(matrix(Some(">=1.25.0-0")).unwrap(), ["1.25.0", "1.37.0"]);
        assert_eq!(matrix(Some(">= 1.28.0-0")).unwrap(), ["1.28.0", "1.37.0"]);
        assert_eq!(matrix(None).unwrap(), ["1.25.0", "1.37.0"]);
        assert_eq!(matrix(Some(">=1.20.0-0 <1.30.0-0")).unwrap(), ["1.25.0", "1.29.0"]);
        assert_eq!(matrix(Some("1.30.0 - 1.31.0 || >=1.36.0-0")).unwrap(), ["1.30.0", "1.37.0"]);
        assert_eq!(matrix(Some(">=1.37.0-0")).unwrap(), ["1.37.0"]);
        // Masterminds: a bare minor is that minor (any patch), not a caret range.
        assert_eq!(matrix(Some("1.30")).unwrap(), ["1.30.0"]);
        assert_eq!(matrix(Some(">=1.25.0-0, !=1.26")).unwrap(), ["1.25.0", "1.37.0"]);
    }

    #[test]
    fn admits_what_helm_would_install() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert!(admits(Some(">=1.25.0-0"), &v("1.25.16")).unwrap());
        assert!(!admits(Some(">=1.26.0-0"), &v("1.25.16")).unwrap());
        assert!(admits(Some(">=1.26.0-0"), &v("1.36.1")).unwrap());
        assert!(admits(None, &v("1.25.16")).unwrap());
        assert!(admits(Some("banana"), &v("1.25.16")).is_err());
    }

    #[test]
    fn impossible_or_unreadable_constraints_are_errors() {
        assert!(matrix(Some(">=2.0.0")).unwrap_err().contains("allows no Kubernetes version"));
        assert!(matrix(Some("banana")).is_err());
    }
}
