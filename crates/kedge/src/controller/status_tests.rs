//! Status after each way a reconcile can end, as `kubectl get -o yaml`
//! would show it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kedge_controller::{AppliedImage, ConditionStatus, ConditionType, ImageUpdateStatus};

use super::*;
use crate::update::{
    FailureKind, ImageFailure, ImageUpdate, PullRequestAction, PullRequestResult, UpdateResult,
};

fn at(text: &str) -> Time {
    Time(text.parse().expect("a timestamp"))
}

fn update(alias: &str, reference: &str, tag: &str) -> ImageUpdate {
    ImageUpdate {
        alias: alias.into(),
        image: format!("registry.example/team/{alias}"),
        old_reference: format!("registry.example/team/{alias}:1.0.0"),
        old_tag: Some("1.0.0".into()),
        new_reference: reference.into(),
        new_tag: tag.into(),
        new_digest: format!("sha256:{}", "a".repeat(64)),
        files: vec![format!("apps/{alias}/deploy.yaml")],
        changes: 1,
    }
}

fn condition(status: &ImageUpdateStatus, wanted: ConditionType) -> (ConditionStatus, &str, &str) {
    let found = (status.conditions.iter())
        .find(|c| c.condition_type == wanted)
        .unwrap_or_else(|| panic!("no {wanted:?} in {status:?}"));
    (found.status, found.reason.as_str(), found.message.as_str())
}

#[test]
fn a_push_records_the_images_written_and_says_updated() {
    let digest = format!("sha256:{}", "b".repeat(64));
    let result = UpdateResult {
        updates: vec![update(
            "web",
            &format!("registry.example/team/web:1.1.0@{digest}"),
            "1.1.0",
        )],
        current: vec!["api".into()],
        commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        ..UpdateResult::default()
    };
    let now = at("2026-12-06T07:00:00Z");
    let status = next_status(None, Some(3), &["web", "api"], &Outcome::Ran(&result), &now);
    assert_eq!(status.observed_generation, Some(3));
    assert_eq!(
        status.last_applied_images,
        [AppliedImage {
            alias: "web".into(),
            reference: format!("registry.example/team/web:1.1.0@{digest}"),
            tag: Some("1.1.0".into()),
            digest: Some(digest.clone()),
        }]
    );
    assert_eq!(
        condition(&status, ConditionType::Synced),
        (
            ConditionStatus::True,
            "Updated",
            format!("pushed 0123456789ab: web registry.example/team/web:1.1.0@{digest}").as_str()
        )
    );
    assert_eq!(condition(&status, ConditionType::Ready).1, "Updated");
    assert_eq!(
        condition(&status, ConditionType::Stalled),
        (ConditionStatus::False, "Reconciled", "")
    );

    // The next run finds both current: the images stay recorded, the
    // reason says so, and Ready keeps its transition time.
    let later = at("2026-12-06T07:05:00Z");
    let current = UpdateResult {
        current: vec!["web".into(), "api".into()],
        ..UpdateResult::default()
    };
    let again = next_status(
        Some(&status),
        Some(3),
        &["web", "api"],
        &Outcome::Ran(&current),
        &later,
    );
    assert_eq!(again.last_applied_images, status.last_applied_images);
    assert_eq!(
        condition(&again, ConditionType::Ready),
        (
            ConditionStatus::True,
            "UpToDate",
            "2 image(s) match their policies"
        )
    );
    let ready = again
        .conditions
        .iter()
        .find(|c| c.condition_type == ConditionType::Ready);
    assert_eq!(ready.map(|c| &c.last_transition_time), Some(&now));

    // An image removed from the spec leaves lastAppliedImages.
    let fewer = next_status(
        Some(&again),
        Some(4),
        &["api"],
        &Outcome::Ran(&current),
        &later,
    );
    assert!(fewer.last_applied_images.is_empty(), "{fewer:?}");
}

#[test]
fn a_failed_image_makes_ready_false_naming_it_while_others_are_applied() {
    let result = UpdateResult {
        updates: vec![update("api", "registry.example/team/api:1.1.0", "1.1.0")],
        failed: vec![ImageFailure {
            alias: "web".into(),
            image: "127.0.0.1:1/team/web".into(),
            error: "image web: 127.0.0.1:1/team/web: connection refused".into(),
            kind: FailureKind::Registry,
        }],
        commit: Some("89abcdef0123456789abcdef0123456789abcdef".into()),
        ..UpdateResult::default()
    };
    let now = at("2026-12-06T07:00:00Z");
    let status = next_status(None, Some(1), &["web", "api"], &Outcome::Ran(&result), &now);
    let (ready, reason, message) = condition(&status, ConditionType::Ready);
    assert_eq!((ready, reason), (ConditionStatus::False, "RegistryError"));
    assert_eq!(
        message,
        "1 image(s) not updated: image web: 127.0.0.1:1/team/web: connection refused; \
         updated: api registry.example/team/api:1.1.0"
    );
    assert_eq!(
        condition(&status, ConditionType::Synced).0,
        ConditionStatus::False
    );
    assert_eq!(status.last_applied_images.len(), 1);
    assert_eq!(status.last_applied_images[0].alias, "api");
}

#[test]
fn an_open_pull_request_is_ready_but_not_synced_until_merged() {
    let url = "https://github.com/acme/manifests/pull/7";
    let result = UpdateResult {
        updates: vec![update("web", "registry.example/team/web:1.1.0", "1.1.0")],
        pull_requests: vec![PullRequestResult {
            branch: "kedge/web".into(),
            action: PullRequestAction::Created,
            number: Some(7),
            url: Some(url.into()),
            title: "Update web to 1.1.0".into(),
            aliases: vec!["web".into()],
        }],
        ..UpdateResult::default()
    };
    let now = at("2026-12-06T07:00:00Z");
    let status = next_status(None, Some(1), &["web"], &Outcome::Ran(&result), &now);
    assert_eq!(status.last_pull_request_url.as_deref(), Some(url));
    assert!(
        status.last_applied_images.is_empty(),
        "nothing is on the base branch yet"
    );
    assert_eq!(
        condition(&status, ConditionType::Ready),
        (
            ConditionStatus::True,
            "PullRequestOpened",
            format!("1 image(s) proposed in {url}").as_str()
        )
    );
    assert_eq!(
        condition(&status, ConditionType::Synced),
        (
            ConditionStatus::False,
            "PullRequestOpened",
            format!("waiting for {url} to be merged").as_str()
        )
    );
}

#[test]
fn not_running_keeps_what_was_applied_and_stalls_only_on_a_bad_spec() {
    let previous = ImageUpdateStatus {
        last_applied_images: vec![AppliedImage {
            alias: "web".into(),
            reference: "registry.example/team/web:1.1.0".into(),
            tag: Some("1.1.0".into()),
            digest: None,
        }],
        ..ImageUpdateStatus::default()
    };
    let now = at("2026-12-06T07:00:00Z");
    let missing = Outcome::NotRun {
        reason: "SecretNotFound",
        message: "spec.git.auth.tokenSecretRef: Secret \"git\" not found".into(),
        stalled: false,
    };
    let status = next_status(Some(&previous), Some(2), &["web"], &missing, &now);
    assert_eq!(status.last_applied_images, previous.last_applied_images);
    assert_eq!(
        condition(&status, ConditionType::Ready),
        (
            ConditionStatus::False,
            "SecretNotFound",
            "spec.git.auth.tokenSecretRef: Secret \"git\" not found"
        )
    );
    assert_eq!(
        condition(&status, ConditionType::Stalled).0,
        ConditionStatus::False
    );

    let invalid = Outcome::NotRun {
        reason: "InvalidSpec",
        message: "spec.images[0].policy.constraint: bad".into(),
        stalled: true,
    };
    let status = next_status(Some(&status), Some(3), &["web"], &invalid, &now);
    assert_eq!(
        condition(&status, ConditionType::Stalled),
        (
            ConditionStatus::True,
            "InvalidSpec",
            "spec.images[0].policy.constraint: bad"
        )
    );
}

#[test]
fn the_reason_is_the_step_the_first_image_failed_at() {
    let failure = |kind| ImageFailure {
        alias: "web".into(),
        image: "registry.example/team/web".into(),
        error: "image web: …".into(),
        kind,
    };
    assert_eq!(
        failure_reason(&[failure(FailureKind::Registry)]),
        "RegistryError"
    );
    assert_eq!(
        failure_reason(&[failure(FailureKind::NoMatchingTag)]),
        "NoMatchingTag"
    );
    assert_eq!(
        failure_reason(&[failure(FailureKind::Manifests)]),
        "ManifestError"
    );
}
