//! In which order a sync applies objects: Namespaces and CRDs, then hook
//! phases, each in sync waves, kinds in a stable order within a wave.
//!
//! Contract:
//! - `kedge.dev/sync-wave` and Argo CD's `argocd.argoproj.io/sync-wave` are
//!   read the same way (integers, negative allowed; both set and different is
//!   an error); Helm's `helm.sh/hook-weight` is the wave when neither is set,
//!   as Argo CD reads it.
//! - Argo CD's `argocd.argoproj.io/hook` (`PreSync`, `Sync`, `PostSync`,
//!   `SyncFail`, a comma-separated list, or `Skip`) and Helm's `helm.sh/hook`
//!   (`pre-install`/`pre-upgrade` → `PreSync`, `post-install`/`post-upgrade` →
//!   `PostSync`) mark hooks; when both are set, Argo CD's wins. Hooks a sync
//!   never runs (`Skip`, Helm's `test`, `pre-delete`, …, Argo CD's
//!   `PostDelete`) are listed in [`Plan::skipped`] with the reason.
//! - A hook without a delete policy gets [`HookDeletePolicy::BeforeHookCreation`]:
//!   the default of Argo CD and of Helm 3, so a hook that ran last time is
//!   replaced rather than refused, and its logs stay readable until then.
//! - Namespaces and CustomResourceDefinitions that are not hooks come first
//!   ([`Phase::Prerequisites`]), before PreSync hooks and whatever their wave:
//!   every later object finds its namespace and its kind, including a hook
//!   that is itself a custom resource.
//! - A bad annotation is an [`OrderError`] naming the object and its source.

mod annotations;
mod kind_order;

use std::fmt;

use kedge_render::RenderedObject;

use self::annotations::Placement;

/// Annotation: the sync wave (kedge's name).
pub const KEDGE_SYNC_WAVE: &str = "kedge.dev/sync-wave";
/// Annotation: the sync wave (Argo CD's name, read the same way).
pub const ARGO_SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Annotation: Argo CD hook phases.
pub const ARGO_HOOK: &str = "argocd.argoproj.io/hook";
/// Annotation: Argo CD hook delete policies.
pub const ARGO_HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Annotation: Helm hook events.
pub const HELM_HOOK: &str = "helm.sh/hook";
/// Annotation: Helm hook delete policies.
pub const HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
/// Annotation: Helm hook weight, read as a wave.
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";

/// A phase of a sync, in the order phases run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum Phase {
    /// Namespaces and CustomResourceDefinitions that are not hooks, applied
    /// (and established) before anything else. Their wave does not order
    /// them: the step's wave is 0.
    Prerequisites,
    /// Hooks that run before the objects are applied.
    PreSync,
    /// The objects themselves (and `Sync` hooks).
    Sync,
    /// Hooks that run once everything is healthy.
    PostSync,
    /// Hooks that run when the sync failed.
    SyncFail,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Prerequisites => "Prerequisites",
            Phase::PreSync => "PreSync",
            Phase::Sync => "Sync",
            Phase::PostSync => "PostSync",
            Phase::SyncFail => "SyncFail",
        })
    }
}

/// When a hook object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum HookDeletePolicy {
    /// Before the hook is created again (the default, as in Argo CD and Helm).
    BeforeHookCreation,
    /// Once it succeeded.
    HookSucceeded,
    /// Once it failed.
    HookFailed,
}

/// One step of a sync: objects (indices into the rendered list) applied
/// together, after every earlier step is healthy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The phase.
    pub phase: Phase,
    /// The wave within it.
    pub wave: i64,
    /// Indices into the objects given to [`plan`], in apply order.
    pub objects: Vec<usize>,
    /// Delete policies of the hooks in this step, by object index, in apply
    /// order; never empty for a hook.
    pub hooks: Vec<(usize, Vec<HookDeletePolicy>)>,
}

/// An object a sync never applies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Index into the objects given to [`plan`].
    pub object: usize,
    /// Why (serialised beside `object`: `"reason": "helm-hook", "events": [..]`).
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// Why a sync does not apply an object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
#[non_exhaustive]
pub enum SkipReason {
    /// `argocd.argoproj.io/hook: Skip`.
    SkipHook,
    /// A Helm hook for events a sync does not have (`test`, `pre-delete`,
    /// `post-rollback`, …).
    HelmHook {
        /// The events, as written.
        events: Vec<String>,
    },
    /// An Argo CD hook that runs when the app is deleted (`PostDelete`).
    DeletionHook {
        /// The hooks, as written.
        hooks: Vec<String>,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::SkipHook => write!(f, "{ARGO_HOOK}: Skip"),
            SkipReason::HelmHook { events } => write!(
                f,
                "{HELM_HOOK}: {}: sync runs only install and upgrade hooks",
                events.join(",")
            ),
            SkipReason::DeletionHook { hooks } => write!(
                f,
                "{ARGO_HOOK}: {}: runs when the app is deleted, not on sync",
                hooks.join(",")
            ),
        }
    }
}

/// The whole order of a sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// Steps in the order they run; `SyncFail` steps come last and run only
    /// when an earlier step failed.
    pub steps: Vec<Step>,
    /// Objects never applied, in render order.
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// The steps of one phase, in order.
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = &Step> + '_ {
        self.steps.iter().filter(move |step| step.phase == phase)
    }
}

/// An annotation that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// A wave, hook or delete-policy annotation with a bad value.
    #[error("{source_file}: {key}: annotation {annotation}: {problem}")]
    Annotation {
        /// The object (boxed: errors stay small for `Result`s).
        key: Box<crate::ObjectKey>,
        /// Where it came from.
        source_file: kedge_render::Source,
        /// The annotation.
        annotation: &'static str,
        /// What is wrong with its value.
        #[source]
        problem: AnnotationProblem,
    },
}

/// What is wrong with an annotation's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnotationProblem {
    /// Not a string (an unquoted number in YAML).
    #[error("{value} is not a string (annotation values are quoted: \"{value}\")")]
    NotAString {
        /// The value, as JSON.
        value: String,
    },
    /// A wave or weight that is not an integer.
    #[error("{value:?} is not an integer: {source}")]
    NotAnInteger {
        /// The value.
        value: String,
        /// Why it does not parse.
        #[source]
        source: std::num::ParseIntError,
    },
    /// A name the annotation does not know.
    #[error("unknown value {value:?} (expected {expected})")]
    Unknown {
        /// The unknown item.
        value: String,
        /// The names it may take.
        expected: &'static str,
    },
    /// An empty list.
    #[error("no value")]
    Empty,
    /// `Skip` together with phases.
    #[error("Skip cannot be combined with other hooks ({value:?})")]
    SkipWithOthers {
        /// The whole value.
        value: String,
    },
    /// kedge's and Argo CD's waves disagree.
    #[error("{wave} differs from {other}: {other_wave}")]
    WavesDiffer {
        /// This annotation's wave.
        wave: i64,
        /// The other annotation.
        other: &'static str,
        /// Its wave.
        other_wave: i64,
    },
}

/// Orders rendered objects into steps: [`Phase::Prerequisites`], then each
/// phase's waves in ascending order; within a step, by kind (Namespace,
/// NetworkPolicy, …, Deployment, …, APIService, then other kinds by name),
/// then namespace, name and API group, then render order.
pub fn plan(objects: &[RenderedObject]) -> Result<Plan, OrderError> {
    let mut entries = Vec::with_capacity(objects.len());
    let mut skipped = Vec::new();
    for (index, rendered) in objects.iter().enumerate() {
        let placement =
            annotations::placement(&rendered.object).map_err(|bad| OrderError::Annotation {
                key: Box::new(rendered.key()),
                source_file: rendered.source.clone(),
                annotation: bad.annotation,
                problem: bad.problem,
            })?;
        match placement {
            // Waves do not order prerequisites (but a bad one is still an error).
            Placement::Object { wave: _ } if is_prerequisite(rendered) => {
                entries.push(Entry::new(rendered, index, Phase::Prerequisites, 0, None));
            }
            Placement::Object { wave } => {
                entries.push(Entry::new(rendered, index, Phase::Sync, wave, None));
            }
            Placement::Hook {
                phases,
                wave,
                delete_policies,
            } => {
                for phase in phases {
                    let policies = Some(delete_policies.clone());
                    entries.push(Entry::new(rendered, index, phase, wave, policies));
                }
            }
            Placement::Skipped(reason) => skipped.push(Skipped {
                object: index,
                reason,
            }),
        }
    }
    entries.sort_by(|a, b| a.order.cmp(&b.order));
    Ok(Plan {
        steps: steps(entries),
        skipped,
    })
}

/// Namespaces and CRDs: what other objects need to exist to be accepted.
fn is_prerequisite(object: &RenderedObject) -> bool {
    let group = object
        .api_version()
        .rsplit_once('/')
        .map(|(group, _)| group);
    match object.kind() {
        "Namespace" => group.is_none(),
        "CustomResourceDefinition" => group == Some("apiextensions.k8s.io"),
        _ => false,
    }
}

/// One object in one phase, with its sort order.
struct Entry {
    order: EntryOrder,
    hook: Option<Vec<HookDeletePolicy>>,
}

/// Sort key: phase, wave, kind rank, kind, namespace, name, group, index.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct EntryOrder {
    phase: Phase,
    wave: i64,
    kind_rank: usize,
    kind: String,
    namespace: Option<String>,
    name: String,
    group: String,
    index: usize,
}

impl Entry {
    fn new(
        rendered: &RenderedObject,
        index: usize,
        phase: Phase,
        wave: i64,
        hook: Option<Vec<HookDeletePolicy>>,
    ) -> Self {
        let key = rendered.key();
        Entry {
            order: EntryOrder {
                phase,
                wave,
                kind_rank: kind_order::kind_rank(&key.kind),
                kind: key.kind,
                namespace: key.namespace,
                name: key.name,
                group: key.group,
                index,
            },
            hook,
        }
    }
}

/// Groups sorted entries into one step per (phase, wave).
fn steps(entries: Vec<Entry>) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for entry in entries {
        let EntryOrder {
            phase, wave, index, ..
        } = entry.order;
        let same_step = steps
            .last()
            .is_some_and(|step| step.phase == phase && step.wave == wave);
        if !same_step {
            steps.push(Step {
                phase,
                wave,
                objects: Vec::new(),
                hooks: Vec::new(),
            });
        }
        let Some(step) = steps.last_mut() else {
            continue; // a step was just pushed
        };
        step.objects.push(index);
        if let Some(policies) = entry.hook {
            step.hooks.push((index, policies));
        }
    }
    steps
}

#[cfg(test)]
mod tests;
