//! Health of a live object, as Argo CD and kstatus define it.
//!
//! Contract: [`assess`] never fails; an object it has no rule for and that
//! carries no status is [`HealthStatus::Healthy`]. Every verdict other than
//! `Healthy` carries a message that names the object
//! (`Deployment "web": 1 of 3 updated replicas are available`).
//!
//! Built-in kinds have their own rule, one module per family: `workloads`
//! (Deployment, StatefulSet, DaemonSet, ReplicaSet), `jobs` (Job, CronJob),
//! `pods` (Pod, PersistentVolumeClaim), `network` (Service, Ingress), `api`
//! (CustomResourceDefinition, APIService, HorizontalPodAutoscaler). Every
//! other kind gets the `generic` rule: `status.observedGeneration` and the
//! `Reconciling`, `Stalled`, `Ready` and `Available` conditions. An object
//! being deleted is Progressing whatever its kind.

use std::fmt;

use serde_json::Value;

use crate::{Object, ObjectKey};

mod api;
mod generic;
mod jobs;
mod network;
mod pods;
mod workloads;

/// How healthy an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub enum HealthStatus {
    /// Working as intended.
    Healthy,
    /// Not yet healthy, but expected to become so.
    Progressing,
    /// Failed, or not expected to become healthy without a change.
    Degraded,
    /// Paused or suspended on purpose (a suspended CronJob, a paused rollout).
    Suspended,
    /// Not in the cluster.
    Missing,
    /// No rule could decide.
    Unknown,
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Healthy => "Healthy",
            Self::Progressing => "Progressing",
            Self::Degraded => "Degraded",
            Self::Suspended => "Suspended",
            Self::Missing => "Missing",
            Self::Unknown => "Unknown",
        })
    }
}

/// A health verdict with the reason a user reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// The verdict.
    pub status: HealthStatus,
    /// Why, when not plainly healthy (`Deployment "web": 1 of 3 updated replicas are available`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Health {
    /// A plainly healthy verdict, with no message.
    pub fn healthy() -> Self {
        Self {
            status: HealthStatus::Healthy,
            message: None,
        }
    }

    /// The verdict for an object that Git wants and the cluster does not have.
    pub fn missing(key: &ObjectKey) -> Self {
        Self {
            status: HealthStatus::Missing,
            message: Some(format!(
                "{}: not found in the cluster",
                Subject {
                    kind: &key.kind,
                    name: &key.name
                }
            )),
        }
    }
}

/// The health of a live object.
pub fn assess(object: &Object) -> Health {
    let live = Live::new(object);
    if live.metadata("deletionTimestamp").is_some() {
        return live.verdict(HealthStatus::Progressing, "is being deleted");
    }
    match (live.group(), live.kind) {
        ("apps" | "extensions", "Deployment") => workloads::deployment(&live),
        ("apps", "StatefulSet") => workloads::stateful_set(&live),
        ("apps" | "extensions", "DaemonSet") => workloads::daemon_set(&live),
        ("apps" | "extensions", "ReplicaSet") => workloads::replica_set(&live),
        ("batch", "Job") => jobs::job(&live),
        ("batch", "CronJob") => jobs::cron_job(&live),
        ("", "Pod") => pods::pod(&live),
        ("", "PersistentVolumeClaim") => pods::persistent_volume_claim(&live),
        ("", "Service") => network::service(&live),
        ("networking.k8s.io" | "extensions", "Ingress") => network::ingress(&live),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            api::custom_resource_definition(&live)
        }
        ("apiregistration.k8s.io", "APIService") => api::api_service(&live),
        ("autoscaling", "HorizontalPodAutoscaler") => api::horizontal_pod_autoscaler(&live),
        _ => generic::assess(&live),
    }
}

/// How a message names an object: `Deployment "web"`.
struct Subject<'a> {
    kind: &'a str,
    name: &'a str,
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.kind.is_empty() {
            "object"
        } else {
            self.kind
        };
        if self.name.is_empty() {
            write!(f, "{kind} (unnamed)")
        } else {
            write!(f, "{kind} {:?}", self.name)
        }
    }
}

/// A live object as the health rules read it.
struct Live<'a> {
    object: &'a Object,
    kind: &'a str,
    name: &'a str,
}

impl<'a> Live<'a> {
    fn new(object: &'a Object) -> Self {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = object
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        Self { object, kind, name }
    }

    /// The API group (`""` for the core group).
    fn group(&self) -> &'a str {
        let api_version = self
            .object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        api_version
            .rsplit_once('/')
            .map_or("", |(group, _version)| group)
    }

    /// The value at a path of keys below the object's root.
    fn at(&self, path: &[&str]) -> Option<&'a Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.object.get(*first)?, |value, key| value.get(key))
    }

    fn metadata(&self, field: &str) -> Option<&'a Value> {
        self.at(&["metadata", field])
    }

    fn spec(&self, path: &[&str]) -> Option<&'a Value> {
        self.at(&["spec"])
            .and_then(|spec| path.iter().try_fold(spec, |value, key| value.get(key)))
    }

    fn status(&self, path: &[&str]) -> Option<&'a Value> {
        self.at(&["status"])
            .and_then(|status| path.iter().try_fold(status, |value, key| value.get(key)))
    }

    /// An integer status field, 0 when absent (as the API server omits zeros).
    fn status_count(&self, field: &str) -> i64 {
        self.status(&[field]).and_then(Value::as_i64).unwrap_or(0)
    }

    /// `metadata.generation` and `status.observedGeneration`, when the
    /// controller has not caught up with the latest spec yet.
    fn unobserved_generation(&self) -> Option<(i64, i64)> {
        let generation = self.metadata("generation").and_then(Value::as_i64)?;
        let observed = self
            .status(&["observedGeneration"])
            .and_then(Value::as_i64)
            .unwrap_or(0);
        (observed < generation).then_some((generation, observed))
    }

    /// The message for [`Live::unobserved_generation`].
    fn unobserved_generation_verdict(&self, generation: i64, observed: i64) -> Health {
        self.verdict(
            HealthStatus::Progressing,
            format_args!(
                "waiting for the controller to observe generation {generation} \
                 (it has seen {observed})"
            ),
        )
    }

    /// `status.conditions`, skipping entries that are not objects.
    fn conditions(&self) -> Vec<Condition<'a>> {
        self.status(&["conditions"])
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Condition::read).collect())
            .unwrap_or_default()
    }

    fn condition(&self, kind: &str) -> Option<Condition<'a>> {
        self.conditions().into_iter().find(|c| c.kind == kind)
    }

    /// A verdict whose message names this object.
    fn verdict(&self, status: HealthStatus, detail: impl fmt::Display) -> Health {
        let subject = Subject {
            kind: self.kind,
            name: self.name,
        };
        Health {
            status,
            message: Some(format!("{subject}: {detail}")),
        }
    }
}

/// One entry of `status.conditions`.
#[derive(Debug, Clone, Copy)]
struct Condition<'a> {
    kind: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

impl<'a> Condition<'a> {
    fn read(value: &'a Value) -> Option<Self> {
        let field = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or("");
        let kind = value.get("type").and_then(Value::as_str)?;
        Some(Self {
            kind,
            status: field("status"),
            reason: field("reason"),
            message: field("message"),
        })
    }

    fn is_true(&self) -> bool {
        self.status == "True"
    }

    fn is_false(&self) -> bool {
        self.status == "False"
    }
}

impl fmt::Display for Condition<'_> {
    /// `reason: message`, or whichever of them is set, or `type is status`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.reason.is_empty(), self.message.is_empty()) {
            (false, false) => write!(f, "{}: {}", self.reason, self.message.trim_end()),
            (false, true) => f.write_str(self.reason),
            (true, false) => f.write_str(self.message.trim_end()),
            (true, true) => write!(f, "condition {} is {}", self.kind, self.status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object from YAML (flow style keeps the cases short).
    pub(super) fn object(yaml: &str) -> Object {
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
    }

    #[test]
    fn an_object_being_deleted_is_progressing_whatever_its_kind() {
        let health = assess(&object(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, \
             deletionTimestamp: '2025-07-30T14:00:00Z', finalizers: [example.com/cleanup]}",
        ));
        assert_eq!(health.status, HealthStatus::Progressing);
        assert_eq!(
            health.message.as_deref(),
            Some(r#"Deployment "web": is being deleted"#)
        );
    }

    #[test]
    fn a_missing_object_is_named() {
        let key = ObjectKey {
            group: "apps".to_owned(),
            kind: "Deployment".to_owned(),
            namespace: Some("shop".to_owned()),
            name: "web".to_owned(),
        };
        let health = Health::missing(&key);
        assert_eq!(health.status, HealthStatus::Missing);
        assert_eq!(
            health.message.as_deref(),
            Some(r#"Deployment "web": not found in the cluster"#)
        );
    }

    #[test]
    fn a_condition_reads_as_its_reason_and_message() {
        let value = serde_json::json!({"type": "Ready", "status": "False", "reason": "Failed", "message": "boom\n"});
        let condition = Condition::read(&value).expect("a condition");
        assert_eq!(condition.to_string(), "Failed: boom");
        let bare = serde_json::json!({"type": "Ready", "status": "Unknown"});
        let condition = Condition::read(&bare).expect("a condition");
        assert_eq!(condition.to_string(), "condition Ready is Unknown");
    }

    #[test]
    fn verdicts_serialise_as_argo_cd_shows_them() {
        let health = Health {
            status: HealthStatus::Progressing,
            message: Some("Service \"front\": waiting".to_owned()),
        };
        assert_eq!(
            serde_json::to_string(&health).expect("serialises"),
            r#"{"status":"Progressing","message":"Service \"front\": waiting"}"#
        );
        assert_eq!(
            serde_json::to_string(&Health::healthy()).expect("serialises"),
            r#"{"status":"Healthy"}"#
        );
    }
}
