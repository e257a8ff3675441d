//! One sync: read the cluster once, apply what differs step by step (each
//! step healthy before the next), run hooks, prune what left Git.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::{StreamExt, stream};
use kedge_render::RenderedObject;
use kedge_sync::compare::{CompareOptions, SyncStatus, compare};
use kedge_sync::order::{HookDeletePolicy, Phase, Step};
use kedge_sync::{Object, ObjectKey};
use kube::Client;
use tokio::time::Instant;

use crate::apply::{ApplyRefusal, apply, prepare, server_sees_no_change};
use crate::live::{ListScope, LiveState, Need, Reach, namespaces_of, selector};
use crate::report::{Action, ObjectResult, SyncReport};
use crate::resources::{Resources, Target, resolve_all};
use crate::wait::{delete_and_wait, wait_healthy};
use crate::{KubeError, SyncOptions};

/// Makes the cluster equal to `objects` for `options.app`.
///
/// An error means nothing was applied (discovery failed, an unknown kind, a
/// bad annotation) or the live state could not be read; a failure of one
/// object is in the report, with its reason.
#[tracing::instrument(skip_all, fields(app = %options.app, namespace = %options.namespace))]
pub async fn sync(
    client: &Client,
    objects: &[RenderedObject],
    options: &SyncOptions,
) -> Result<SyncReport, KubeError> {
    if objects.is_empty() && options.prune && !options.allow_empty {
        return Err(KubeError::EmptyRender {
            app: options.app.to_string(),
        });
    }
    let plan = kedge_sync::order::plan(objects)?;
    let mut run = Run::start(client, objects, options).await?;
    for skipped_object in &plan.skipped {
        let reason = format!("not applied by a sync: {}", skipped_object.reason);
        let result = run.result(skipped_object.object, skipped(&reason), None);
        run.report.objects.push(result);
    }
    let mut failed = false;
    for step in plan.steps.iter().filter(|s| s.phase != Phase::SyncFail) {
        if failed {
            run.skip(step, "an earlier step failed");
        } else {
            failed = !run.step(step).await?;
        }
    }
    if failed {
        // SyncFail hooks get their own time: the failure may have used it up.
        run.deadline = Instant::now() + options.timeout;
        for step in plan.steps.iter().filter(|s| s.phase == Phase::SyncFail) {
            run.step(step).await?;
        }
    } else if run.report.succeeded() {
        run.prune().await;
        run.report.inventory_complete = options.prune && run.live.read_every_type();
    } else {
        // An object refused for a conflict: Git is not fully applied, so
        // nothing is deleted yet.
        tracing::warn!("not pruning: an object was skipped for a conflict");
    }
    Ok(run.report)
}

/// The state of one sync in progress.
pub(crate) struct Run<'a> {
    pub client: &'a Client,
    pub options: &'a SyncOptions,
    pub rendered: &'a [RenderedObject],
    pub resources: Arc<Resources>,
    /// By render index; `None` until the CRD serving it is established.
    pub targets: Vec<Option<Target>>,
    pub live: LiveState,
    pub deadline: Instant,
    pub report: SyncReport,
    /// How desired and live are compared (kedge's field manager, ignore rules).
    pub compare: CompareOptions,
}

/// What happened to one object of a step before the health wait.
enum Outcome {
    /// Sent (or already as Git says): the object as the server has it.
    Current { action: Action, object: Object },
    /// Not applied.
    Done(Action),
}

impl<'a> Run<'a> {
    /// Discovery, resolution and the live state: everything read before the
    /// first write.
    pub async fn start(
        client: &'a Client,
        rendered: &'a [RenderedObject],
        options: &'a SyncOptions,
    ) -> Result<Self, KubeError> {
        let deadline = Instant::now() + options.timeout;
        let resources = crate::discovery::discover_for(client, options, rendered).await?;
        let targets = resolve_all(&resources, rendered, &options.namespace)?;
        if options.create_namespace {
            crate::apply::ensure_namespace(client, &options.namespace, options.dry_run).await?;
        }
        let reach = if options.prune {
            Reach::EveryType
        } else {
            Reach::GitTypes
        };
        let live = LiveState::read(client, &resources, &targets, options, reach).await?;
        Ok(Self {
            client,
            options,
            rendered,
            resources,
            targets,
            live,
            deadline,
            compare: options.compare_options(),
            report: SyncReport {
                app: options.app.clone(),
                dry_run: options.dry_run,
                objects: Vec::new(),
                inventory_complete: false,
            },
        })
    }

    /// Reports every object of a step as skipped.
    fn skip(&mut self, step: &Step, reason: &str) {
        for &index in &step.objects {
            let result = self.result(index, skipped(reason), None);
            self.report.objects.push(result);
        }
    }

    fn result(
        &self,
        index: usize,
        action: Action,
        health: Option<kedge_sync::health::Health>,
    ) -> ObjectResult {
        let key = match &self.targets[index] {
            Some(target) => target.key.clone(),
            None => self.rendered[index].key(),
        };
        ObjectResult {
            key,
            source: Some(self.rendered[index].source.to_string()),
            action,
            health,
        }
    }

    /// Applies one step and waits for it; `Ok(false)` when an object of it
    /// failed.
    async fn step(&mut self, step: &Step) -> Result<bool, KubeError> {
        tracing::debug!(phase = ?step.phase, wave = step.wave, objects = step.objects.len(), "step");
        self.resolve_pending(&step.objects).await?;
        let hooks: HashMap<usize, &[HookDeletePolicy]> = step
            .hooks
            .iter()
            .map(|(index, policies)| (*index, policies.as_slice()))
            .collect();
        let is_hook = |index: usize| hooks.contains_key(&index);
        for &index in &step.objects {
            if is_hook(index) && deletes_before_creation(hooks.get(&index).copied()) {
                self.delete_old_hook(index).await;
            }
        }
        let outcomes = self.apply_all(&step.objects, &is_hook).await;
        let mut ok = true;
        let mut waiting = Vec::new();
        for (index, outcome) in outcomes {
            match outcome {
                Outcome::Current { action, object } if !self.options.dry_run => {
                    waiting.push((index, action, object));
                }
                Outcome::Current { action, .. } | Outcome::Done(action) => {
                    ok &= !matches!(action, Action::Failed { .. });
                    let result = self.result(index, action, None);
                    self.report.objects.push(result);
                }
            }
        }
        ok &= self.wait_step(waiting, &hooks).await;
        Ok(ok)
    }

    /// Applies the objects of a step concurrently, returning their outcomes
    /// in step order.
    async fn apply_all(
        &mut self,
        indices: &[usize],
        is_hook: &(dyn Fn(usize) -> bool + Sync),
    ) -> Vec<(usize, Outcome)> {
        let this = &*self;
        let mut outcomes: Vec<(usize, Outcome)> = stream::iter(indices.iter().copied())
            .map(|index| async move { (index, this.apply_one(index, is_hook(index)).await) })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        let order: HashMap<usize, usize> =
            indices.iter().enumerate().map(|(i, &x)| (x, i)).collect();
        outcomes.sort_by_key(|(index, _)| order[index]);
        if !self.options.dry_run {
            for (_, outcome) in &outcomes {
                if let Outcome::Current {
                    action: Action::Applied,
                    object,
                } = outcome
                {
                    self.live.record(object.clone());
                }
            }
        }
        outcomes
    }

    async fn apply_one(&self, index: usize, hook: bool) -> Outcome {
        let Some(target) = &self.targets[index] else {
            let reason = if self.options.dry_run {
                "its CRD is applied in the same sync, so a dry run cannot check it"
            } else {
                "the cluster does not serve its kind although its CRD was applied"
            };
            return Outcome::Done(if self.options.dry_run {
                skipped(reason)
            } else {
                Action::Failed {
                    reason: reason.into(),
                }
            });
        };
        let live = self.live.get(&target.key);
        let desired = prepare(target, &self.options.app, &self.compare, live);
        let comparison = compare(&desired, live, &self.compare);
        let unchanged = match (comparison.status, live) {
            (SyncStatus::InSync, Some(_)) => true,
            (SyncStatus::OutOfSync, Some(live)) if comparison.needs_dry_run => {
                server_sees_no_change(self.client, target, &desired, live).await
            }
            _ => false,
        };
        if unchanged
            && !hook
            && let Some(live) = live
        {
            return Outcome::Current {
                action: Action::Unchanged,
                object: live.clone(),
            };
        }
        let force = self.options.force_conflicts;
        match apply(self.client, target, &desired, force, self.options.dry_run).await {
            Ok(object) => Outcome::Current {
                action: Action::Applied,
                object,
            },
            Err(ApplyRefusal::Conflict { managers, reason }) => Outcome::Done(Action::Skipped {
                reason,
                conflicts_with: managers,
            }),
            Err(ApplyRefusal::Failed(reason)) => Outcome::Done(Action::Failed { reason }),
        }
    }

    /// Waits for a step's applied objects to be healthy, then honours the
    /// hooks' delete policies; `false` when one is not.
    async fn wait_step(
        &mut self,
        waiting: Vec<(usize, Action, Object)>,
        hooks: &HashMap<usize, &[HookDeletePolicy]>,
    ) -> bool {
        let pairs: Vec<(&Target, Object)> = waiting
            .iter()
            .filter_map(|(index, _, object)| {
                self.targets[*index].as_ref().map(|t| (t, object.clone()))
            })
            .collect();
        let waited =
            wait_healthy(self.client, pairs, self.deadline, self.options.concurrency).await;
        let mut ok = true;
        let mut results = Vec::new();
        for ((index, action, _), (outcome, _)) in waiting.into_iter().zip(waited) {
            let policies = hooks.get(&index).copied().unwrap_or_default();
            let delete_now = match &outcome.failure {
                None => policies.contains(&HookDeletePolicy::HookSucceeded),
                Some(_) => policies.contains(&HookDeletePolicy::HookFailed),
            };
            if delete_now && let Some(target) = &self.targets[index] {
                let _ =
                    delete_and_wait(self.client, &target.kind, &target.key, self.deadline, false)
                        .await
                        .inspect_err(
                            |error| tracing::warn!(key = %target.key, %error, "hook not deleted"),
                        );
                self.live.forget(&target.key);
            }
            let action = match outcome.failure {
                Some(reason) => {
                    ok = false;
                    Action::Failed { reason }
                }
                None => action,
            };
            results.push(self.result(index, action, Some(outcome.health)));
        }
        self.report.objects.extend(results);
        ok
    }

    /// Deletes a hook's object from an earlier sync before it is created again.
    async fn delete_old_hook(&mut self, index: usize) {
        let Some(target) = &self.targets[index] else {
            return;
        };
        if self.live.get(&target.key).is_none() {
            return;
        }
        let deleted = delete_and_wait(
            self.client,
            &target.kind,
            &target.key,
            self.deadline,
            self.options.dry_run,
        )
        .await;
        if let Err(error) = deleted {
            tracing::warn!(key = %target.key, %error, "previous hook not deleted");
        }
        self.live.forget(&target.key.clone());
    }

    /// Resolves the step's objects whose kind a CRD of an earlier step
    /// defines: discovery again (it can lag `Established` by a moment), then
    /// their live state.
    async fn resolve_pending(&mut self, indices: &[usize]) -> Result<(), KubeError> {
        let pending = |targets: &[Option<Target>]| indices.iter().any(|&i| targets[i].is_none());
        if self.options.dry_run || !pending(&self.targets) {
            return Ok(());
        }
        loop {
            self.resources = crate::discovery::rediscover(self.client, self.options).await?;
            for &index in indices {
                if self.targets[index].is_none() {
                    self.targets[index] = self
                        .resources
                        .resolve(&self.rendered[index], &self.options.namespace)?;
                }
            }
            if !pending(&self.targets) || Instant::now() >= self.deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        let resolved: Vec<&Target> = indices
            .iter()
            .filter_map(|&i| self.targets[i].as_ref())
            .collect();
        let types: Vec<_> = resolved
            .iter()
            .map(|t| (t.kind.clone(), Need::Required))
            .collect();
        let namespaces = namespaces_of(resolved.iter().copied(), &self.options.namespace);
        let scope = ListScope {
            selector: selector(&self.options.app),
            namespaces: &namespaces,
        };
        let concurrency = self.options.concurrency;
        self.live
            .list(self.client, types, &scope, concurrency)
            .await?;
        self.live
            .fetch_missing(self.client, &resolved, concurrency)
            .await
    }

    /// Deletes (with `prune`) or reports the app's live objects that left Git.
    async fn prune(&mut self) {
        let desired: BTreeSet<ObjectKey> = self
            .targets
            .iter()
            .enumerate()
            .map(|(index, target)| match target {
                Some(target) => target.key.clone(),
                None => self.rendered[index].key(),
            })
            .collect();
        let inventory: Vec<Object> = self.live.inventory();
        let candidates =
            kedge_sync::inventory::prune_candidates(&self.options.app, &inventory, &desired);
        let results = crate::prune::prune_objects(self, candidates).await;
        self.report.objects.extend(results);
    }
}

/// Whether hook delete policies ask to delete the previous run's object
/// first (the default when none is given, as in Argo CD).
fn deletes_before_creation(policies: Option<&[HookDeletePolicy]>) -> bool {
    match policies {
        None | Some([]) => true,
        Some(policies) => policies.contains(&HookDeletePolicy::BeforeHookCreation),
    }
}

pub(crate) fn skipped(reason: &str) -> Action {
    Action::Skipped {
        reason: reason.into(),
        conflicts_with: Vec::new(),
    }
}
