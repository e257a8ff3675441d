//! The rule for every kind without one of its own, as kstatus reads custom
//! resources: the controller must have observed the latest generation, then
//! `Reconciling`, `Stalled`, `Ready` and `Available` decide.
//!
//! `Ready=False` (or `Available=False` when there is no `Ready`) is
//! Progressing, as in kstatus, unless its reason says the controller failed
//! (`Failed`, `ReconciliationFailed`, `ErrorOccurred`, `InvalidSpec`…): then
//! it is Degraded, as Argo CD's scripts judge most such kinds, so that a sync
//! does not wait for its timeout on a resource that will not recover alone.

use serde_json::Value;

use super::{Condition, Health, HealthStatus, Live};

/// The generic verdict: no status → Healthy; an unobserved generation →
/// Progressing; `Reconciling=True` → Progressing; `Stalled=True` → Degraded;
/// then `Ready`, else `Available`; with none of them, Healthy.
pub(super) fn assess(live: &Live<'_>) -> Health {
    if live.status(&[]).is_none_or(|status| !status.is_object()) {
        return Health::healthy();
    }
    // Only an integer counts: some controllers write a hash there.
    let observed = live.status(&["observedGeneration"]).and_then(Value::as_i64);
    let generation = live.metadata("generation").and_then(Value::as_i64);
    if let (Some(observed), Some(generation)) = (observed, generation)
        && observed < generation
    {
        return live.unobserved_generation_verdict(generation, observed);
    }
    let conditions = live.conditions();
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|condition| condition.kind == kind && condition.is_true())
    };
    if let Some(reconciling) = holds("Reconciling") {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("reconciling ({reconciling})"),
        );
    }
    if let Some(stalled) = holds("Stalled") {
        return live.verdict(HealthStatus::Degraded, format_args!("stalled ({stalled})"));
    }
    let readiness = ["Ready", "Available"]
        .iter()
        .find_map(|kind| conditions.iter().find(|condition| condition.kind == *kind));
    match readiness {
        Some(condition) if condition.is_true() => Health::healthy(),
        Some(condition) if reports_failure(condition) => live.verdict(
            HealthStatus::Degraded,
            format_args!("is not {} ({condition})", adjective(condition)),
        ),
        Some(condition) => live.verdict(
            HealthStatus::Progressing,
            format_args!("is not {} yet ({condition})", adjective(condition)),
        ),
        None => Health::healthy(),
    }
}

/// `ready` or `available`, for the message.
fn adjective(condition: &Condition<'_>) -> &'static str {
    if condition.kind == "Ready" {
        "ready"
    } else {
        "available"
    }
}

/// Whether a `False` readiness condition's reason names a failure.
fn reports_failure(condition: &Condition<'_>) -> bool {
    if !condition.is_false() {
        return false;
    }
    let reason = condition.reason.to_ascii_lowercase();
    ["fail", "error", "invalid"]
        .iter()
        .any(|word| reason.contains(word))
}

#[cfg(test)]
mod tests {
    use super::super::{assess, tests::object};
    use super::*;

    fn widget(generation: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w, generation: {generation}}}\n\
             status: {status}"
        )))
    }

    #[test]
    fn a_resource_without_status_or_signals_is_healthy() {
        let config_map = assess(&object(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}",
        ));
        assert_eq!(config_map, Health::healthy());
        assert_eq!(widget("1", "{phase: Whatever}"), Health::healthy());
    }

    #[test]
    fn a_resource_whose_controller_lags_is_progressing() {
        let health = widget(
            "3",
            "{observedGeneration: 2, conditions: [{type: Ready, status: 'True'}]}",
        );
        assert_eq!(health.status, HealthStatus::Progressing);
        assert_eq!(
            health.message.as_deref(),
            Some(
                r#"Widget "w": waiting for the controller to observe generation 3 (it has seen 2)"#
            )
        );
    }

    #[test]
    fn kstatus_conditions_decide() {
        let reconciling = widget(
            "1",
            "{conditions: [{type: Reconciling, status: 'True', reason: Progressing, \
             message: 'Fetching manifests'}, {type: Ready, status: 'Unknown'}]}",
        );
        assert_eq!(reconciling.status, HealthStatus::Progressing);
        assert_eq!(
            reconciling.message.as_deref(),
            Some(r#"Widget "w": reconciling (Progressing: Fetching manifests)"#)
        );
        let stalled = widget(
            "1",
            "{conditions: [{type: Stalled, status: 'True', reason: InvalidPath, \
             message: 'path ./deploy not found'}]}",
        );
        assert_eq!(stalled.status, HealthStatus::Degraded);
        assert_eq!(
            stalled.message.as_deref(),
            Some(r#"Widget "w": stalled (InvalidPath: path ./deploy not found)"#)
        );
        let ready = widget("1", "{conditions: [{type: Ready, status: 'True'}]}");
        assert_eq!(ready, Health::healthy());
    }

    #[test]
    fn a_false_ready_condition_is_degraded_only_when_its_reason_is_a_failure() {
        let failed = widget(
            "1",
            "{conditions: [{type: Ready, status: 'False', reason: InstallFailed, \
             message: 'timed out waiting for the condition'}]}",
        );
        assert_eq!(failed.status, HealthStatus::Degraded);
        assert_eq!(
            failed.message.as_deref(),
            Some(
                r#"Widget "w": is not ready (InstallFailed: timed out waiting for the condition)"#
            )
        );
        let waiting = widget(
            "1",
            "{conditions: [{type: Available, status: 'False', reason: Init}]}",
        );
        assert_eq!(waiting.status, HealthStatus::Progressing);
        assert_eq!(
            waiting.message.as_deref(),
            Some(r#"Widget "w": is not available yet (Init)"#)
        );
    }

    #[test]
    fn ready_wins_over_available() {
        let health = widget(
            "1",
            "{conditions: [{type: Available, status: 'False', reason: Failed}, \
             {type: Ready, status: 'True'}]}",
        );
        assert_eq!(health, Health::healthy());
    }
}
