//! What one reconcile of an Application found, turned into its status: the
//! pure half of the reconciler, tested without a cluster.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kedge_kube::{Action, DiffReport, SyncReport};

use crate::{
    ApplicationStatus, Condition, ConditionStatus, ConditionType, HealthState, ResourceState,
    SyncState, set_condition,
};

/// How a reconcile ended.
#[derive(Debug)]
pub enum Outcome<'a> {
    /// A sync ran at `revision`.
    Synced {
        /// The commit rendered and applied.
        revision: &'a str,
        /// What it did.
        report: &'a SyncReport,
        /// Objects failed and the retry policy is used up at this revision.
        retries_exhausted: bool,
    },
    /// Only compared (sync not automated, or drift left alone without
    /// self-heal).
    Compared {
        /// The commit rendered.
        revision: &'a str,
        /// What differs.
        report: &'a DiffReport,
    },
    /// Nothing was applied, and why: `reason` is the condition reason
    /// (`RenderFailed`, `GitError`, `DependencyNotReady`, `InvalidSpec`).
    NotSynced {
        /// CamelCase reason.
        reason: &'static str,
        /// For a person.
        message: String,
        /// kedge will not retry until the spec changes.
        stalled: bool,
    },
}

/// The status after `outcome`, starting from `previous` so that unchanged
/// conditions keep their transition times. `generation` is the spec's
/// `metadata.generation`.
pub fn next_status(
    previous: Option<&ApplicationStatus>,
    generation: Option<i64>,
    outcome: &Outcome<'_>,
    now: &Time,
) -> ApplicationStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = generation;
    let condition = |condition_type, ok: bool, reason: &str, message: String| Condition {
        condition_type,
        status: if ok {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        reason: reason.to_owned(),
        message,
        last_transition_time: now.clone(),
        observed_generation: generation,
    };
    let (synced, healthy) = match outcome {
        Outcome::Synced {
            revision, report, ..
        } => {
            let resources = sync_resources(report);
            let synced = sync_condition(revision, report);
            if synced.0 {
                status.last_synced_revision = Some((*revision).to_owned());
            }
            let healthy = health_condition(&resources);
            status.set_resources(resources);
            (synced, Some(healthy))
        }
        Outcome::Compared { revision, report } => {
            let resources = diff_resources(report, &status);
            let in_sync = report.in_sync();
            let out_of_sync = resources
                .iter()
                .filter(|r| r.status != SyncState::InSync)
                .count();
            let synced = if in_sync {
                let message = unchanged_sync_message(&status, revision)
                    .unwrap_or_else(|| format!("the cluster matches {}", short(revision)));
                (true, "Synced", message)
            } else {
                (
                    false,
                    "OutOfSync",
                    format!(
                        "{out_of_sync} object(s) differ from {} and automated sync is off or self-heal is not enabled",
                        short(revision)
                    ),
                )
            };
            status.set_resources(resources);
            (synced, None)
        }
        Outcome::NotSynced {
            reason,
            message,
            stalled,
        } => {
            set_condition(
                &mut status.conditions,
                condition(ConditionType::Stalled, *stalled, reason, message.clone()),
            );
            (
                (false, *reason, message.clone()),
                None::<(bool, &'static str, String)>,
            )
        }
    };
    if !matches!(outcome, Outcome::NotSynced { .. }) {
        let exhausted = matches!(
            outcome,
            Outcome::Synced {
                retries_exhausted: true,
                ..
            }
        );
        let (reason, message) = if exhausted {
            (
                "RetriesExhausted",
                "objects failed to sync and every retry is used up; a new commit, a spec change or a refresh tries again".to_owned(),
            )
        } else {
            ("Reconciled", String::new())
        };
        set_condition(
            &mut status.conditions,
            condition(ConditionType::Stalled, exhausted, reason, message),
        );
    }
    let (synced_ok, synced_reason, synced_message) = synced;
    set_condition(
        &mut status.conditions,
        condition(
            ConditionType::Synced,
            synced_ok,
            synced_reason,
            synced_message.clone(),
        ),
    );
    if let Some((ok, reason, message)) = &healthy {
        set_condition(
            &mut status.conditions,
            condition(ConditionType::Healthy, *ok, reason, message.clone()),
        );
    }
    let healthy_now = status
        .conditions
        .iter()
        .find(|c| c.condition_type == ConditionType::Healthy)
        .map(|c| {
            (
                c.status == ConditionStatus::True,
                c.reason.clone(),
                c.message.clone(),
            )
        });
    let ready = match (synced_ok, healthy_now) {
        (false, _) => (false, synced_reason.to_owned(), synced_message),
        (true, Some((false, reason, message))) => (false, reason, message),
        (true, None) => (
            false,
            "HealthUnknown".to_owned(),
            "health not checked yet".to_owned(),
        ),
        (true, Some((true, _, _))) => (true, "Ready".to_owned(), "synced and healthy".to_owned()),
    };
    set_condition(
        &mut status.conditions,
        condition(ConditionType::Ready, ready.0, &ready.1, ready.2),
    );
    status
}

/// The Synced message of the last sync when a comparison finds the cluster
/// as that sync left it at the same revision: keeping it means an idle
/// Application's status, and so the API server, sees no write at each
/// interval (at 1,000 Applications, 1,000 status writes one interval after
/// every sync otherwise).
fn unchanged_sync_message(status: &ApplicationStatus, revision: &str) -> Option<String> {
    if status.last_synced_revision.as_deref() != Some(revision) {
        return None;
    }
    status
        .conditions
        .iter()
        .find(|c| c.condition_type == ConditionType::Synced && c.status == ConditionStatus::True)
        .map(|c| c.message.clone())
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

fn sync_condition(revision: &str, report: &SyncReport) -> (bool, &'static str, String) {
    let failures: Vec<String> = report
        .objects
        .iter()
        .filter_map(|object| match &object.action {
            Action::Failed { reason } | Action::Skipped { reason, .. } => {
                Some(format!("{}: {reason}", object.key))
            }
            _ => None,
        })
        .collect();
    if failures.is_empty() {
        let count = report
            .objects
            .iter()
            .filter(|o| !matches!(o.action, Action::Pruned))
            .count();
        (
            true,
            "Synced",
            format!("{count} object(s) applied at {}", short(revision)),
        )
    } else {
        let mut message = format!("{} object(s) not synced: ", failures.len());
        message.push_str(
            &failures
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        );
        if failures.len() > 5 {
            message.push_str("; …");
        }
        (false, "SyncFailed", message)
    }
}

fn health_condition(resources: &[ResourceState]) -> (bool, &'static str, String) {
    let worst = |wanted: HealthState| {
        resources
            .iter()
            .filter(|r| r.health == wanted)
            .map(|r| match &r.message {
                Some(message) => format!("{} {}: {message}", r.kind, r.name),
                None => format!("{} {}", r.kind, r.name),
            })
            .collect::<Vec<_>>()
    };
    for (state, reason) in [
        (HealthState::Degraded, "Degraded"),
        (HealthState::Missing, "Missing"),
        (HealthState::Progressing, "Progressing"),
    ] {
        let found = worst(state);
        if !found.is_empty() {
            return (
                false,
                reason,
                found.into_iter().take(5).collect::<Vec<_>>().join("; "),
            );
        }
    }
    (
        true,
        "Healthy",
        format!("{} object(s) healthy", resources.len()),
    )
}

fn sync_resources(report: &SyncReport) -> Vec<ResourceState> {
    report
        .objects
        .iter()
        .filter(|object| !matches!(object.action, Action::Pruned))
        .map(|object| {
            let (status, reason) = match &object.action {
                Action::Failed { reason } | Action::Skipped { reason, .. } => {
                    (SyncState::OutOfSync, Some(reason.clone()))
                }
                _ if report.dry_run => (SyncState::Unknown, None),
                _ => (SyncState::InSync, None),
            };
            let health = object
                .health
                .as_ref()
                .map_or(HealthState::Unknown, |h| h.status.into());
            let health_message = object.health.as_ref().and_then(|h| h.message.clone());
            ResourceState {
                group: object.key.group.clone(),
                kind: object.key.kind.clone(),
                namespace: object.key.namespace.clone(),
                name: object.key.name.clone(),
                status,
                health,
                message: reason.or(health_message),
            }
        })
        .collect()
}

/// A comparison says nothing about health: each object keeps the health the
/// last sync saw.
fn diff_resources(report: &DiffReport, previous: &ApplicationStatus) -> Vec<ResourceState> {
    report
        .objects
        .iter()
        .map(|object| {
            let key = &object.key;
            let health = previous
                .resources
                .iter()
                .find(|r| {
                    r.group == key.group
                        && r.kind == key.kind
                        && r.namespace == key.namespace
                        && r.name == key.name
                })
                .map_or(HealthState::Unknown, |r| r.health);
            let status = SyncState::from(object.status);
            let message = (!object.drift.is_empty())
                .then(|| format!("{} field(s) differ", object.drift.len()));
            ResourceState {
                group: key.group.clone(),
                kind: key.kind.clone(),
                namespace: key.namespace.clone(),
                name: key.name.clone(),
                status,
                health: if status == SyncState::Missing {
                    HealthState::Missing
                } else {
                    health
                },
                message,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
