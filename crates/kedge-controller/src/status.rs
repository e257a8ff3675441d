//! The status both resources report: standard Kubernetes conditions, the
//! generation they describe, and what each kind adds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many per-object summaries an Application's status lists; the rest
/// are counted in `resourceCount` only, so the status stays far below the
/// API server's object size limit (1.5 MiB in etcd by default).
pub const MAX_RESOURCE_SUMMARIES: usize = 200;

/// A condition as every Kubernetes API writes one (`metav1.Condition`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// What the condition is about.
    #[serde(rename = "type")]
    pub condition_type: ConditionType,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// A CamelCase word saying why (`SyncFailed`, `DependencyNotHealthy`).
    #[schemars(
        length(min = 1, max = 1024),
        regex(pattern = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    )]
    pub reason: String,
    /// What happened, for a person.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub message: String,
    /// When `status` last changed.
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_transition_time: Time,
    /// The `metadata.generation` the condition was set from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

/// The conditions kedge sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum ConditionType {
    /// Everything below is fine: the summary `kubectl wait` looks at.
    Ready,
    /// The cluster matches Git (Application) or the images in Git match the
    /// policies (ImageUpdate).
    Synced,
    /// Every object of the Application is healthy.
    Healthy,
    /// kedge stopped trying until the spec changes (retries used up, a spec
    /// it cannot use).
    Stalled,
}

/// A condition's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// It does not.
    False,
    /// kedge cannot tell yet.
    Unknown,
}

/// Sets `condition` in `conditions`: replaces the one of its type, keeping
/// its `lastTransitionTime` when the status did not change, or adds it.
/// Returns true when anything changed, so a caller writes status only then.
pub fn set_condition(conditions: &mut Vec<Condition>, condition: Condition) -> bool {
    let Some(existing) = conditions
        .iter_mut()
        .find(|existing| existing.condition_type == condition.condition_type)
    else {
        conditions.push(condition);
        return true;
    };
    let last_transition_time = if existing.status == condition.status {
        existing.last_transition_time.clone()
    } else {
        condition.last_transition_time.clone()
    };
    let updated = Condition {
        last_transition_time,
        ..condition
    };
    if *existing == updated {
        return false;
    }
    *existing = updated;
    true
}

/// `Application.status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Synced`, `Healthy` and `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The commit last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_revision: Option<String>,
    /// One entry per object, at most 200, those not in sync or not healthy
    /// first; `resourceCount` counts them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_RESOURCE_SUMMARIES))]
    pub resources: Vec<ResourceState>,
    /// How many objects the Application has, listed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_count: Option<u32>,
}

impl ApplicationStatus {
    /// Sets `resources` and `resourceCount` from every object's state,
    /// keeping the first [`MAX_RESOURCE_SUMMARIES`] after sorting those
    /// that need attention (out of sync, then unhealthy) first, then by
    /// kind, namespace and name.
    pub fn set_resources(&mut self, mut resources: Vec<ResourceState>) {
        self.resource_count = Some(u32::try_from(resources.len()).unwrap_or(u32::MAX));
        resources.sort_by(|a, b| {
            let attention = |state: &ResourceState| {
                (
                    state.status == SyncState::InSync,
                    state.health == HealthState::Healthy,
                )
            };
            (attention(a), &a.kind, &a.namespace, &a.name).cmp(&(
                attention(b),
                &b.kind,
                &b.namespace,
                &b.name,
            ))
        });
        resources.truncate(MAX_RESOURCE_SUMMARIES);
        self.resources = resources;
    }
}

/// One object of an Application.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceState {
    /// API group; empty for the core group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace; absent for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Whether it matches Git.
    pub status: SyncState,
    /// How healthy it is.
    pub health: HealthState,
    /// Why, when it is not in sync or not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Whether an object matches Git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum SyncState {
    /// Matches Git.
    InSync,
    /// Differs from Git.
    OutOfSync,
    /// In Git, not in the cluster.
    Missing,
    /// Applied by kedge before, no longer in Git (pruned when `prune` is on).
    Extra,
    /// Not compared yet.
    Unknown,
}

impl From<kedge_sync::compare::SyncStatus> for SyncState {
    fn from(status: kedge_sync::compare::SyncStatus) -> Self {
        use kedge_sync::compare::SyncStatus;
        match status {
            SyncStatus::InSync => Self::InSync,
            SyncStatus::OutOfSync => Self::OutOfSync,
            SyncStatus::Missing => Self::Missing,
            SyncStatus::Extra => Self::Extra,
            _ => Self::Unknown,
        }
    }
}

/// How healthy an object is (the sync engine's health rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
pub enum HealthState {
    /// Working as intended.
    Healthy,
    /// Not yet healthy, expected to become so.
    Progressing,
    /// Failed.
    Degraded,
    /// Paused or suspended on purpose.
    Suspended,
    /// Not in the cluster.
    Missing,
    /// No rule could decide.
    Unknown,
}

impl From<kedge_sync::health::HealthStatus> for HealthState {
    fn from(health: kedge_sync::health::HealthStatus) -> Self {
        use kedge_sync::health::HealthStatus;
        match health {
            HealthStatus::Healthy => Self::Healthy,
            HealthStatus::Progressing => Self::Progressing,
            HealthStatus::Degraded => Self::Degraded,
            HealthStatus::Suspended => Self::Suspended,
            HealthStatus::Missing => Self::Missing,
            _ => Self::Unknown,
        }
    }
}

/// `ImageUpdate.status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Synced` and `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The image each alias was last set to in Git.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_applied_images: Vec<AppliedImage>,
    /// The pull request kedge last opened or updated.
    #[serde(
        rename = "lastPullRequestURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_pull_request_url: Option<String>,
}

/// An image as kedge last wrote it to Git.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedImage {
    /// The alias in `spec.images`.
    pub alias: String,
    /// The full reference written (`registry/repo:tag@sha256:…`).
    pub reference: String,
    /// The tag, when the reference has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The digest, when the reference has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}
