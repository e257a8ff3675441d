//! The typed result of a sync and of a diff: one entry per object, which the
//! CLI prints as text or JSON and from which it takes its exit status.

use kedge_sync::ObjectKey;
use kedge_sync::compare::{Drift, SyncStatus};
use kedge_sync::health::{Health, HealthStatus};

/// What a sync did to one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Action {
    /// Applied (created or changed); with `--dry-run`, would be.
    Applied,
    /// Already as Git says: nothing was sent.
    Unchanged,
    /// Deleted because it left Git; with `--dry-run`, would be.
    Pruned,
    /// Left alone, and why (a conflict with another manager, a protected
    /// object, an earlier failure).
    Skipped {
        /// Why.
        reason: String,
        /// The field managers that own fields Git sets, when apply was
        /// refused for a conflict.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        conflicts_with: Vec<String>,
    },
    /// Apply or delete failed, or it did not become healthy.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One object of a sync.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ObjectResult {
    /// The object.
    pub key: ObjectKey,
    /// The file (or template) it came from; `None` for pruned objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub action: Action,
    /// Its health once the sync was done with it (not for pruned objects
    /// or a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// The result of a sync.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncReport {
    /// The app.
    pub app: kedge_sync::inventory::AppName,
    /// Whether this was a server-side dry run (nothing changed).
    pub dry_run: bool,
    /// Every object, in the order the sync handled them.
    pub objects: Vec<ObjectResult>,
    /// Whether the report names every object of the app: every listable
    /// type was read (no [`SyncOptions::inventory_kinds`](crate::SyncOptions),
    /// none refused), and prune ran. Only then are [`kinds`](Self::kinds)
    /// all the kinds the app has.
    #[serde(skip)]
    pub inventory_complete: bool,
}

impl SyncReport {
    /// The kinds of every object in the report: what Git has, and what was
    /// found of the app's besides (pruned, protected, left).
    pub fn kinds(&self) -> std::collections::BTreeSet<crate::GroupKind> {
        self.objects
            .iter()
            .map(|o| crate::GroupKind::of(&o.key))
            .collect()
    }

    /// Whether every object is as Git says: none failed, and none was
    /// skipped for a conflict with another field manager.
    pub fn succeeded(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The objects that failed, or were refused for a conflict, each with its reason.
    pub fn failures(&self) -> impl Iterator<Item = &ObjectResult> {
        self.objects.iter().filter(|object| match &object.action {
            Action::Failed { .. } => true,
            Action::Skipped { conflicts_with, .. } => !conflicts_with.is_empty(),
            _ => false,
        })
    }

    /// The result for one object, if the sync handled it.
    pub fn object(&self, key: &ObjectKey) -> Option<&ObjectResult> {
        self.objects.iter().find(|object| &object.key == key)
    }
}

/// The kebab-case name of an action (`applied`, `unchanged`…), as JSON writes it.
pub fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Applied => "applied",
        Action::Unchanged => "unchanged",
        Action::Pruned => "pruned",
        Action::Skipped { .. } => "skipped",
        Action::Failed { .. } => "failed",
    }
}

/// Whether a health verdict lets a sync move on: healthy, suspended on
/// purpose, or not decidable by any rule.
pub(crate) fn settled(health: &Health) -> bool {
    matches!(
        health.status,
        HealthStatus::Healthy | HealthStatus::Suspended | HealthStatus::Unknown
    )
}

/// One object of a diff.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ObjectDiff {
    /// The object.
    pub key: ObjectKey,
    /// In sync, out of sync, missing or extra.
    pub status: SyncStatus,
    /// The fields that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// The unified diff, `kubectl diff` style (empty when in sync).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
}

/// The result of a diff.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DiffReport {
    /// The app.
    pub app: kedge_sync::inventory::AppName,
    /// Every desired object, then the app's objects that left Git.
    pub objects: Vec<ObjectDiff>,
    /// Whether every listable type was read for the app's objects (no
    /// [`SyncOptions::inventory_kinds`](crate::SyncOptions), none
    /// refused): only then are [`kinds`](Self::kinds) all the kinds the
    /// app has.
    #[serde(skip)]
    pub inventory_complete: bool,
}

impl DiffReport {
    /// The kinds of every object in the report: what Git has, and the
    /// app's objects found besides.
    pub fn kinds(&self) -> std::collections::BTreeSet<crate::GroupKind> {
        self.objects
            .iter()
            .map(|o| crate::GroupKind::of(&o.key))
            .collect()
    }

    /// Whether the cluster equals Git.
    pub fn in_sync(&self) -> bool {
        self.objects
            .iter()
            .all(|object| object.status == SyncStatus::InSync)
    }
}
