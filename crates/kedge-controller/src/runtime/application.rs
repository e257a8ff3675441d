//! The Application reconciler: resolve the revision (one shared listing per
//! repository), render it (cached by commit), sync or compare, and write
//! status and Events.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kedge_git::{GitAuth, Remote, Workspace};
use kedge_kube::{Action as SyncAction, SyncOptions, SyncReport};
use kedge_render::{HelmOptions, KustomizeOptions, RenderKey, RenderedObject, Renderer};
use kedge_sync::inventory::AppName;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource, ResourceExt};

use super::outcome::{Outcome, next_status};
use super::{Context, ReconcileError};
use crate::{Application, ApplicationStatus, ConditionStatus, ConditionType, RenderType};

/// The field manager of status writes.
pub const STATUS_MANAGER: &str = "kedge-controller";

/// How long an Application waiting for a dependency waits before looking again.
const DEPENDENCY_POLL: Duration = Duration::from_secs(5);

/// How soon an Application that synced but is not healthy yet is looked at again.
const PROGRESS_POLL: Duration = Duration::from_secs(10);

/// Failed attempts at one (generation, revision), for the retry policy.
#[derive(Default)]
pub(crate) struct Attempts {
    by_app: Mutex<HashMap<ObjectRef<Application>, Failures>>,
}

/// How often one generation of an Application failed at one revision.
struct Failures {
    generation: Option<i64>,
    revision: String,
    count: u32,
}

impl Attempts {
    /// Counts a failure and returns how many there were at this generation and revision.
    fn failed(&self, app: &ObjectRef<Application>, generation: Option<i64>, revision: &str) -> u32 {
        let mut map = self.by_app.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = || Failures {
            generation,
            revision: revision.to_owned(),
            count: 0,
        };
        let entry = map.entry(app.clone()).or_insert_with(fresh);
        if entry.generation != generation || entry.revision != revision {
            *entry = fresh();
        }
        entry.count += 1;
        entry.count
    }

    fn succeeded(&self, app: &ObjectRef<Application>) {
        self.by_app
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(app);
    }

    /// Forgets Applications that are gone.
    fn forget_deleted(&self, store: &Store<Application>) {
        let mut map = self.by_app.lock().unwrap_or_else(PoisonError::into_inner);
        forget_deleted(&mut map, store);
    }
}

/// Drops the entries of Applications no longer in `store` each time the
/// map reaches a power of two past 64 entries: the cost of a pass is paid
/// once per doubling, and a map holds about twice what is live at most.
pub(super) fn forget_deleted<V>(
    map: &mut HashMap<ObjectRef<Application>, V>,
    store: &Store<Application>,
) {
    if map.len() >= 64 && map.len().is_power_of_two() {
        map.retain(|app, _| store.get(app).is_some());
    }
}

/// The refresh requests seen: each Application's last one, and when this
/// replica first saw each request value. The value's own timestamp is
/// another machine's clock, so it is only a name: a listing made after this
/// replica first saw the request answers it, on this replica's clock.
#[derive(Default)]
pub(crate) struct Refreshes {
    seen: Mutex<RefreshesSeen>,
}

#[derive(Default)]
struct RefreshesSeen {
    by_app: HashMap<ObjectRef<Application>, String>,
    first_seen: HashMap<String, SystemTime>,
}

/// How long a request value is remembered: any listing is newer by then.
const REFRESH_MEMORY: Duration = Duration::from_secs(3600);

impl Refreshes {
    /// When `app`'s refresh request was first seen here, if it carries one
    /// it was not reconciled for yet; `None` otherwise.
    fn requested_at(&self, app: &Application, store: &Store<Application>) -> Option<SystemTime> {
        let requested = app.annotations().get(super::REFRESH_ANNOTATION)?;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        forget_deleted(&mut seen.by_app, store);
        let now = SystemTime::now();
        seen.first_seen.retain(|_, at| {
            now.duration_since(*at)
                .is_ok_and(|age| age < REFRESH_MEMORY)
        });
        let at = *seen.first_seen.entry(requested.clone()).or_insert(now);
        let previous = seen
            .by_app
            .insert(ObjectRef::from_obj(app), requested.clone());
        (previous.as_ref() != Some(requested)).then_some(at)
    }
}

/// Reconciles one Application, and counts how that ended.
pub(crate) async fn reconcile(
    app: Arc<Application>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ended = reconcile_once(app, Arc::clone(&ctx)).await;
    if let Some(metrics) = &ctx.options.metrics {
        let result = ended.as_ref().map_or("error", |(_, result)| *result);
        metrics.record_reconcile("Application", result, started.elapsed());
    }
    ended.map(|(action, _)| action)
}

/// One reconcile: what to do next, and how it ended (`synced`, `compared`,
/// `failed`, `waiting`, `stalled`, `skipped`), for the metrics.
async fn reconcile_once(
    app: Arc<Application>,
    ctx: Arc<Context>,
) -> Result<(Action, &'static str), ReconcileError> {
    let namespace = app.namespace().unwrap_or_default();
    let name = app.name_any();
    if !ctx.options.shard.owns(&namespace, &name) {
        return Ok((Action::await_change(), "skipped"));
    }
    let interval = match app.spec.sync_policy.interval() {
        Ok(interval) => interval,
        Err(error) => return stalled(&ctx, &app, "InvalidSpec", error.to_string()).await,
    };
    let mut prepared = match Prepared::new(&app, &namespace, &name, &ctx) {
        Ok(prepared) => prepared,
        Err(message) => return stalled(&ctx, &app, "InvalidSpec", message).await,
    };
    if let Some(waiting) = unhealthy_dependency(&app, &namespace, &ctx) {
        let outcome = Outcome::NotSynced {
            reason: "DependencyNotReady",
            message: waiting,
            stalled: false,
        };
        write_status(&ctx, &app, &outcome).await?;
        return Ok((Action::requeue(DEPENDENCY_POLL), "waiting"));
    }
    let (revision, objects) = match resolve_and_render(&ctx, &app, &prepared, interval).await {
        Ok(rendered) => rendered,
        Err((reason, message, revision)) => {
            return failed(&ctx, &app, reason, message, &revision, interval).await;
        }
    };
    let policy = &app.spec.sync_policy;
    let status = app.status.as_ref();
    let changed = status.and_then(|s| s.last_synced_revision.as_deref()) != Some(revision.as_str())
        || status.and_then(|s| s.observed_generation) != app.meta().generation
        || !condition_true(status, ConditionType::Synced);
    if !policy.self_heal
        && let Some(applied_at) = render_unchanged(&ctx, &app, &prepared, &revision, &objects)
    {
        let outcome = Outcome::RenderUnchanged {
            revision: &revision,
            applied_at: &applied_at,
        };
        write_status(&ctx, &app, &outcome).await?;
        return Ok((Action::requeue(interval), "unchanged"));
    }
    prepared.options.inventory_kinds = ctx.inventories.known(&ObjectRef::from_obj(app.as_ref()));
    let rendered = Rendered {
        revision: &revision,
        objects: &objects,
        options: &prepared.options,
        interval,
    };
    if policy.automated && (changed || policy.self_heal) {
        sync(&ctx, &app, &rendered).await
    } else {
        compare(&ctx, &app, &rendered).await
    }
}

/// The commit last applied, when `objects` (the render at the new
/// `revision`) are exactly what was rendered and applied there, and the
/// Application is synced and its spec unchanged since: a commit that does
/// not touch an Application's render is not applied again (one push to a
/// repository of a thousand Applications re-applies only those it changes).
/// `None` when anything differs or the old render is not in memory.
fn render_unchanged(
    ctx: &Context,
    app: &Application,
    prepared: &Prepared,
    revision: &str,
    objects: &Arc<[RenderedObject]>,
) -> Option<String> {
    let status = app.status.as_ref()?;
    let applied = status.last_synced_revision.as_deref()?;
    if applied == revision
        || status.observed_generation != app.meta().generation
        || !condition_true(Some(status), ConditionType::Synced)
    {
        return None;
    }
    let key = RenderKey::new(
        applied,
        prepared.key_path.clone(),
        prepared.renderer.clone(),
    );
    let before = ctx.renders.get(&key)?;
    (before[..] == objects[..]).then(|| applied.to_owned())
}

/// The commit the Application's revision names now, rendered; or the
/// failure's reason, message and (when known) commit.
async fn resolve_and_render(
    ctx: &Arc<Context>,
    app: &Application,
    prepared: &Prepared,
    interval: Duration,
) -> Result<(String, Arc<[RenderedObject]>), (&'static str, String, String)> {
    let remote = Remote {
        url: app.spec.source.repo_url.clone(),
        auth: GitAuth::None,
    };
    let fresh_after = ctx.refreshes.requested_at(app, &ctx.store);
    let revision = &app.spec.source.target_revision;
    let resolved = ctx
        .heads
        .resolve(&remote, revision, interval, fresh_after)
        .await
        .map_err(|error| ("GitError", with_causes(&error), String::new()))?;
    let commit = resolved.commit.to_string();
    match render(ctx, prepared, &remote, &resolved).await {
        Ok(objects) => Ok((commit, objects)),
        Err(message) => Err(("RenderFailed", message, commit)),
    }
}

/// A revision rendered, and how it is to be synced.
struct Rendered<'a> {
    revision: &'a str,
    objects: &'a [RenderedObject],
    options: &'a SyncOptions,
    interval: Duration,
}

/// Syncs the render, writes status and Events, and says when to look again:
/// at the interval, sooner while objects are not healthy yet, or per the
/// retry policy after a failure.
async fn sync(
    ctx: &Context,
    app: &Arc<Application>,
    rendered: &Rendered<'_>,
) -> Result<(Action, &'static str), ReconcileError> {
    let (revision, interval) = (rendered.revision, rendered.interval);
    let report = match kedge_kube::sync(&ctx.client, rendered.objects, rendered.options).await {
        Ok(report) => report,
        Err(error) => {
            // A type removed since the shared discovery answer fails like this.
            ctx.discovery.forget();
            let message = with_causes(&error);
            return failed(ctx, app, "SyncFailed", message, revision, interval).await;
        }
    };
    let app_ref = ObjectRef::from_obj(app.as_ref());
    ctx.inventories
        .record(&app_ref, report.kinds(), report.inventory_complete);
    let attempt = (!report.succeeded()).then(|| {
        ctx.attempts
            .failed(&app_ref, app.meta().generation, revision)
    });
    let retries_exhausted = attempt.is_some_and(|attempt| {
        app.spec
            .sync_policy
            .retry
            .delay(attempt)
            .ok()
            .flatten()
            .is_none()
    });
    let outcome = Outcome::Synced {
        revision,
        report: &report,
        retries_exhausted,
    };
    let written = write_status(ctx, app, &outcome).await?;
    publish_sync_events(ctx, app, revision, &report).await;
    if let Some(attempt) = attempt {
        return Ok((retry_after(app, attempt, interval), "failed"));
    }
    ctx.attempts.succeeded(&app_ref);
    ctx.attempts.forget_deleted(&ctx.store);
    ctx.inventories.forget_deleted(&ctx.store);
    let next = if condition_true(Some(&written), ConditionType::Healthy) {
        interval
    } else {
        PROGRESS_POLL.min(interval)
    };
    Ok((Action::requeue(next), "synced"))
}

/// Compares the render with the cluster and writes what differs to status.
async fn compare(
    ctx: &Context,
    app: &Arc<Application>,
    rendered: &Rendered<'_>,
) -> Result<(Action, &'static str), ReconcileError> {
    let (revision, interval) = (rendered.revision, rendered.interval);
    let report = match kedge_kube::diff(&ctx.client, rendered.objects, rendered.options).await {
        Ok(report) => report,
        Err(error) => {
            ctx.discovery.forget();
            let message = with_causes(&error);
            return failed(ctx, app, "CompareFailed", message, revision, interval).await;
        }
    };
    let app_ref = ObjectRef::from_obj(app.as_ref());
    ctx.inventories
        .record(&app_ref, report.kinds(), report.inventory_complete);
    let outcome = Outcome::Compared {
        revision,
        report: &report,
    };
    write_status(ctx, app, &outcome).await?;
    Ok((Action::requeue(interval), "compared"))
}

/// Everything the spec says, read and checked before any IO.
struct Prepared {
    key_path: PathBuf,
    renderer: Renderer,
    options: SyncOptions,
}

impl Prepared {
    fn new(app: &Application, namespace: &str, name: &str, ctx: &Context) -> Result<Self, String> {
        let app_name = AppName::new(format!("{namespace}.{name}"))
            .map_err(|error| format!("{error}; shorten the Application's name or namespace"))?;
        let destination = &app.spec.destination.namespace;
        let source = &app.spec.source;
        let key_path = PathBuf::from(&source.path);
        if key_path.is_absolute() || key_path.components().any(|c| c.as_os_str() == "..") {
            return Err(format!(
                "spec.source.path {:?} must be relative to the repository and stay inside it",
                source.path
            ));
        }
        let renderer = renderer_for(app, name, &ctx.options.cache_dir)?;
        let mut options = SyncOptions::new(app_name, destination.clone());
        options.prune = app.spec.sync_policy.prune;
        options.create_namespace = app.spec.sync_policy.create_namespace;
        // With self-heal, Git wins over hand edits: fields Git sets are taken
        // back from whichever manager changed them (ignoreDifferences keeps
        // what another manager, say an HPA, should own).
        options.force_conflicts = app.spec.sync_policy.self_heal;
        options.timeout = ctx.options.sync_timeout;
        options.ignore = app.spec.ignore_rules().map_err(|error| error.to_string())?;
        options.discovery = Some(ctx.discovery.clone());
        Ok(Self {
            key_path,
            renderer,
            options,
        })
    }
}

/// How an Application's path is rendered; inline Helm values are written
/// under `cache_dir`.
pub(crate) fn renderer_for(
    app: &Application,
    name: &str,
    cache_dir: &Path,
) -> Result<Renderer, String> {
    let destination = &app.spec.destination.namespace;
    Ok(match app.spec.source.render.render_type {
        RenderType::Plain => Renderer::Plain,
        RenderType::Kustomize => Renderer::Kustomize(KustomizeOptions::default()),
        RenderType::Helm => Renderer::Helm(helm_options(app, name, destination, cache_dir)?),
    })
}

fn helm_options(
    app: &Application,
    name: &str,
    destination: &str,
    cache_dir: &Path,
) -> Result<HelmOptions, String> {
    let helm = app.spec.source.render.helm.clone().unwrap_or_default();
    let mut options = HelmOptions::new(helm.release_name.unwrap_or_else(|| name.to_owned()));
    options.namespace = Some(destination.to_owned());
    for file in &helm.value_files {
        let path = Path::new(file);
        // `..` may reach files beside the chart; the checkout's bounds are
        // checked once it is there.
        if file.contains("://") || path.is_absolute() {
            return Err(format!(
                "spec.source.render.helm.valueFiles: {file:?} must be a path in the repository, relative to the chart"
            ));
        }
    }
    options.values_files = helm.value_files.iter().map(PathBuf::from).collect();
    if let Some(values) = helm.values.filter(|values| !values.is_empty()) {
        // Inline values become a file named after their content, so the
        // render cache misses exactly when they change.
        let text = serde_json::to_string(&values).map_err(|e| e.to_string())?;
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            text.hash(&mut hasher);
            hasher.finish()
        };
        let dir = cache_dir.join("values");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let file = dir.join(format!("{digest:016x}.json"));
        if !file.exists() {
            std::fs::write(&file, text).map_err(|e| format!("writing {}: {e}", file.display()))?;
        }
        options.values_files.push(file);
    }
    Ok(options)
}

/// The dependency that is not healthy yet, as a message, if any.
fn unhealthy_dependency(app: &Application, namespace: &str, ctx: &Context) -> Option<String> {
    app.spec.depends_on.iter().find_map(|dependency| {
        let key = ObjectRef::<Application>::new(dependency).within(namespace);
        match ctx.store.get(&key) {
            None => Some(format!(
                "waiting for Application {dependency}, which does not exist"
            )),
            Some(other) if !condition_true(other.status.as_ref(), ConditionType::Healthy) => Some(
                format!("waiting for Application {dependency} to be healthy"),
            ),
            Some(_) => None,
        }
    })
}

fn condition_true(status: Option<&ApplicationStatus>, wanted: ConditionType) -> bool {
    status.is_some_and(|status| {
        status
            .conditions
            .iter()
            .any(|c| c.condition_type == wanted && c.status == ConditionStatus::True)
    })
}

/// Renders the revision: from the cache, or from the shared clone checked
/// out at that commit.
async fn render(
    ctx: &Arc<Context>,
    prepared: &Prepared,
    remote: &Remote,
    resolved: &super::heads::ResolvedRevision,
) -> Result<Arc<[RenderedObject]>, String> {
    let key = RenderKey::new(
        resolved.commit.to_string(),
        prepared.key_path.clone(),
        prepared.renderer.clone(),
    );
    if let Some(objects) = ctx.renders.get(&key) {
        return Ok(objects);
    }
    let ctx = Arc::clone(ctx);
    let remote = remote.clone();
    let resolved = resolved.clone();
    tokio::task::spawn_blocking(move || {
        let workspace = Workspace::open(&ctx.options.cache_dir.join("git"), remote)
            .map_err(|e| e.to_string())?;
        workspace
            .fetch_commit(resolved.refname.as_deref(), resolved.commit)
            .map_err(|e| e.to_string())?;
        // Renders only read the tree: one checkout per commit serves every
        // Application of the repository, not one per reconcile.
        if workspace.checked_out() != Some(resolved.commit) {
            workspace
                .reset_to(resolved.commit)
                .map_err(|e| e.to_string())?;
        }
        inside_checkout(workspace.workdir(), &key.path, &key.renderer)
            .map_err(|problem| format!("{problem} at {}", resolved.commit))?;
        ctx.renders
            .render(&key, workspace.workdir())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("render task: {e}"))?
}

/// Checks that the rendered path and every Helm values file from Git stay
/// inside the checkout once symlinks are followed: a repository must not
/// make kedge read another one's clone or the controller's files.
fn inside_checkout(workdir: &Path, path: &Path, renderer: &Renderer) -> Result<(), String> {
    let root = workdir
        .canonicalize()
        .map_err(|e| format!("checkout {}: {e}", workdir.display()))?;
    let inside = |relative: &Path, what: &str| {
        let resolved = root
            .join(relative)
            .canonicalize()
            .map_err(|_| format!("{what} {} does not exist", relative.display()))?;
        if resolved.starts_with(&root) {
            Ok(resolved)
        } else {
            Err(format!(
                "{what} {} leads outside the repository (a symlink?)",
                relative.display()
            ))
        }
    };
    let chart = inside(path, "path")?;
    if let Renderer::Helm(helm) = renderer {
        for file in &helm.values_files {
            // Inline values are kedge's own file, outside the checkout.
            if file.is_absolute() {
                continue;
            }
            let resolved = chart.join(file);
            let relative = resolved.strip_prefix(&root).unwrap_or(&resolved).to_owned();
            inside(&relative, "values file")?;
        }
    }
    Ok(())
}

/// Writes the status `outcome` leads to, when it differs from what is there.
async fn write_status(
    ctx: &Context,
    app: &Application,
    outcome: &Outcome<'_>,
) -> Result<ApplicationStatus, ReconcileError> {
    let now = Time(jiff_now());
    let status = next_status(app.status.as_ref(), app.meta().generation, outcome, &now);
    if app.status.as_ref() == Some(&status) {
        return Ok(status);
    }
    let api: Api<Application> =
        Api::namespaced(ctx.client.clone(), &app.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "apiVersion": "kedge.dev/v1alpha1",
        "kind": "Application",
        "status": status,
    });
    api.patch_status(
        &app.name_any(),
        &PatchParams::apply(STATUS_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(ReconcileError::Status)?;
    Ok(status)
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

async fn stalled(
    ctx: &Context,
    app: &Application,
    reason: &'static str,
    message: String,
) -> Result<(Action, &'static str), ReconcileError> {
    let outcome = Outcome::NotSynced {
        reason,
        message: message.clone(),
        stalled: true,
    };
    write_status(ctx, app, &outcome).await?;
    publish(ctx, app, EventType::Warning, reason, "Reconcile", message).await;
    Ok((Action::await_change(), "stalled"))
}

/// Records a failure before anything was applied; retries per the policy,
/// then reports `Stalled` and only looks again at the interval.
async fn failed(
    ctx: &Context,
    app: &Application,
    reason: &'static str,
    message: String,
    revision: &str,
    interval: Duration,
) -> Result<(Action, &'static str), ReconcileError> {
    let attempt = ctx
        .attempts
        .failed(&ObjectRef::from_obj(app), app.meta().generation, revision);
    let exhausted = app
        .spec
        .sync_policy
        .retry
        .delay(attempt)
        .ok()
        .flatten()
        .is_none();
    let outcome = Outcome::NotSynced {
        reason,
        message: message.clone(),
        stalled: exhausted,
    };
    write_status(ctx, app, &outcome).await?;
    publish(ctx, app, EventType::Warning, reason, "Sync", message).await;
    Ok((retry_after(app, attempt, interval), "failed"))
}

/// `error` and every cause under it, `: `-separated: the API server's own
/// words (who may not do what, where) are in the causes.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn retry_after(app: &Application, attempt: u32, interval: Duration) -> Action {
    match app.spec.sync_policy.retry.delay(attempt) {
        Ok(Some(delay)) => Action::requeue(delay),
        _ => Action::requeue(interval),
    }
}

async fn publish_sync_events(
    ctx: &Context,
    app: &Application,
    revision: &str,
    report: &SyncReport,
) {
    let count = |wanted: fn(&SyncAction) -> bool| {
        report.objects.iter().filter(|o| wanted(&o.action)).count()
    };
    let applied = count(|a| matches!(a, SyncAction::Applied));
    let pruned = count(|a| matches!(a, SyncAction::Pruned));
    let failed = count(|a| matches!(a, SyncAction::Failed { .. } | SyncAction::Skipped { .. }));
    let short = revision.get(..12).unwrap_or(revision);
    if applied + pruned + failed > 0 {
        tracing::info!(
            namespace = app.namespace().unwrap_or_default(),
            app = app.name_any(),
            revision = short,
            applied,
            pruned,
            failed,
            "synced"
        );
    }
    if applied > 0 {
        let note = format!("applied {applied} object(s) at {short}");
        publish(ctx, app, EventType::Normal, "Synced", "Sync", note).await;
    }
    if pruned > 0 {
        let note = format!("pruned {pruned} object(s) no longer in Git at {short}");
        publish(ctx, app, EventType::Normal, "Pruned", "Prune", note).await;
    }
    if failed > 0 {
        let note = format!("{failed} object(s) failed to sync at {short}");
        publish(ctx, app, EventType::Warning, "SyncFailed", "Sync", note).await;
    }
}

async fn publish(
    ctx: &Context,
    app: &Application,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    super::publish(&ctx.recorder, app, type_, reason, action, note).await;
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher;

    use super::*;

    fn app(name: &str) -> Application {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kedge.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "team"},
            "spec": {"source": {"repoURL": "https://example.com/r.git"}, "destination": {"namespace": "team"}},
        }))
        .expect("an Application")
    }

    #[test]
    fn entries_of_deleted_applications_are_forgotten_as_the_map_doubles() {
        let mut writer: Writer<Application> = Writer::default();
        let store = writer.as_reader();
        writer.apply_watcher_event(&watcher::Event::Apply(app("live")));
        let mut map: HashMap<ObjectRef<Application>, u32> = HashMap::new();
        map.insert(ObjectRef::from_obj(&app("live")), 1);
        for n in 0..62 {
            map.insert(ObjectRef::from_obj(&app(&format!("gone-{n}"))), 1);
        }
        forget_deleted(&mut map, &store);
        assert_eq!(map.len(), 63, "below 64 entries nothing is scanned");
        map.insert(ObjectRef::from_obj(&app("gone-last")), 1);
        forget_deleted(&mut map, &store);
        assert_eq!(map.len(), 1, "at 64 entries the deleted ones go");
        assert!(map.contains_key(&ObjectRef::from_obj(&app("live"))));
    }
}
