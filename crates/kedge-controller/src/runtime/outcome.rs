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
    /// A new revision renders exactly what was applied at `applied_at`:
    /// nothing to apply, the Application is synced at `revision`.
    RenderUnchanged {
        /// The new commit.
        revision: &'a str,
        /// The commit whose render was applied.
        applied_at: &'a str,
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

/// What one condition says: whether it holds, why, and for a person.
struct Verdict {
    ok: bool,
    reason: String,
    message: String,
}

impl Verdict {
    fn new(ok: bool, reason: &str, message: String) -> Self {
        Self {
            ok,
            reason: reason.to_owned(),
            message,
        }
    }
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
    let (synced, healthy) = apply_outcome(&mut status, outcome);
    let stalled = stalled_verdict(outcome);
    let set = |conditions: &mut Vec<Condition>, condition_type, verdict: &Verdict| {
        set_condition(
            conditions,
            Condition {
                condition_type,
                status: if verdict.ok {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                },
                reason: verdict.reason.clone(),
                message: verdict.message.clone(),
                last_transition_time: now.clone(),
                observed_generation: generation,
            },
        );
    };
    set(&mut status.conditions, ConditionType::Stalled, &stalled);
    set(&mut status.conditions, ConditionType::Synced, &synced);
    if let Some(healthy) = &healthy {
        set(&mut status.conditions, ConditionType::Healthy, healthy);
    }
    let ready = ready_verdict(&synced, &status);
    set(&mut status.conditions, ConditionType::Ready, &ready);
    status
}

/// Records `outcome`'s revision and objects in `status`; returns the
/// Synced verdict, and the Healthy one when the outcome read health.
fn apply_outcome(
    status: &mut ApplicationStatus,
    outcome: &Outcome<'_>,
) -> (Verdict, Option<Verdict>) {
    match outcome {
        Outcome::Synced {
            revision, report, ..
        } => {
            let resources = sync_resources(report);
            let (ok, reason, message) = sync_condition(revision, report);
            if ok {
                status.last_synced_revision = Some((*revision).to_owned());
            }
            let (healthy, health_reason, health_message) = health_condition(&resources);
            status.set_resources(resources);
            (
                Verdict::new(ok, reason, message),
                Some(Verdict::new(healthy, health_reason, health_message)),
            )
        }
        Outcome::Compared { revision, report } => {
            let resources = diff_resources(report, status);
            let out_of_sync = resources
                .iter()
                .filter(|r| r.status != SyncState::InSync)
                .count();
            let synced = if report.in_sync() {
                let message = unchanged_sync_message(status, revision)
                    .unwrap_or_else(|| format!("the cluster matches {}", short(revision)));
                Verdict::new(true, "Synced", message)
            } else {
                let message = format!(
                    "{out_of_sync} object(s) differ from {} and automated sync is off or self-heal is not enabled",
                    short(revision)
                );
                Verdict::new(false, "OutOfSync", message)
            };
            status.set_resources(resources);
            (synced, None)
        }
        Outcome::RenderUnchanged {
            revision,
            applied_at,
        } => {
            status.last_synced_revision = Some((*revision).to_owned());
            let message = format!(
                "nothing to apply: the render at {} is the one applied at {}",
                short(revision),
                short(applied_at)
            );
            (Verdict::new(true, "Synced", message), None)
        }
        Outcome::NotSynced {
            reason, message, ..
        } => (Verdict::new(false, reason, message.clone()), None),
    }
}

/// Stalled: the outcome's own verdict, used-up retries, or not stalled.
fn stalled_verdict(outcome: &Outcome<'_>) -> Verdict {
    match outcome {
        Outcome::NotSynced {
            reason,
            message,
            stalled,
        } => Verdict::new(*stalled, reason, message.clone()),
        Outcome::Synced {
            retries_exhausted: true,
            ..
        } => Verdict::new(
            true,
            "RetriesExhausted",
            "objects failed to sync and every retry is used up; a new commit, a spec change or a refresh tries again".to_owned(),
        ),
        _ => Verdict::new(false, "Reconciled", String::new()),
    }
}

/// Ready: synced and healthy, else why not (health as last read when this
/// outcome did not read it).
fn ready_verdict(synced: &Verdict, status: &ApplicationStatus) -> Verdict {
    if !synced.ok {
        return Verdict::new(false, &synced.reason, synced.message.clone());
    }
    let healthy = status
        .conditions
        .iter()
        .find(|c| c.condition_type == ConditionType::Healthy);
    match healthy {
        None => Verdict::new(false, "HealthUnknown", "health not checked yet".to_owned()),
        Some(c) if c.status != ConditionStatus::True => {
            Verdict::new(false, &c.reason, c.message.clone())
        }
        Some(_) => Verdict::new(true, "Ready", "synced and healthy".to_owned()),
    }
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
