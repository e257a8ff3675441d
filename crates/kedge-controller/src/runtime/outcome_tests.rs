//! Tests of [`super::next_status`]: what each outcome writes.

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

fn object(kind: &str, name: &str, action: Action, health: Option<HealthStatus>) -> ObjectResult {
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
        inventory_complete: false,
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
        inventory_complete: false,
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
        retries_exhausted: false,
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

#[test]
fn a_revision_with_the_same_render_moves_the_synced_revision_only() {
    let report = report(vec![object(
        "ConfigMap",
        "a",
        Action::Applied,
        Some(HealthStatus::Healthy),
    )]);
    let synced = Outcome::Synced {
        revision: REVISION,
        report: &report,
        retries_exhausted: false,
    };
    let before = next_status(None, Some(1), &synced, &at(1));
    let newer = "f".repeat(40);
    let unchanged = Outcome::RenderUnchanged {
        revision: &newer,
        applied_at: REVISION,
    };
    let after = next_status(Some(&before), Some(1), &unchanged, &at(2));
    assert_eq!(after.last_synced_revision.as_deref(), Some(newer.as_str()));
    assert_eq!(
        after.resources, before.resources,
        "the objects as the last sync saw them"
    );
    let synced = get(&after, ConditionType::Synced);
    assert_eq!(
        synced.message,
        "nothing to apply: the render at ffffffffffff is the one applied at 0123456789ab"
    );
    assert_eq!(
        get(&after, ConditionType::Ready).status,
        ConditionStatus::True
    );
}
