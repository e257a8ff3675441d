//! An `ImageUpdater`'s `status` as Argo CD Image Updater documents it
//! (`docs/configuration/applications.md`, "Monitoring status"), computed
//! from what one take-over run found: pure, tested without a cluster.
//!
//! Only the fields of the ImageUpdater CRD's status schema are written:
//! `observedGeneration`, `lastCheckedAt`, `lastUpdatedAt`,
//! `applicationsMatched`, `imagesManaged`, `recentUpdates` and the
//! conditions `Ready`, `Reconciling` and `Error`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Serialize};

use crate::update::UpdateResult;

use super::super::reconcile::NotRun;

/// `status` of an ImageUpdater.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ImageUpdaterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When kedge last checked the images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<Time>,
    /// When kedge last changed an image (pushed, or proposed in a pull request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_at: Option<Time>,
    /// Applications the ImageUpdater selects.
    #[serde(default)]
    pub applications_matched: i32,
    /// Images kedge keeps up to date for them.
    #[serde(default)]
    pub images_managed: i32,
    /// The images changed by the last run that changed any.
    #[serde(default)]
    pub recent_updates: Vec<RecentUpdate>,
    /// `Ready`, `Reconciling`, `Error`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// `status.recentUpdates[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RecentUpdate {
    /// The image's alias.
    pub alias: String,
    /// The image as it was (`registry/team/web:1.0.0`).
    pub image: String,
    /// The tag it moved to.
    pub new_version: String,
    /// Applications in which it moved.
    pub applications_updated: i32,
    /// When.
    pub updated_at: Time,
    /// How (`pushed 0123abcd to main`, a pull request's URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One Application's run: its name and how the update flow ended.
pub(super) struct ApplicationRun<'a> {
    /// The Application.
    pub app: &'a str,
    /// What the update flow did.
    pub outcome: &'a Result<UpdateResult, NotRun>,
}

/// What one reconcile of an ImageUpdater found.
pub(super) struct Checked<'a> {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Applications selected.
    pub applications: usize,
    /// Images kept up to date.
    pub images: usize,
    /// One run per Application and manifest repository.
    pub runs: &'a [ApplicationRun<'a>],
    /// Keys kedge could not map (`KEY: why`).
    pub not_mapped: &'a [String],
}

/// The status after `checked`, from `previous` (kept: `lastUpdatedAt` and
/// `recentUpdates` when nothing changed, transition times of conditions
/// that did not change).
pub(super) fn next_status(
    previous: &ImageUpdaterStatus,
    checked: &Checked<'_>,
    now: &Time,
) -> ImageUpdaterStatus {
    let mut status = previous.clone();
    status.observed_generation = checked.generation;
    status.last_checked_at = Some(now.clone());
    status.applications_matched = i32::try_from(checked.applications).unwrap_or(i32::MAX);
    status.images_managed = i32::try_from(checked.images).unwrap_or(i32::MAX);
    let recent = recent_updates(checked.runs, now);
    if !recent.is_empty() {
        status.recent_updates = recent;
        status.last_updated_at = Some(now.clone());
    }
    let (ready, error) = verdict(checked);
    let idle = (
        false,
        "Idle",
        "checked; waiting for the next check".to_owned(),
    );
    for (kind, (ok, reason, message)) in [("Ready", ready), ("Reconciling", idle), ("Error", error)]
    {
        set_condition(
            &mut status.conditions,
            kind,
            ok,
            reason,
            message,
            checked,
            now,
        );
    }
    status
}

/// `Ready` and `Error`, each as (status, reason, message).
fn verdict<'a>(checked: &'a Checked<'a>) -> (Verdict<'a>, Verdict<'a>) {
    let errors = errors(checked);
    let succeeded = (checked.runs.iter()).any(|run| run.outcome.is_ok());
    let updated: usize = (checked.runs.iter())
        .filter_map(|run| run.outcome.as_ref().ok())
        .filter(|result| result.commit.is_some() || !result.pull_requests.is_empty())
        .map(|result| result.updates.len())
        .sum();
    let summary = format!(
        "{} application(s) checked, {updated} image(s) updated",
        checked.applications
    );
    let listed = (errors.iter())
        .map(|(_, message)| message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    // Documented: ReconcileSucceeded, ReconcileCompletedWithErrors with
    // PartialErrors, NoErrors; a check that failed as a whole gives the
    // reason of its first error (kedge's, such as NotMapped or SecretNotFound).
    match (errors.first(), succeeded) {
        (None, _) => (
            (true, "ReconcileSucceeded", summary),
            (false, "NoErrors", "no errors in the last check".to_owned()),
        ),
        (Some(_), true) => (
            (true, "ReconcileCompletedWithErrors", summary),
            (true, "PartialErrors", listed),
        ),
        (Some((reason, _)), false) => ((false, *reason, listed.clone()), (true, *reason, listed)),
    }
}

/// A condition's status, reason and message.
type Verdict<'a> = (bool, &'a str, String);

/// Every error of the check, each with its reason: keys not mapped, runs
/// that did not happen, images that failed.
fn errors<'a>(checked: &'a Checked<'a>) -> Vec<(&'a str, String)> {
    let mut errors: Vec<(&str, String)> = (checked.not_mapped.iter())
        .map(|message| ("NotMapped", message.clone()))
        .collect();
    if checked.applications == 0 {
        errors.push((
            "NoApplicationsMatched",
            "no Application in this namespace matches applicationRefs".to_owned(),
        ));
    }
    for run in checked.runs {
        match run.outcome {
            Err(not_run) => errors.push((
                not_run.reason,
                format!("Application {}: {}", run.app, not_run.message),
            )),
            Ok(result) => errors.extend(result.failed.iter().map(|failure| {
                let reason = crate::controller::failure_reason(std::slice::from_ref(failure));
                (
                    reason,
                    format!("Application {}: {}", run.app, failure.error),
                )
            })),
        }
    }
    errors
}

/// The images pushed or proposed by `runs`, one entry per alias and image.
fn recent_updates(runs: &[ApplicationRun<'_>], now: &Time) -> Vec<RecentUpdate> {
    let mut recent: Vec<RecentUpdate> = Vec::new();
    for run in runs {
        let Ok(result) = run.outcome else { continue };
        let how = match (&result.commit, result.pull_requests.first()) {
            (_, Some(pr)) => pr.url.clone().unwrap_or_else(|| pr.branch.clone()),
            (Some(commit), None) => format!("pushed {}", commit.get(..12).unwrap_or(commit)),
            (None, None) => continue,
        };
        for update in &result.updates {
            let image = match &update.old_tag {
                Some(tag) => format!("{}:{tag}", update.image),
                None => update.image.clone(),
            };
            match (recent.iter_mut()).find(|r| r.alias == update.alias && r.image == image) {
                Some(existing) => existing.applications_updated += 1,
                None => recent.push(RecentUpdate {
                    alias: update.alias.clone(),
                    image,
                    new_version: update.new_tag.clone(),
                    applications_updated: 1,
                    updated_at: now.clone(),
                    message: Some(format!("Application {}: {how}", run.app)),
                }),
            }
        }
    }
    recent
}

/// Sets the condition `kind`, keeping its transition time when its status
/// and reason stay.
fn set_condition(
    conditions: &mut Vec<Condition>,
    kind: &str,
    ok: bool,
    reason: &str,
    message: String,
    checked: &Checked<'_>,
    now: &Time,
) {
    let status = if ok { "True" } else { "False" };
    let mut next = Condition {
        type_: kind.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        // The CRD allows 32 kB; a long list of errors is cut well before.
        message: cut(message, 4000),
        last_transition_time: now.clone(),
        observed_generation: checked.generation,
    };
    match conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(existing) => {
            if existing.status == next.status && existing.reason == next.reason {
                next.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = next;
        }
        None => conditions.push(next),
    }
}

fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::{FailureKind, ImageFailure, ImageUpdate};

    fn at(text: &str) -> Time {
        Time(text.parse().expect("a timestamp"))
    }

    fn pushed(alias: &str) -> UpdateResult {
        UpdateResult {
            updates: vec![ImageUpdate {
                alias: alias.into(),
                image: format!("registry.example/team/{alias}"),
                old_reference: "1.0.0".into(),
                old_tag: Some("1.0.0".into()),
                new_reference: format!("registry.example/team/{alias}:1.1.0"),
                new_tag: "1.1.0".into(),
                new_digest: format!("sha256:{}", "a".repeat(64)),
                files: vec![format!("apps/{alias}/kustomization.yaml")],
                changes: 1,
            }],
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            ..UpdateResult::default()
        }
    }

    fn condition<'a>(status: &'a ImageUpdaterStatus, kind: &str) -> (&'a str, &'a str, &'a str) {
        let found = (status.conditions.iter())
            .find(|c| c.type_ == kind)
            .unwrap_or_else(|| panic!("no {kind} in {status:?}"));
        (&found.status, &found.reason, &found.message)
    }

    fn check<'a>(runs: &'a [ApplicationRun<'a>], not_mapped: &'a [String]) -> Checked<'a> {
        Checked {
            generation: Some(2),
            applications: runs.len(),
            images: runs.len(),
            runs,
            not_mapped,
        }
    }

    #[test]
    fn an_update_in_two_applications_is_one_recent_update_counted_twice() {
        let (web, shop) = (Ok(pushed("web")), Ok(pushed("web")));
        let runs = [
            ApplicationRun {
                app: "web-prod",
                outcome: &web,
            },
            ApplicationRun {
                app: "web-staging",
                outcome: &shop,
            },
        ];
        let now = at("2026-12-06T09:00:00Z");
        let status = next_status(&ImageUpdaterStatus::default(), &check(&runs, &[]), &now);
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!((status.applications_matched, status.images_managed), (2, 2));
        assert_eq!(status.last_updated_at, Some(now.clone()));
        let [recent] = status.recent_updates.as_slice() else {
            panic!("one entry: {status:?}");
        };
        assert_eq!(recent.image, "registry.example/team/web:1.0.0");
        assert_eq!(
            (recent.new_version.as_str(), recent.applications_updated),
            ("1.1.0", 2)
        );
        assert_eq!(condition(&status, "Ready").1, "ReconcileSucceeded");
        assert_eq!(condition(&status, "Reconciling").1, "Idle");
        assert_eq!(
            condition(&status, "Error"),
            ("False", "NoErrors", "no errors in the last check")
        );
    }

    #[test]
    fn a_later_check_without_updates_keeps_them_and_the_transition_times() {
        let first = Ok(pushed("web"));
        let runs = [ApplicationRun {
            app: "web",
            outcome: &first,
        }];
        let then = at("2026-12-06T09:00:00Z");
        let before = next_status(&ImageUpdaterStatus::default(), &check(&runs, &[]), &then);
        let current = Ok(UpdateResult {
            current: vec!["web".into()],
            ..UpdateResult::default()
        });
        let runs = [ApplicationRun {
            app: "web",
            outcome: &current,
        }];
        let now = at("2026-12-06T09:05:00Z");
        let after = next_status(&before, &check(&runs, &[]), &now);
        assert_eq!(after.recent_updates, before.recent_updates);
        assert_eq!(after.last_updated_at, Some(then.clone()));
        assert_eq!(after.last_checked_at, Some(now));
        assert_eq!(after.conditions[0].last_transition_time, then);
    }

    #[test]
    fn errors_name_the_application_and_key_and_decide_ready() {
        let failed = Ok(UpdateResult {
            failed: vec![ImageFailure {
                alias: "web".into(),
                image: "registry.example/team/web".into(),
                error: "image web: no tag matches 1.X.X".into(),
                kind: FailureKind::NoMatchingTag,
            }],
            ..UpdateResult::default()
        });
        let not_run = Err(NotRun {
            reason: "SecretNotFound",
            message: "spec.git.auth.tokenSecretRef: Secret \"git-creds\" not found".into(),
            stalled: false,
        });
        let key = ["spec.applicationRefs[0].images[0].manifestTargets.plugin: why".to_owned()];
        let now = at("2026-12-06T09:00:00Z");
        let runs = [
            ApplicationRun {
                app: "web",
                outcome: &failed,
            },
            ApplicationRun {
                app: "api",
                outcome: &not_run,
            },
        ];
        let partial = next_status(&ImageUpdaterStatus::default(), &check(&runs, &key), &now);
        assert_eq!(
            condition(&partial, "Ready").1,
            "ReconcileCompletedWithErrors"
        );
        let (error, reason, message) = condition(&partial, "Error");
        assert_eq!((error, reason), ("True", "PartialErrors"));
        for named in [
            "manifestTargets.plugin",
            "Application web: image web",
            "Application api",
        ] {
            assert!(message.contains(named), "{named} in {message}");
        }
        let runs = [ApplicationRun {
            app: "api",
            outcome: &not_run,
        }];
        let failed = next_status(&ImageUpdaterStatus::default(), &check(&runs, &[]), &now);
        assert_eq!(condition(&failed, "Ready").0, "False");
        assert_eq!(condition(&failed, "Ready").1, "SecretNotFound");
        assert_eq!(failed.last_updated_at, None);
    }
}
