//! Service and Ingress: healthy once traffic has somewhere to arrive.

use serde_json::Value;

use super::{Health, HealthStatus, Live};

/// Whether `status.loadBalancer.ingress` lists at least one address.
fn has_load_balancer_address(live: &Live<'_>) -> bool {
    live.status(&["loadBalancer", "ingress"])
        .and_then(Value::as_array)
        .is_some_and(|addresses| !addresses.is_empty())
}

/// A Service: one of type `LoadBalancer` is Progressing until the cloud
/// provider gave it an address; every other type is Healthy.
pub(super) fn service(live: &Live<'_>) -> Health {
    let load_balancer = live.spec(&["type"]).and_then(Value::as_str) == Some("LoadBalancer");
    if load_balancer && !has_load_balancer_address(live) {
        return live.verdict(
            HealthStatus::Progressing,
            "waiting for the load balancer to get an address",
        );
    }
    Health::healthy()
}

/// An Ingress: Progressing until an ingress controller published an address.
pub(super) fn ingress(live: &Live<'_>) -> Health {
    if has_load_balancer_address(live) {
        return Health::healthy();
    }
    live.verdict(
        HealthStatus::Progressing,
        "waiting for an ingress controller to publish an address",
    )
}

#[cfg(test)]
mod tests {
    use super::super::{assess, tests::object};
    use super::*;

    #[test]
    fn a_load_balancer_service_waits_for_an_address() {
        let pending = assess(&object(
            "apiVersion: v1\nkind: Service\nmetadata: {name: front}\n\
             spec: {type: LoadBalancer}\nstatus: {loadBalancer: {}}",
        ));
        assert_eq!(pending.status, HealthStatus::Progressing);
        assert_eq!(
            pending.message.as_deref(),
            Some(r#"Service "front": waiting for the load balancer to get an address"#)
        );
        let ready = assess(&object(
            "apiVersion: v1\nkind: Service\nmetadata: {name: front}\n\
             spec: {type: LoadBalancer}\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.7}]}}",
        ));
        assert_eq!(ready, Health::healthy());
    }

    #[test]
    fn other_services_are_healthy_without_an_address() {
        for kind in ["ClusterIP", "NodePort", "ExternalName"] {
            let service = assess(&object(&format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: api}}\n\
                 spec: {{type: {kind}}}\nstatus: {{loadBalancer: {{}}}}"
            )));
            assert_eq!(service, Health::healthy(), "{kind}");
        }
    }

    #[test]
    fn an_ingress_waits_for_an_address() {
        let pending = assess(&object(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {}",
        ));
        assert_eq!(
            pending.message.as_deref(),
            Some(r#"Ingress "web": waiting for an ingress controller to publish an address"#)
        );
        let ready = assess(&object(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\n\
             status: {loadBalancer: {ingress: [{hostname: lb.example.com}]}}",
        ));
        assert_eq!(ready, Health::healthy());
    }
}
