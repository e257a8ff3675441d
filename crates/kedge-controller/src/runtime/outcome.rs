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
mod tests {
    use kedge_kube::ObjectResult;
    use kedge_sync::ObjectKey;
    use kedge_sync::health::{Health, HealthStatus};
    use kedge_sync::inventory::AppName;

    use super::*;

    const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";

    fn at(second: u8) -> Time {
        Time(
            format!("2026-01-01T00:00:{second:02}Z")
                .parse()
                .expect("a timestamp"),
        )
    }

    fn object(
        kind: &str,
        name: &str,
        action: Action,
        health: Option<HealthStatus>,
    ) -> ObjectResult {
        ObjectResult {
            key: ObjectKey {
                group: String::new(),
                kind: kind.to_owned(),
                namespace: Some("shop".to_owned()),
                name: name.to_owned(),
            },
            source: None,
            action,
            health: health.map(|status| Health {
                status,
                message: (status != HealthStatus::Healthy)
                    .then(|| "1 of 2 replicas available".to_owned()),
            }),
        }
    }

    fn report(objects: Vec<ObjectResult>) -> SyncReport {
        SyncReport {
            app: AppName::new("shop.web").expect("a valid name"),
            dry_run: false,
            objects,
        }
    }

    fn get(status: &ApplicationStatus, wanted: ConditionType) -> &Condition {
        status
            .conditions
            .iter()
            .find(|c| c.condition_type == wanted)
            .unwrap_or_else(|| panic!("no {wanted:?} in {:?}", status.conditions))
    }

    #[test]
    fn a_clean_healthy_sync_is_ready_at_its_revision() {
        let report = report(vec![
            object(
                "ConfigMap",
                "a",
                Action::Applied,
                Some(HealthStatus::Healthy),
            ),
            object(
                "Service",
                "b",
                Action::Unchanged,
                Some(HealthStatus::Healthy),
            ),
            object("ConfigMap", "old", Action::Pruned, None),
        ]);
        let outcome = Outcome::Synced {
            revision: REVISION,
            report: &report,
            retries_exhausted: false,
        };
        let status = next_status(None, Some(3), &outcome, &at(1));
        assert_eq!(status.last_synced_revision.as_deref(), Some(REVISION));
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(
            status.resource_count,
            Some(2),
            "a pruned object is no longer the app's"
        );
        let ready = get(&status, ConditionType::Ready);
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::True, "Ready")
        );
        let synced = get(&status, ConditionType::Synced);
        assert_eq!(synced.message, "2 object(s) applied at 0123456789ab");
        assert_eq!(
            get(&status, ConditionType::Stalled).status,
            ConditionStatus::False
        );
    }

    #[test]
    fn a_failed_object_names_itself_and_keeps_the_last_good_revision() {
        let previous = ApplicationStatus {
            last_synced_revision: Some("f".repeat(40)),
            ..ApplicationStatus::default()
        };
        let report = report(vec![
            object(
                "ConfigMap",
                "a",
                Action::Applied,
                Some(HealthStatus::Healthy),
            ),
            object(
                "Deployment",
                "web",
                Action::Skipped {
                    reason: "conflict with manager hpa".to_owned(),
                    conflicts_with: vec!["hpa".to_owned()],
                },
                None,
            ),
        ]);
        let outcome = Outcome::Synced {
            revision: REVISION,
            report: &report,
            retries_exhausted: false,
        };
        let status = next_status(Some(&previous), Some(1), &outcome, &at(1));
        assert_eq!(status.last_synced_revision, previous.last_synced_revision);
        let synced = get(&status, ConditionType::Synced);
        assert_eq!(
            (synced.status, synced.reason.as_str()),
            (ConditionStatus::False, "SyncFailed")
        );
        assert!(
            synced
                .message
                .contains("Deployment shop/web: conflict with manager hpa"),
            "{}",
            synced.message
        );
        assert_eq!(get(&status, ConditionType::Ready).reason, "SyncFailed");
        assert_eq!(
            status.resources[0].name, "web",
            "what needs attention is listed first"
        );
    }

    #[test]
    fn progressing_objects_keep_ready_false_with_their_message() {
        let report = report(vec![object(
            "Deployment",
            "web",
            Action::Applied,
            Some(HealthStatus::Progressing),
        )]);
        let outcome = Outcome::Synced {
            revision: REVISION,
            report: &report,
            retries_exhausted: false,
        };
        let status = next_status(None, Some(1), &outcome, &at(1));
        let ready = get(&status, ConditionType::Ready);
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::False, "Progressing")
        );
        assert_eq!(ready.message, "Deployment web: 1 of 2 replicas available");
    }

    fn diff_report(status: kedge_sync::compare::SyncStatus) -> DiffReport {
        DiffReport {
            app: AppName::new("shop.web").expect("a valid name"),
            objects: vec![kedge_kube::ObjectDiff {
                key: ObjectKey {
                    group: String::new(),
                    kind: "ConfigMap".to_owned(),
                    namespace: Some("shop".to_owned()),
                    name: "a".to_owned(),
                },
                status,
                drift: Vec::new(),
                diff: String::new(),
            }],
        }
    }

    #[test]
    fn an_idle_comparison_after_a_sync_changes_nothing_to_write() {
        let report = report(vec![object(
            "ConfigMap",
            "a",
            Action::Applied,
            Some(HealthStatus::Healthy),
        )]);
        let synced = Outcome::Synced {
            revision: REVISION,
            report: &report,
        };
        let after_sync = next_status(None, Some(1), &synced, &at(1));
        let in_sync = diff_report(kedge_sync::compare::SyncStatus::InSync);
        let compared = Outcome::Compared {
            revision: REVISION,
            report: &in_sync,
        };
        let after_compare = next_status(Some(&after_sync), Some(1), &compared, &at(2));
        assert_eq!(
            after_compare, after_sync,
            "nothing changed, so no status write"
        );
        let other = "1".repeat(40);
        let at_other = Outcome::Compared {
            revision: &other,
            report: &in_sync,
        };
        let compared_other = next_status(Some(&after_sync), Some(1), &at_other, &at(3));
        assert_eq!(
            get(&compared_other, ConditionType::Synced).message,
            "the cluster matches 111111111111"
        );
    }

    #[test]
    fn transition_times_move_only_when_a_status_changes() {
        let report = report(vec![object(
            "ConfigMap",
            "a",
            Action::Applied,
            Some(HealthStatus::Healthy),
        )]);
        let outcome = Outcome::Synced {
            revision: REVISION,
            report: &report,
            retries_exhausted: false,
        };
        let first = next_status(None, Some(1), &outcome, &at(1));
        let again = next_status(Some(&first), Some(1), &outcome, &at(2));
        assert_eq!(first, again, "an unchanged outcome writes nothing new");
        let waiting = Outcome::NotSynced {
            reason: "DependencyNotReady",
            message: "waiting for Application db to be healthy".to_owned(),
            stalled: false,
        };
        let later = next_status(Some(&again), Some(1), &waiting, &at(3));
        let ready = get(&later, ConditionType::Ready);
        assert_eq!(
            (ready.status, ready.last_transition_time.clone()),
            (ConditionStatus::False, at(3))
        );
        assert_eq!(
            get(&later, ConditionType::Healthy).last_transition_time,
            at(1),
            "health was not re-read"
        );
    }

    #[test]
    fn used_up_retries_stall_the_application_until_something_changes() {
        let report = report(vec![object(
            "ConfigMap",
            "a",
            Action::Failed {
                reason: "configmaps is forbidden".to_owned(),
            },
            None,
        )]);
        let outcome = Outcome::Synced {
            revision: REVISION,
            report: &report,
            retries_exhausted: true,
        };
        let status = next_status(None, Some(1), &outcome, &at(1));
        let stalled = get(&status, ConditionType::Stalled);
        assert_eq!(
            (stalled.status, stalled.reason.as_str()),
            (ConditionStatus::True, "RetriesExhausted")
        );
        assert_eq!(get(&status, ConditionType::Synced).reason, "SyncFailed");
    }
}
