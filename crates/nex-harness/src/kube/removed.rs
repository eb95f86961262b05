//! Kubernetes API versions that are no longer served: data, from the
//! Kubernetes "Deprecated API Migration Guide"
//! (kubernetes/website, content/en/docs/reference/using-api/deprecation-guide.md,
//! read at commit 02afb71 and the newer text that lists v1.26–v1.32).

/// One removed API version of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The Kubernetes 1.x minor release that stopped serving it.
    pub removed_in: u64,
    /// The apiVersion to use instead (`None`: the kind itself is gone).
    pub replacement: Option<&'static str>,
}

const fn r(
    api_version: &'static str,
    kind: &'static str,
    removed_in: u64,
    replacement: &'static str,
) -> Removed {
    Removed { api_version, kind, removed_in, replacement: Some(replacement) }
}

/// Every removal the guide lists, newest first.
pub const REMOVED: &[Removed] = &[
    // v1.32
    r("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", 32, "flowcontrol.apiserver.k8s.io/v1"),
    r(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "PriorityLevelConfiguration",
        32,
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    // v1.29
    r("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", 29, "flowcontrol.apiserver.k8s.io/v1"),
    r(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "PriorityLevelConfiguration",
        29,
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    // v1.27
    r("storage.k8s.io/v1beta1", "CSIStorageCapacity", 27, "storage.k8s.io/v1"),
    // v1.26
    r("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", 26, "flowcontrol.apiserver.k8s.io/v1"),
    r(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
        26,
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    r("autoscaling/v2beta2", "HorizontalPodAutoscaler", 26, "autoscaling/v2"),
    // v1.25
    r("batch/v1beta1", "CronJob", 25, "batch/v1"),
    r("discovery.k8s.io/v1beta1", "EndpointSlice", 25, "discovery.k8s.io/v1"),
    r("events.k8s.io/v1beta1", "Event", 25, "events.k8s.io/v1"),
    r("autoscaling/v2beta1", "HorizontalPodAutoscaler", 25, "autoscaling/v2"),
    r("policy/v1beta1", "PodDisruptionBudget", 25, "policy/v1"),
    Removed { api_version: "policy/v1beta1", kind: "PodSecurityPolicy", removed_in: 25, replacement: None },
    r("node.k8s.io/v1beta1", "RuntimeClass", 25, "node.k8s.io/v1"),
    // v1.22
    r(
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        22,
        "admissionregistration.k8s.io/v1",
    ),
    r(
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
        22,
        "admissionregistration.k8s.io/v1",
    ),
    r("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", 22, "apiextensions.k8s.io/v1"),
    r("apiregistration.k8s.io/v1beta1", "APIService", 22, "apiregistration.k8s.io/v1"),
    r("authentication.k8s.io/v1beta1", "TokenReview", 22, "authentication.k8s.io/v1"),
    r("authorization.k8s.io/v1beta1", "LocalSubjectAccessReview", 22, "authorization.k8s.io/v1"),
    r("authorization.k8s.io/v1beta1", "SelfSubjectAccessReview", 22, "authorization.k8s.io/v1"),
    r("authorization.k8s.io/v1beta1", "SubjectAccessReview", 22, "authorization.k8s.io/v1"),
    r("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview", 22, "authorization.k8s.io/v1"),
    r("certificates.k8s.io/v1beta1", "CertificateSigningRequest", 22, "certificates.k8s.io/v1"),
    r("coordination.k8s.io/v1beta1", "Lease", 22, "coordination.k8s.io/v1"),
    r("extensions/v1beta1", "Ingress", 22, "networking.k8s.io/v1"),
    r("networking.k8s.io/v1beta1", "Ingress", 22, "networking.k8s.io/v1"),
    r("networking.k8s.io/v1beta1", "IngressClass", 22, "networking.k8s.io/v1"),
    r("rbac.authorization.k8s.io/v1beta1", "ClusterRole", 22, "rbac.authorization.k8s.io/v1"),
    r("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", 22, "rbac.authorization.k8s.io/v1"),
    r("rbac.authorization.k8s.io/v1beta1", "Role", 22, "rbac.authorization.k8s.io/v1"),
    r("rbac.authorization.k8s.io/v1beta1", "RoleBinding", 22, "rbac.authorization.k8s.io/v1"),
    r("scheduling.k8s.io/v1beta1", "PriorityClass", 22, "scheduling.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "CSIDriver", 22, "storage.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "CSINode", 22, "storage.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "StorageClass", 22, "storage.k8s.io/v1"),
    r("storage.k8s.io/v1beta1", "VolumeAttachment", 22, "storage.k8s.io/v1"),
    // v1.16
    r("extensions/v1beta1", "NetworkPolicy", 16, "networking.k8s.io/v1"),
    r("extensions/v1beta1", "DaemonSet", 16, "apps/v1"),
    r("apps/v1beta2", "DaemonSet", 16, "apps/v1"),
    r("extensions/v1beta1", "Deployment", 16, "apps/v1"),
    r("apps/v1beta1", "Deployment", 16, "apps/v1"),
    r("apps/v1beta2", "Deployment", 16, "apps/v1"),
    r("apps/v1beta1", "StatefulSet", 16, "apps/v1"),
    r("apps/v1beta2", "StatefulSet", 16, "apps/v1"),
    r("extensions/v1beta1", "ReplicaSet", 16, "apps/v1"),
    r("apps/v1beta1", "ReplicaSet", 16, "apps/v1"),
    r("apps/v1beta2", "ReplicaSet", 16, "apps/v1"),
];

/// The removal of `api_version`/`kind`, when Kubernetes `version` (`1.30.0`)
/// no longer serves it.
pub fn removed(api_version: &str, kind: &str, version: &str) -> Option<&'static Removed> {
    let minor: u64 = version.trim_start_matches('v').split('.').nth(1)?.parse().ok()?;
    REMOVED.iter().find(|r| r.api_version == api_version && r.kind == kind && r.removed_in <= minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_apply_from_their_release_on() {
        let pdb = removed("policy/v1beta1", "PodDisruptionBudget", "1.25.0").unwrap();
        assert_eq!((pdb.removed_in, pdb.replacement), (25, Some("policy/v1")));
        assert!(removed("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.25.0").is_none());
        assert_eq!(
            removed("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26.0").unwrap().removed_in,
            26
        );
        assert!(removed("policy/v1", "PodDisruptionBudget", "1.37.0").is_none());
        assert!(removed("extensions/v1beta1", "Ingress", "1.30.0").is_some());
    }

    #[test]
    fn each_entry_once() {
        let mut seen = std::collections::HashSet::new();
        for r in REMOVED {
            assert!(seen.insert((r.api_version, r.kind)), "{} {}", r.api_version, r.kind);
        }
    }
}
