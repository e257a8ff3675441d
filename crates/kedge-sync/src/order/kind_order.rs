//! The order of kinds within one step: what others depend on first
//! (namespaces, policies, identities, configuration, storage, RBAC), then the
//! workloads that use them, then what routes to them.

/// Kinds in apply order; any other kind comes after these, by name.
///
/// The list follows Helm's install order (`InstallOrder` in Helm's kind
/// sorter), trimmed to the kinds kedge's sync issue names.
const KIND_ORDER: [&str; 27] = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
    "APIService",
];

/// Where a kind sorts: its position in [`KIND_ORDER`], or after all of them.
/// Kinds after the list are then ordered by name by the caller.
pub(super) fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|known| *known == kind)
        .unwrap_or(KIND_ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_comes_before_the_workloads_that_mount_it() {
        assert!(kind_rank("Namespace") < kind_rank("ServiceAccount"));
        assert!(kind_rank("Secret") < kind_rank("Deployment"));
        assert!(kind_rank("ConfigMap") < kind_rank("StatefulSet"));
        assert!(kind_rank("PersistentVolumeClaim") < kind_rank("Pod"));
        assert!(kind_rank("Service") < kind_rank("Deployment"));
        assert!(kind_rank("Deployment") < kind_rank("Ingress"));
    }

    #[test]
    fn unknown_kinds_come_after_every_listed_kind() {
        assert_eq!(kind_rank("Prometheus"), KIND_ORDER.len());
        assert!(kind_rank("APIService") < kind_rank("Prometheus"));
        // Kinds are case-sensitive, as the API server's are.
        assert_eq!(kind_rank("deployment"), KIND_ORDER.len());
    }
}
