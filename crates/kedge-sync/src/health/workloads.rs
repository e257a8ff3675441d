//! Deployment, StatefulSet, DaemonSet and ReplicaSet: a rollout is done when
//! the controller has seen the latest spec and every wanted pod is updated
//! and available (the same reading as `kubectl rollout status` and Argo CD).

use serde_json::Value;

use super::{Health, HealthStatus, Live};

/// `spec.replicas`, which the API server defaults to 1.
fn wanted_replicas(live: &Live<'_>) -> i64 {
    live.spec(&["replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// `spec.updateStrategy.type == OnDelete`: pods are replaced only when
/// someone deletes them, so there is no rollout to wait for.
fn updates_on_delete(live: &Live<'_>) -> bool {
    live.spec(&["updateStrategy", "type"])
        .and_then(Value::as_str)
        == Some("OnDelete")
}

/// A Deployment: paused → Suspended; past its progress deadline → Degraded;
/// otherwise Progressing until all replicas are updated and available.
pub(super) fn deployment(live: &Live<'_>) -> Health {
    if live.spec(&["paused"]).and_then(Value::as_bool) == Some(true) {
        return live.verdict(HealthStatus::Suspended, "rollout is paused");
    }
    if let Some((generation, observed)) = live.unobserved_generation() {
        return live.unobserved_generation_verdict(generation, observed);
    }
    if let Some(progressing) = live.condition("Progressing")
        && progressing.reason == "ProgressDeadlineExceeded"
    {
        return live.verdict(
            HealthStatus::Degraded,
            format_args!("rollout exceeded its progress deadline ({progressing})"),
        );
    }
    let wanted = wanted_replicas(live);
    let updated = live.status_count("updatedReplicas");
    let total = live.status_count("replicas");
    let available = live.status_count("availableReplicas");
    if updated < wanted {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{updated} of {wanted} replicas are updated"),
        );
    }
    if total > updated {
        let old = total - updated;
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{old} old replicas are pending termination"),
        );
    }
    if available < updated {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{available} of {updated} updated replicas are available"),
        );
    }
    Health::healthy()
}

/// A StatefulSet: every replica ready, then (for rolling updates) every pod
/// at the update revision, or above the partition for a partitioned rollout.
pub(super) fn stateful_set(live: &Live<'_>) -> Health {
    if let Some((generation, observed)) = live.unobserved_generation() {
        return live.unobserved_generation_verdict(generation, observed);
    }
    let wanted = wanted_replicas(live);
    let ready = live.status_count("readyReplicas");
    if ready < wanted {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{ready} of {wanted} pods are ready"),
        );
    }
    if updates_on_delete(live) {
        return Health::healthy();
    }
    let updated = live.status_count("updatedReplicas");
    let partition = live
        .spec(&["updateStrategy", "rollingUpdate", "partition"])
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if partition > 0 {
        let to_update = (wanted - partition).max(0);
        if updated < to_update {
            return live.verdict(
                HealthStatus::Progressing,
                format_args!(
                    "partitioned rollout: {updated} of {to_update} pods above partition \
                     {partition} are updated"
                ),
            );
        }
        return Health::healthy();
    }
    let update_revision = live.status(&["updateRevision"]).and_then(Value::as_str);
    let current_revision = live.status(&["currentRevision"]).and_then(Value::as_str);
    if update_revision.is_some() && update_revision != current_revision {
        let revision = update_revision.unwrap_or_default();
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{updated} of {wanted} pods are at revision {revision}"),
        );
    }
    Health::healthy()
}

/// A DaemonSet: every node that should run a pod runs an updated, available one.
pub(super) fn daemon_set(live: &Live<'_>) -> Health {
    if let Some((generation, observed)) = live.unobserved_generation() {
        return live.unobserved_generation_verdict(generation, observed);
    }
    if updates_on_delete(live) {
        return Health::healthy();
    }
    let desired = live.status_count("desiredNumberScheduled");
    let updated = live.status_count("updatedNumberScheduled");
    let available = live.status_count("numberAvailable");
    if updated < desired {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{updated} of {desired} pods are updated"),
        );
    }
    if available < desired {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{available} of {desired} updated pods are available"),
        );
    }
    Health::healthy()
}

/// A ReplicaSet: `ReplicaFailure` (pods it cannot create) → Degraded;
/// otherwise Progressing until every replica is available.
pub(super) fn replica_set(live: &Live<'_>) -> Health {
    if let Some((generation, observed)) = live.unobserved_generation() {
        return live.unobserved_generation_verdict(generation, observed);
    }
    if let Some(failure) = live
        .condition("ReplicaFailure")
        .filter(|condition| condition.is_true())
    {
        return live.verdict(
            HealthStatus::Degraded,
            format_args!("cannot create pods ({failure})"),
        );
    }
    let wanted = wanted_replicas(live);
    let available = live.status_count("availableReplicas");
    if available < wanted {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("{available} of {wanted} replicas are available"),
        );
    }
    Health::healthy()
}

#[cfg(test)]
mod tests {
    use super::super::{assess, tests::object};
    use super::*;

    fn deployment(spec: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, generation: 2}}\n\
             spec: {spec}\nstatus: {status}"
        )))
    }

    #[test]
    fn a_deployment_with_all_replicas_updated_and_available_is_healthy() {
        let status =
            "{observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3}";
        assert_eq!(deployment("{replicas: 3}", status), Health::healthy());
    }

    #[test]
    fn a_deployment_reports_the_first_unfinished_rollout_step() {
        let cases = [
            (
                "{observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3}",
                r#"Deployment "web": waiting for the controller to observe generation 2 (it has seen 1)"#,
            ),
            (
                "{observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 3}",
                r#"Deployment "web": 1 of 3 replicas are updated"#,
            ),
            (
                "{observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3}",
                r#"Deployment "web": 1 old replicas are pending termination"#,
            ),
            (
                "{observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 1}",
                r#"Deployment "web": 1 of 3 updated replicas are available"#,
            ),
        ];
        for (status, message) in cases {
            let health = deployment("{replicas: 3}", status);
            assert_eq!(health.status, HealthStatus::Progressing, "{status}");
            assert_eq!(health.message.as_deref(), Some(message), "{status}");
        }
    }

    #[test]
    fn a_paused_deployment_is_suspended() {
        let health = deployment("{replicas: 3, paused: true}", "{observedGeneration: 1}");
        assert_eq!(health.status, HealthStatus::Suspended);
        assert_eq!(
            health.message.as_deref(),
            Some(r#"Deployment "web": rollout is paused"#)
        );
    }

    #[test]
    fn a_deployment_past_its_progress_deadline_is_degraded() {
        let status = "{observedGeneration: 2, replicas: 3, updatedReplicas: 1, \
             conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded, \
             message: 'ReplicaSet \"web-5d8\" has timed out progressing.'}]}";
        let health = deployment("{replicas: 3}", status);
        assert_eq!(health.status, HealthStatus::Degraded);
        assert_eq!(
            health.message.as_deref(),
            Some(
                r#"Deployment "web": rollout exceeded its progress deadline (ProgressDeadlineExceeded: ReplicaSet "web-5d8" has timed out progressing.)"#
            )
        );
    }

    fn stateful_set(spec: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db, generation: 1}}\n\
             spec: {spec}\nstatus: {status}"
        )))
    }

    #[test]
    fn a_stateful_set_waits_for_ready_pods_then_the_update_revision() {
        let not_ready = stateful_set(
            "{replicas: 3}",
            "{observedGeneration: 1, readyReplicas: 2, currentRevision: db-1, updateRevision: db-1}",
        );
        assert_eq!(
            not_ready.message.as_deref(),
            Some(r#"StatefulSet "db": 2 of 3 pods are ready"#)
        );
        let rolling = stateful_set(
            "{replicas: 3}",
            "{observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1, \
             currentRevision: db-1, updateRevision: db-2}",
        );
        assert_eq!(
            rolling.message.as_deref(),
            Some(r#"StatefulSet "db": 1 of 3 pods are at revision db-2"#)
        );
        let done = stateful_set(
            "{replicas: 3}",
            "{observedGeneration: 1, readyReplicas: 3, updatedReplicas: 3, \
             currentRevision: db-2, updateRevision: db-2}",
        );
        assert_eq!(done, Health::healthy());
    }

    #[test]
    fn a_stateful_set_with_a_partition_only_waits_for_pods_above_it() {
        let spec =
            "{replicas: 5, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 3}}}";
        let waiting = stateful_set(
            spec,
            "{observedGeneration: 1, readyReplicas: 5, updatedReplicas: 1, \
             currentRevision: db-1, updateRevision: db-2}",
        );
        assert_eq!(waiting.status, HealthStatus::Progressing);
        assert_eq!(
            waiting.message.as_deref(),
            Some(
                r#"StatefulSet "db": partitioned rollout: 1 of 2 pods above partition 3 are updated"#
            )
        );
        let done = stateful_set(
            spec,
            "{observedGeneration: 1, readyReplicas: 5, updatedReplicas: 2, \
             currentRevision: db-1, updateRevision: db-2}",
        );
        assert_eq!(done, Health::healthy());
    }

    #[test]
    fn a_stateful_set_updated_on_delete_is_healthy_once_ready() {
        let health = stateful_set(
            "{replicas: 2, updateStrategy: {type: OnDelete}}",
            "{observedGeneration: 1, readyReplicas: 2, updatedReplicas: 0, \
             currentRevision: db-1, updateRevision: db-2}",
        );
        assert_eq!(health, Health::healthy());
    }

    fn daemon_set(spec: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: agent, generation: 4}}\n\
             spec: {spec}\nstatus: {status}"
        )))
    }

    #[test]
    fn a_daemon_set_waits_for_updated_then_available_pods() {
        let updating = daemon_set(
            "{}",
            "{observedGeneration: 4, desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 3}",
        );
        assert_eq!(
            updating.message.as_deref(),
            Some(r#"DaemonSet "agent": 1 of 3 pods are updated"#)
        );
        let starting = daemon_set(
            "{}",
            "{observedGeneration: 4, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2}",
        );
        assert_eq!(
            starting.message.as_deref(),
            Some(r#"DaemonSet "agent": 2 of 3 updated pods are available"#)
        );
        let on_delete = daemon_set(
            "{updateStrategy: {type: OnDelete}}",
            "{observedGeneration: 4, desiredNumberScheduled: 3, updatedNumberScheduled: 0, numberAvailable: 3}",
        );
        assert_eq!(on_delete, Health::healthy());
    }

    #[test]
    fn a_replica_set_that_cannot_create_pods_is_degraded() {
        let health = assess(&object(
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-5d8, generation: 1}\n\
             spec: {replicas: 2}\nstatus: {observedGeneration: 1, availableReplicas: 0, \
             conditions: [{type: ReplicaFailure, status: 'True', reason: FailedCreate, \
             message: 'pods \"web-5d8-x\" is forbidden: exceeded quota: pods'}]}",
        ));
        assert_eq!(health.status, HealthStatus::Degraded);
        assert_eq!(
            health.message.as_deref(),
            Some(
                r#"ReplicaSet "web-5d8": cannot create pods (FailedCreate: pods "web-5d8-x" is forbidden: exceeded quota: pods)"#
            )
        );
    }
}
