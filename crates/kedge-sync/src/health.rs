//! Health of a live object, as Argo CD and kstatus define it.
//!
//! Contract (filled in by the health work): [`assess`] never fails; an object
//! it has no rule for and that carries no status is [`HealthStatus::Healthy`].

use crate::Object;

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

/// A health verdict with the reason a user reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// The verdict.
    pub status: HealthStatus,
    /// Why, when not plainly healthy (`Deployment "web" rollout: 1 of 3 updated replicas are available`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The health of a live object.
pub fn assess(object: &Object) -> Health {
    let _ = object;
    todo!("health rules")
}
