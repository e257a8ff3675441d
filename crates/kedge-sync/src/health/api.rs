//! Objects that extend or drive the API: CustomResourceDefinition,
//! APIService and HorizontalPodAutoscaler, each judged by its conditions.

use serde_json::Value;

use super::{Condition, Health, HealthStatus, Live};

/// A CustomResourceDefinition: Healthy once `Established`; Degraded when its
/// names clash with another CRD (`NamesAccepted=False`) or its schema is not
/// structural; Progressing while being installed, until it is established,
/// or while being deleted.
pub(super) fn custom_resource_definition(live: &Live<'_>) -> Health {
    let conditions = live.conditions();
    if conditions.is_empty() {
        return live.verdict(
            HealthStatus::Progressing,
            "waiting for the API server to accept it",
        );
    }
    let find = |kind: &str| conditions.iter().find(|c| c.kind == kind);
    if let Some(terminating) = find("Terminating").filter(|c| c.is_true()) {
        return live.verdict(
            HealthStatus::Progressing,
            format_args!("is terminating ({terminating})"),
        );
    }
    if let Some(names) = find("NamesAccepted").filter(|c| c.is_false()) {
        return live.verdict(
            HealthStatus::Degraded,
            format_args!("names are not accepted ({names})"),
        );
    }
    if let Some(schema) = find("NonStructuralSchema").filter(|c| c.is_true()) {
        return live.verdict(
            HealthStatus::Degraded,
            format_args!("schema is not structural ({schema})"),
        );
    }
    match find("Established") {
        Some(established) if established.is_true() => Health::healthy(),
        Some(established) if established.reason == "Installing" => live.verdict(
            HealthStatus::Progressing,
            format_args!("is being installed ({established})"),
        ),
        // Names accepted and a structural schema: the API server is still
        // serving it up, which takes a moment after creation.
        Some(established) => live.verdict(
            HealthStatus::Progressing,
            format_args!("is not established yet ({established})"),
        ),
        None => live.verdict(HealthStatus::Progressing, "is not established yet"),
    }
}

/// An APIService: Healthy once `Available`; otherwise Progressing with the
/// aggregator's reason (`MissingEndpoints`, `FailedDiscoveryCheck`…).
pub(super) fn api_service(live: &Live<'_>) -> Health {
    match live.condition("Available") {
        Some(available) if available.is_true() => Health::healthy(),
        Some(available) => live.verdict(
            HealthStatus::Progressing,
            format_args!("is not available ({available})"),
        ),
        None => live.verdict(
            HealthStatus::Progressing,
            "waiting for the aggregator to check it",
        ),
    }
}

/// The annotation in which `autoscaling/v1` keeps the conditions of `v2`.
const HPA_V1_CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";

/// A HorizontalPodAutoscaler: Degraded when it cannot read its target's scale
/// or its metrics (`AbleToScale` or `ScalingActive` with a `Failed…` or
/// `Invalid…` reason); Healthy once `AbleToScale` or `ScalingLimited` holds;
/// otherwise Progressing until the controller has assessed it.
pub(super) fn horizontal_pod_autoscaler(live: &Live<'_>) -> Health {
    let raw = hpa_conditions(live);
    let conditions: Vec<Condition<'_>> = raw.iter().filter_map(Condition::read).collect();
    let failing = conditions.iter().find(|c| {
        matches!(c.kind, "AbleToScale" | "ScalingActive")
            && !c.is_true()
            && (c.reason.starts_with("Failed") || c.reason.starts_with("Invalid"))
    });
    if let Some(failing) = failing {
        return live.verdict(
            HealthStatus::Degraded,
            format_args!("cannot scale ({failing})"),
        );
    }
    let scaling = conditions
        .iter()
        .any(|c| matches!(c.kind, "AbleToScale" | "ScalingLimited") && c.is_true());
    if scaling {
        return Health::healthy();
    }
    live.verdict(
        HealthStatus::Progressing,
        "waiting for the autoscaler to assess its target",
    )
}

/// `status.conditions` (`autoscaling/v2`), else the JSON list in the
/// `autoscaling/v1` annotation; an unreadable annotation counts as none.
fn hpa_conditions(live: &Live<'_>) -> Vec<Value> {
    if let Some(conditions) = live.status(&["conditions"]).and_then(Value::as_array) {
        return conditions.clone();
    }
    live.at(&["metadata", "annotations", HPA_V1_CONDITIONS])
        .and_then(Value::as_str)
        .and_then(|json| serde_json::from_str::<Vec<Value>>(json).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::{assess, tests::object};
    use super::*;

    fn crd(conditions: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
             metadata: {{name: widgets.example.com}}\nstatus: {{conditions: {conditions}}}"
        )))
    }

    #[test]
    fn a_crd_is_healthy_once_established() {
        let health =
            crd("[{type: NamesAccepted, status: 'True'}, {type: Established, status: 'True'}]");
        assert_eq!(health, Health::healthy());
    }

    #[test]
    fn a_crd_whose_names_clash_is_degraded() {
        let health = crd(
            "[{type: NamesAccepted, status: 'False', reason: ListKindConflict, \
             message: '\"WidgetList\" is already in use'}, {type: Established, status: 'False', \
             reason: NotAccepted}]",
        );
        assert_eq!(health.status, HealthStatus::Degraded);
        assert_eq!(
            health.message.as_deref(),
            Some(
                r#"CustomResourceDefinition "widgets.example.com": names are not accepted (ListKindConflict: "WidgetList" is already in use)"#
            )
        );
    }

    #[test]
    fn a_crd_being_installed_or_without_conditions_is_progressing() {
        let installing = crd(
            "[{type: NamesAccepted, status: 'True'}, {type: Established, status: 'False', \
             reason: Installing, message: the initial names have been accepted}]",
        );
        assert_eq!(installing.status, HealthStatus::Progressing);
        assert_eq!(crd("[]").status, HealthStatus::Progressing);
        let schema = crd(
            "[{type: NonStructuralSchema, status: 'True', reason: Violations, \
             message: 'spec.preserveUnknownFields: Invalid value: true: must be false'}]",
        );
        assert_eq!(schema.status, HealthStatus::Degraded);
    }

    #[test]
    fn an_api_service_is_progressing_until_available() {
        let unavailable = assess(&object(
            "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\n\
             metadata: {name: v1beta1.metrics.k8s.io}\nstatus: {conditions: [{type: Available, \
             status: 'False', reason: MissingEndpoints, message: endpoints for service/metrics-server have no addresses}]}",
        ));
        assert_eq!(unavailable.status, HealthStatus::Progressing);
        assert_eq!(
            unavailable.message.as_deref(),
            Some(
                r#"APIService "v1beta1.metrics.k8s.io": is not available (MissingEndpoints: endpoints for service/metrics-server have no addresses)"#
            )
        );
    }

    fn hpa(metadata: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {metadata}\n\
             status: {status}"
        )))
    }

    #[test]
    fn an_autoscaler_that_cannot_read_metrics_is_degraded() {
        let health = hpa(
            "{name: web}",
            "{conditions: [{type: AbleToScale, status: 'True', reason: SucceededGetScale}, \
             {type: ScalingActive, status: 'False', reason: FailedGetResourceMetric, \
             message: 'the HPA was unable to compute the replica count: missing request for cpu'}]}",
        );
        assert_eq!(health.status, HealthStatus::Degraded);
        assert_eq!(
            health.message.as_deref(),
            Some(
                r#"HorizontalPodAutoscaler "web": cannot scale (FailedGetResourceMetric: the HPA was unable to compute the replica count: missing request for cpu)"#
            )
        );
    }

    #[test]
    fn an_autoscaler_reads_v1_conditions_from_its_annotation() {
        let annotation = r#"[{"type":"AbleToScale","status":"True","reason":"ReadyForNewScale"}]"#;
        let healthy = hpa(
            &format!("{{name: web, annotations: {{'{HPA_V1_CONDITIONS}': '{annotation}'}}}}"),
            "{currentReplicas: 2}",
        );
        assert_eq!(healthy, Health::healthy());
        let fresh = hpa("{name: web}", "{currentReplicas: 0}");
        assert_eq!(
            fresh.message.as_deref(),
            Some(
                r#"HorizontalPodAutoscaler "web": waiting for the autoscaler to assess its target"#
            )
        );
    }
}
