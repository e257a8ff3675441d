//! Reading the annotations that place an object in a sync: hook phases, sync
//! waves and hook delete policies, from kedge's, Argo CD's and Helm's keys.
//!
//! Every value is checked: a typo in a hook or a wave is an error, never a
//! silently ignored annotation, which would apply a migration Job together
//! with the objects it was meant to prepare.

use serde_json::Value;

use super::{
    ARGO_HOOK, ARGO_HOOK_DELETE_POLICY, ARGO_SYNC_WAVE, AnnotationProblem, HELM_HOOK,
    HELM_HOOK_DELETE_POLICY, HELM_HOOK_WEIGHT, HookDeletePolicy, KEDGE_SYNC_WAVE, Phase,
    SkipReason,
};
use crate::Object;

/// An annotation that cannot be read, before the caller adds which object.
#[derive(Debug)]
pub(super) struct BadAnnotation {
    pub(super) annotation: &'static str,
    pub(super) problem: AnnotationProblem,
}

/// Where an object goes in a sync, as its annotations say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Placement {
    /// An ordinary object, applied in the `Sync` phase.
    Object {
        /// Its wave.
        wave: i64,
    },
    /// A hook, applied in each of its phases.
    Hook {
        /// The phases, in order, without repeats.
        phases: Vec<Phase>,
        /// Its wave within each phase.
        wave: i64,
        /// When it is deleted.
        delete_policies: Vec<HookDeletePolicy>,
    },
    /// Never applied by a sync.
    Skipped(SkipReason),
}

/// Hook names Argo CD reads in `argocd.argoproj.io/hook`.
const ARGO_HOOKS: &str = "PreSync, Sync, PostSync, SyncFail, PostDelete or Skip";
/// Hook events Helm reads in `helm.sh/hook`.
const HELM_HOOKS: &str = "pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, \
                          post-delete, pre-rollback, post-rollback, test or crd-install";
/// Argo CD's delete policies.
const ARGO_POLICIES: &str = "HookSucceeded, HookFailed or BeforeHookCreation";
/// Helm's delete policies.
const HELM_POLICIES: &str = "hook-succeeded, hook-failed or before-hook-creation";

/// Reads an object's placement from its annotations.
pub(super) fn placement(object: &Object) -> Result<Placement, BadAnnotation> {
    let hook = match annotation(object, ARGO_HOOK)? {
        // Argo CD's annotation wins over Helm's, as in Argo CD.
        Some(value) => argo_hook(value)?,
        None => match annotation(object, HELM_HOOK)? {
            Some(value) => helm_hook(value)?,
            None => Hook::None,
        },
    };
    match hook {
        Hook::None => Ok(Placement::Object {
            wave: wave(object)?,
        }),
        Hook::Phases(phases) => Ok(Placement::Hook {
            phases,
            wave: wave(object)?,
            delete_policies: delete_policies(object)?,
        }),
        Hook::Skipped(reason) => Ok(Placement::Skipped(reason)),
    }
}

/// What a hook annotation says.
enum Hook {
    /// Not a hook.
    None,
    /// A hook run in these phases.
    Phases(Vec<Phase>),
    /// A hook sync does not run.
    Skipped(SkipReason),
}

/// `argocd.argoproj.io/hook`: a comma-separated list of phases, or `Skip`.
fn argo_hook(value: &str) -> Result<Hook, BadAnnotation> {
    let bad = |problem| BadAnnotation {
        annotation: ARGO_HOOK,
        problem,
    };
    let names = list(value).map_err(bad)?;
    if names.contains(&"Skip") {
        if names.len() > 1 {
            return Err(bad(AnnotationProblem::SkipWithOthers {
                value: value.to_owned(),
            }));
        }
        return Ok(Hook::Skipped(SkipReason::SkipHook));
    }
    let mut phases = Vec::new();
    let mut deletion = Vec::new();
    for name in names {
        match name {
            "PreSync" => push_once(&mut phases, Phase::PreSync),
            "Sync" => push_once(&mut phases, Phase::Sync),
            "PostSync" => push_once(&mut phases, Phase::PostSync),
            "SyncFail" => push_once(&mut phases, Phase::SyncFail),
            "PostDelete" => deletion.push(name.to_owned()),
            other => return Err(bad(unknown(other, ARGO_HOOKS))),
        }
    }
    if phases.is_empty() {
        return Ok(Hook::Skipped(SkipReason::DeletionHook { hooks: deletion }));
    }
    phases.sort();
    Ok(Hook::Phases(phases))
}

/// `helm.sh/hook`: a comma-separated list of events. Install and upgrade
/// hooks run around the sync (`pre-*` before it, `post-*` after); sync never
/// deletes, rolls back or tests a release, so those hooks are skipped; Helm 2's
/// `crd-install` makes an ordinary object (Argo CD reads it the same way).
fn helm_hook(value: &str) -> Result<Hook, BadAnnotation> {
    let bad = |problem| BadAnnotation {
        annotation: HELM_HOOK,
        problem,
    };
    let mut phases = Vec::new();
    let mut not_run = Vec::new();
    for event in list(value).map_err(bad)? {
        match event {
            "pre-install" | "pre-upgrade" => push_once(&mut phases, Phase::PreSync),
            "post-install" | "post-upgrade" => push_once(&mut phases, Phase::PostSync),
            "crd-install" => {}
            "pre-delete" | "post-delete" | "pre-rollback" | "post-rollback" | "test"
            | "test-success" | "test-failure" => not_run.push(event.to_owned()),
            other => return Err(bad(unknown(other, HELM_HOOKS))),
        }
    }
    if !phases.is_empty() {
        phases.sort();
        Ok(Hook::Phases(phases))
    } else if !not_run.is_empty() {
        Ok(Hook::Skipped(SkipReason::HelmHook { events: not_run }))
    } else {
        Ok(Hook::None)
    }
}

/// The wave: `kedge.dev/sync-wave` or `argocd.argoproj.io/sync-wave` (equal
/// when both are set), else Helm's `helm.sh/hook-weight` (Argo CD reads it as
/// a wave too), else 0.
fn wave(object: &Object) -> Result<i64, BadAnnotation> {
    let kedge = integer(object, KEDGE_SYNC_WAVE)?;
    let argo = integer(object, ARGO_SYNC_WAVE)?;
    match (kedge, argo) {
        (Some(wave), Some(argo_wave)) if wave != argo_wave => Err(BadAnnotation {
            annotation: KEDGE_SYNC_WAVE,
            problem: AnnotationProblem::WavesDiffer {
                wave,
                other: ARGO_SYNC_WAVE,
                other_wave: argo_wave,
            },
        }),
        (Some(wave), _) | (None, Some(wave)) => Ok(wave),
        (None, None) => Ok(integer(object, HELM_HOOK_WEIGHT)?.unwrap_or(0)),
    }
}

/// A hook's delete policies, Argo CD's and Helm's together; when neither is
/// set, [`HookDeletePolicy::BeforeHookCreation`], the default of both tools.
fn delete_policies(object: &Object) -> Result<Vec<HookDeletePolicy>, BadAnnotation> {
    let mut policies = Vec::new();
    if let Some(value) = annotation(object, ARGO_HOOK_DELETE_POLICY)? {
        let bad = |problem| BadAnnotation {
            annotation: ARGO_HOOK_DELETE_POLICY,
            problem,
        };
        for name in list(value).map_err(bad)? {
            let policy = match name {
                "BeforeHookCreation" => HookDeletePolicy::BeforeHookCreation,
                "HookSucceeded" => HookDeletePolicy::HookSucceeded,
                "HookFailed" => HookDeletePolicy::HookFailed,
                other => return Err(bad(unknown(other, ARGO_POLICIES))),
            };
            push_once(&mut policies, policy);
        }
    }
    if let Some(value) = annotation(object, HELM_HOOK_DELETE_POLICY)? {
        let bad = |problem| BadAnnotation {
            annotation: HELM_HOOK_DELETE_POLICY,
            problem,
        };
        for name in list(value).map_err(bad)? {
            let policy = match name {
                "before-hook-creation" => HookDeletePolicy::BeforeHookCreation,
                "hook-succeeded" => HookDeletePolicy::HookSucceeded,
                "hook-failed" => HookDeletePolicy::HookFailed,
                other => return Err(bad(unknown(other, HELM_POLICIES))),
            };
            push_once(&mut policies, policy);
        }
    }
    if policies.is_empty() {
        policies.push(HookDeletePolicy::BeforeHookCreation);
    }
    Ok(policies)
}

/// An annotation's value; `None` when it is absent. Annotation values are
/// strings: an unquoted `sync-wave: 1` is an error here rather than at apply.
fn annotation<'a>(
    object: &'a Object,
    name: &'static str,
) -> Result<Option<&'a str>, BadAnnotation> {
    let value = object
        .get("metadata")
        .and_then(|metadata| metadata.get("annotations"))
        .and_then(|annotations| annotations.get(name));
    match value {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(BadAnnotation {
            annotation: name,
            problem: AnnotationProblem::NotAString {
                value: other.to_string(),
            },
        }),
    }
}

/// An integer annotation (`"-1"`, `"5"`).
fn integer(object: &Object, name: &'static str) -> Result<Option<i64>, BadAnnotation> {
    let Some(text) = annotation(object, name)? else {
        return Ok(None);
    };
    text.trim()
        .parse()
        .map(Some)
        .map_err(|source| BadAnnotation {
            annotation: name,
            problem: AnnotationProblem::NotAnInteger {
                value: text.to_owned(),
                source,
            },
        })
}

/// The non-empty items of a comma-separated list, trimmed.
fn list(value: &str) -> Result<Vec<&str>, AnnotationProblem> {
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect();
    if items.is_empty() {
        return Err(AnnotationProblem::Empty);
    }
    Ok(items)
}

fn unknown(value: &str, expected: &'static str) -> AnnotationProblem {
    AnnotationProblem::Unknown {
        value: value.to_owned(),
        expected,
    }
}

fn push_once<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if !items.contains(&item) {
        items.push(item);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with_annotations(annotations: Value) -> Object {
        let object = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "annotations": annotations},
        });
        match object {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        }
    }

    fn placed(annotations: Value) -> Placement {
        match placement(&with_annotations(annotations)) {
            Ok(placement) => placement,
            Err(bad) => panic!("{}: {}", bad.annotation, bad.problem),
        }
    }

    fn rejected(annotations: Value) -> (String, String) {
        match placement(&with_annotations(annotations)) {
            Ok(placement) => panic!("expected an error, got {placement:?}"),
            Err(bad) => (bad.annotation.to_owned(), bad.problem.to_string()),
        }
    }

    #[test]
    fn an_object_without_annotations_is_in_wave_zero() {
        assert_eq!(placed(json!({})), Placement::Object { wave: 0 });
    }

    #[test]
    fn kedge_and_argo_waves_are_read_the_same_way() {
        assert_eq!(
            placed(json!({"kedge.dev/sync-wave": "-2"})),
            Placement::Object { wave: -2 }
        );
        assert_eq!(
            placed(json!({"argocd.argoproj.io/sync-wave": "5"})),
            Placement::Object { wave: 5 }
        );
        assert_eq!(
            placed(json!({"kedge.dev/sync-wave": "3", "argocd.argoproj.io/sync-wave": "3"})),
            Placement::Object { wave: 3 }
        );
    }

    #[test]
    fn two_different_waves_are_an_error() {
        let (annotation, problem) =
            rejected(json!({"kedge.dev/sync-wave": "1", "argocd.argoproj.io/sync-wave": "2"}));
        assert_eq!(annotation, "kedge.dev/sync-wave");
        assert_eq!(problem, "1 differs from argocd.argoproj.io/sync-wave: 2");
    }

    #[test]
    fn a_wave_must_be_a_quoted_integer() {
        let (annotation, problem) = rejected(json!({"argocd.argoproj.io/sync-wave": "first"}));
        assert_eq!(annotation, "argocd.argoproj.io/sync-wave");
        assert!(
            problem.starts_with("\"first\" is not an integer"),
            "{problem}"
        );
        let (_, problem) = rejected(json!({"kedge.dev/sync-wave": 1}));
        assert_eq!(
            problem,
            "1 is not a string (annotation values are quoted: \"1\")"
        );
    }

    #[test]
    fn helm_hook_weight_is_the_wave_unless_a_sync_wave_is_set() {
        let weighted = placed(json!({"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-5"}));
        assert!(
            matches!(weighted, Placement::Hook { wave: -5, .. }),
            "{weighted:?}"
        );
        let both = placed(json!({
            "helm.sh/hook": "pre-install",
            "helm.sh/hook-weight": "-5",
            "argocd.argoproj.io/sync-wave": "2",
        }));
        assert!(matches!(both, Placement::Hook { wave: 2, .. }), "{both:?}");
    }

    #[test]
    fn argo_hooks_map_to_phases_with_the_default_delete_policy() {
        assert_eq!(
            placed(json!({"argocd.argoproj.io/hook": "PostSync, PreSync"})),
            Placement::Hook {
                phases: vec![Phase::PreSync, Phase::PostSync],
                wave: 0,
                delete_policies: vec![HookDeletePolicy::BeforeHookCreation],
            }
        );
    }

    #[test]
    fn delete_policies_from_both_tools_are_merged() {
        let placement = placed(json!({
            "argocd.argoproj.io/hook": "Sync",
            "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            "helm.sh/hook-delete-policy": "hook-succeeded,hook-failed",
        }));
        let Placement::Hook {
            delete_policies, ..
        } = placement
        else {
            panic!("not a hook: {placement:?}");
        };
        assert_eq!(
            delete_policies,
            vec![
                HookDeletePolicy::HookSucceeded,
                HookDeletePolicy::HookFailed
            ]
        );
    }

    #[test]
    fn skip_means_never_applied_and_stands_alone() {
        assert_eq!(
            placed(json!({"argocd.argoproj.io/hook": "Skip"})),
            Placement::Skipped(SkipReason::SkipHook)
        );
        let (_, problem) = rejected(json!({"argocd.argoproj.io/hook": "Skip,PreSync"}));
        assert_eq!(
            problem,
            "Skip cannot be combined with other hooks (\"Skip,PreSync\")"
        );
    }

    #[test]
    fn a_misspelt_hook_is_an_error_listing_the_known_ones() {
        let (annotation, problem) = rejected(json!({"argocd.argoproj.io/hook": "Presync"}));
        assert_eq!(annotation, "argocd.argoproj.io/hook");
        assert_eq!(
            problem,
            format!("unknown value \"Presync\" (expected {ARGO_HOOKS})")
        );
        let (annotation, _) = rejected(json!({"helm.sh/hook": "pre-instal"}));
        assert_eq!(annotation, "helm.sh/hook");
        let (annotation, _) = rejected(json!({
            "argocd.argoproj.io/hook": "PreSync",
            "argocd.argoproj.io/hook-delete-policy": "OnSuccess",
        }));
        assert_eq!(annotation, "argocd.argoproj.io/hook-delete-policy");
        let (_, problem) = rejected(json!({"argocd.argoproj.io/hook": " , "}));
        assert_eq!(problem, "no value");
    }

    #[test]
    fn helm_install_and_upgrade_hooks_run_around_the_sync() {
        let placement = placed(json!({
            "helm.sh/hook": "pre-install,pre-upgrade,post-install",
            "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
        }));
        assert_eq!(
            placement,
            Placement::Hook {
                phases: vec![Phase::PreSync, Phase::PostSync],
                wave: 0,
                delete_policies: vec![
                    HookDeletePolicy::BeforeHookCreation,
                    HookDeletePolicy::HookSucceeded
                ],
            }
        );
    }

    #[test]
    fn helm_hooks_sync_does_not_run_are_skipped_with_their_events() {
        assert_eq!(
            placed(json!({"helm.sh/hook": "test"})),
            Placement::Skipped(SkipReason::HelmHook {
                events: vec!["test".into()]
            })
        );
        assert_eq!(
            placed(json!({"helm.sh/hook": "pre-delete, post-rollback"})),
            Placement::Skipped(SkipReason::HelmHook {
                events: vec!["pre-delete".into(), "post-rollback".into()]
            })
        );
        // A hook that also runs on install is run by sync.
        assert!(matches!(
            placed(json!({"helm.sh/hook": "pre-delete,post-install"})),
            Placement::Hook { .. }
        ));
    }

    #[test]
    fn helm_crd_install_is_an_ordinary_object() {
        assert_eq!(
            placed(json!({"helm.sh/hook": "crd-install"})),
            Placement::Object { wave: 0 }
        );
    }

    #[test]
    fn argo_hook_annotation_wins_over_helms() {
        let placement = placed(json!({
            "argocd.argoproj.io/hook": "Sync",
            "helm.sh/hook": "pre-install",
        }));
        assert!(
            matches!(&placement, Placement::Hook { phases, .. } if phases == &[Phase::Sync]),
            "{placement:?}"
        );
    }

    #[test]
    fn argo_post_delete_hooks_are_skipped() {
        assert_eq!(
            placed(json!({"argocd.argoproj.io/hook": "PostDelete"})),
            Placement::Skipped(SkipReason::DeletionHook {
                hooks: vec!["PostDelete".into()]
            })
        );
    }
}
