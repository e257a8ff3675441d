//! `kedge serve --controller`: the Application controller in the same
//! process as the webhook server, behind a leader Lease, and the job runner
//! that turns GitHub pushes into refresh requests for the Applications of
//! the pushed repository (from any replica).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use futures::FutureExt as _;
use kedge::controller::{
    ArgoCdTakeover, ArgoCdTakeoverOptions, ImageUpdateController, ImageUpdateOptions, argocd,
};
use kedge::forge::{CommentAction, GitHub, GitHubAuth, GitHubConfig};
use kedge::serve::UpdateRunner;
use kedge_controller::runtime::{
    ApplicationController, ControllerMetrics, ControllerOptions, LeaderLease, RefreshRequests,
    Shard, StopSignal, run_as_leader,
};
use kedge_controller::runtime::{DIFF_COMMENT_MARKER, PullRequestRef, pull_request_comment};
use kedge_server::{JobError, JobKey, JobOutcome, JobRunner, PullRequestChange};
use kedge_webhook::{ImageEvent, repository_key};

/// How long the leader's Lease lasts without renewal; a replica that stops
/// renewing is replaced after at most this long.
const LEASE_DURATION: Duration = Duration::from_secs(15);

/// Flags of `kedge serve` for the controller.
#[derive(Debug, Clone, clap::Args)]
pub struct ControllerFlags {
    /// Also run the controller: keep the cluster's Applications synced (in-cluster credentials or $KUBECONFIG).
    #[arg(long)]
    pub controller: bool,

    /// Watch Applications in this namespace only (default: every namespace).
    #[arg(long, value_name = "NS", requires = "controller")]
    pub watch_namespace: Option<String>,

    /// Handle one shard of the Applications, INDEX/COUNT counting from 0 (each shard takes its own Lease).
    #[arg(long, value_name = "I/N", requires = "controller")]
    pub shard: Option<Shard>,

    /// Namespace of the leader Lease.
    #[arg(
        long,
        env = "POD_NAMESPACE",
        default_value = "kedge-system",
        requires = "controller"
    )]
    pub lease_namespace: String,

    /// Act at once without taking the Lease: for a single replica only.
    #[arg(long, requires = "controller")]
    pub no_leader_election: bool,

    /// Applications reconciled at once.
    #[arg(long, default_value_t = 8, requires = "controller")]
    pub concurrency: u16,

    /// Also take over from Argo CD Image Updater in place: update Argo CD Applications annotated with argocd-image-updater.argoproj.io/image-list, and ImageUpdaters, as their annotations and specs say (scale Argo CD Image Updater to zero first; docs/migration.md).
    #[arg(long, requires = "controller")]
    pub argocd_image_updater: bool,

    /// With --argocd-image-updater: registry settings (insecure, CA, credentials) as a YAML list in the form of an ImageUpdate's spec.registries.
    #[arg(long, value_name = "FILE", requires = "argocd_image_updater")]
    pub argocd_image_updater_registries: Option<PathBuf>,
}

/// Starts the controller on the current runtime: it acts while this
/// replica holds the Lease, until `shutdown` completes. Returns the refresh
/// requests webhooks feed, and the task to await on the way out.
pub async fn start(
    flags: &ControllerFlags,
    cache_dir: PathBuf,
    metrics: ControllerMetrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(RefreshRequests, tokio::task::JoinHandle<()>)> {
    let client = kube::Client::try_default()
        .await
        .context("--controller: no cluster credentials (in-cluster or $KUBECONFIG)")?;
    let namespace = flags.watch_namespace.clone();
    let refresh = RefreshRequests::start(client.clone(), namespace.as_deref());
    let mut options = ControllerOptions::new(cache_dir);
    options.concurrency = flags.concurrency;
    options.metrics = Some(metrics.clone());
    if let Some(shard) = flags.shard {
        options.shard = shard;
    }
    let lease = leader_lease(flags, &client, &options.identity);
    // ImageUpdates are few and write Git: the first shard runs them all.
    let image_updates = flags.shard.is_none_or(|shard| shard.index() == 0);
    let mut image_options = ImageUpdateOptions::new(options.cache_dir.clone());
    image_options.identity = options.identity.clone();
    let takeover = match flags.argocd_image_updater && image_updates {
        true => Some(takeover_options(flags, &client, image_options.clone()).await?),
        false => None,
    };
    let make = move |until: StopSignal| {
        let until = until.shared();
        let apps =
            ApplicationController::new(client.clone(), namespace.as_deref(), options.clone())
                .run(until.clone());
        let images = image_updates.then(|| {
            ImageUpdateController::new(client.clone(), namespace.as_deref(), image_options.clone())
                .run(until.clone())
        });
        let takeover = takeover.clone().map(|takeover| {
            ArgoCdTakeover::new(client.clone(), namespace.as_deref(), takeover).run(until)
        });
        let metrics = metrics.clone();
        async move {
            metrics.set_leader(true);
            tokio::join!(apps, run_if(images), run_if(takeover));
            metrics.set_leader(false);
        }
    };
    let task = tokio::spawn(async move {
        match lease {
            Some(lease) => run_as_leader(&lease, shutdown, make).await,
            None => make(StopSignal::after(shutdown)).await,
        }
    });
    Ok((refresh, task))
}

/// The leader Lease of this replica's shard; none with `--no-leader-election`.
fn leader_lease(
    flags: &ControllerFlags,
    client: &kube::Client,
    identity: &str,
) -> Option<LeaderLease> {
    let lease_name = match flags.shard {
        Some(shard) => format!("kedge-controller-shard-{shard}").replace('/', "-of-"),
        None => "kedge-controller".to_owned(),
    };
    (!flags.no_leader_election).then(|| {
        LeaderLease::new(
            client.clone(),
            &flags.lease_namespace,
            &lease_name,
            identity.to_owned(),
            LEASE_DURATION,
        )
    })
}

/// Runs `controller`, when there is one.
async fn run_if(controller: Option<impl Future<Output = ()>>) {
    if let Some(controller) = controller {
        controller.await;
    }
}

/// What `--argocd-image-updater` runs: Applications always, ImageUpdaters
/// when their CRD is installed, with the registries of
/// `--argocd-image-updater-registries`.
async fn takeover_options(
    flags: &ControllerFlags,
    client: &kube::Client,
    image_options: ImageUpdateOptions,
) -> anyhow::Result<ArgoCdTakeoverOptions> {
    let mut options = ArgoCdTakeoverOptions::new(image_options);
    if let Some(path) = &flags.argocd_image_updater_registries {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--argocd-image-updater-registries {}", path.display()))?;
        options.registries = serde_saphyr::from_str(&text).with_context(|| {
            format!(
                "--argocd-image-updater-registries {}: expected a list of spec.registries entries",
                path.display()
            )
        })?;
    }
    let updaters: kube::Api<kube::api::DynamicObject> =
        kube::Api::all_with(client.clone(), &argocd::image_updater_resource());
    match updaters
        .list(&kube::api::ListParams::default().limit(1))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {
            tracing::info!("no ImageUpdater CRD: taking over annotated Applications only");
            options.image_updaters = false;
        }
        Err(error) => return Err(error).context("--argocd-image-updater: listing ImageUpdaters"),
    }
    tracing::info!(
        image_updaters = options.image_updaters,
        "taking over from Argo CD Image Updater"
    );
    Ok(options)
}

/// The jobs of `kedge serve --controller`: pushes ask the Applications of
/// the pushed repository to refresh; opened and updated pull requests get
/// a comment with what they would change; `kedge.yaml`'s image jobs, when
/// there is one, run as in plain `kedge serve`.
pub struct ControllerRunner {
    update: Option<ConfiguredUpdate>,
    refresh: RefreshRequests,
    comments: Option<CommentSettings>,
}

/// Where pull request comments go: `$KEDGE_GITHUB_TOKEN`, and
/// `$KEDGE_GITHUB_API_URL` for GitHub Enterprise Server.
pub struct CommentSettings {
    token: String,
    api_url: String,
    cache_dir: PathBuf,
}

impl CommentSettings {
    /// From the environment; `None` without a token (no comments, said once
    /// at start).
    pub fn from_env(cache_dir: PathBuf) -> Option<Self> {
        let Some(token) = std::env::var("KEDGE_GITHUB_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
        else {
            tracing::info!("no $KEDGE_GITHUB_TOKEN: pull requests get no rendered-diff comment");
            return None;
        };
        let api_url = std::env::var("KEDGE_GITHUB_API_URL")
            .unwrap_or_else(|_| kedge::forge::DEFAULT_API_URL.to_owned());
        Some(Self {
            token,
            api_url,
            cache_dir,
        })
    }

    fn github(&self, repository: &str) -> Result<GitHub, JobError> {
        let (owner, repo) = repository
            .split_once('/')
            .ok_or_else(|| JobError::new(format!("{repository:?} is not owner/name")))?;
        let mut config = GitHubConfig::new(owner, repo, GitHubAuth::Token(self.token.clone()));
        config.api_url = self.api_url.clone();
        GitHub::new(config).map_err(JobError::new)
    }
}

/// `kedge.yaml`'s update flow and the repository and branch it writes.
pub struct ConfiguredUpdate {
    runner: UpdateRunner,
    repository: String,
    branch: String,
}

impl ConfiguredUpdate {
    /// The update flow of `kedge.yaml`, writing `url`'s `branch`.
    pub fn new(runner: UpdateRunner, url: &str, branch: &str) -> Self {
        Self {
            runner,
            repository: repository_key(url),
            branch: branch.to_owned(),
        }
    }
}

impl ControllerRunner {
    /// A runner for `refresh`, for `update` when there is a `kedge.yaml`,
    /// commenting on pull requests with `comments`.
    pub fn new(
        refresh: RefreshRequests,
        update: Option<ConfiguredUpdate>,
        comments: Option<CommentSettings>,
    ) -> Self {
        Self {
            update,
            refresh,
            comments,
        }
    }
}

impl JobRunner for ControllerRunner {
    async fn update_image(
        &self,
        alias: &str,
        hint: Option<ImageEvent>,
    ) -> Result<JobOutcome, JobError> {
        match &self.update {
            Some(update) => update.runner.update_image(alias, hint).await,
            None => Err(JobError::new(format!(
                "image {alias}: no kedge.yaml images to update"
            ))),
        }
    }

    async fn refresh_repository(
        &self,
        repo: &str,
        branch: &str,
        changed_paths: &[String],
    ) -> Result<JobOutcome, JobError> {
        let asked = self
            .refresh
            .repository_changed(repo, branch, changed_paths)
            .await
            .map_err(|e| JobError::new(format!("asking Applications of {repo} to refresh: {e}")))?;
        tracing::info!(repo, branch, applications = asked, "refresh requested");
        let mut outcome = if asked > 0 {
            JobOutcome::Changed
        } else {
            JobOutcome::Unchanged
        };
        if let Some(update) = &self.update
            && update.repository == repository_key(repo)
            && update.branch == branch
            && update
                .runner
                .refresh_repository(repo, branch, changed_paths)
                .await?
                == JobOutcome::Changed
        {
            outcome = JobOutcome::Changed;
        }
        Ok(outcome)
    }

    async fn image_pushed(
        &self,
        image: &str,
        _hint: Option<ImageEvent>,
    ) -> Result<JobOutcome, JobError> {
        let asked = self.refresh.image_pushed(image).await.map_err(|e| {
            JobError::new(format!("asking ImageUpdates of {image} to refresh: {e}"))
        })?;
        tracing::info!(image, image_updates = asked, "refresh requested");
        Ok(if asked > 0 {
            JobOutcome::Changed
        } else {
            JobOutcome::Unchanged
        })
    }

    async fn pull_request_changed(
        &self,
        change: &PullRequestChange,
    ) -> Result<JobOutcome, JobError> {
        let Some(comments) = &self.comments else {
            return Ok(JobOutcome::Unchanged);
        };
        let apps = self.refresh.applications_of(&change.repo);
        let pull_request = PullRequestRef::new(
            change.number,
            &change.base_branch,
            &change.base_sha,
            &change.head_sha,
        );
        let comment = pull_request_comment(apps, &pull_request, comments.cache_dir.clone())
            .await
            .map_err(|e| JobError::new(format!("{}#{}: {e}", change.repo, change.number)))?;
        let Some(comment) = comment else {
            return Ok(JobOutcome::Unchanged);
        };
        let action = comments
            .github(&change.repo)?
            .upsert_comment(change.number, DIFF_COMMENT_MARKER, &comment)
            .await
            .map_err(JobError::new)?;
        Ok(if action == CommentAction::Unchanged {
            JobOutcome::Unchanged
        } else {
            JobOutcome::Changed
        })
    }

    fn repository(&self, job: &JobKey) -> String {
        match (job, &self.update) {
            (JobKey::Refresh { repo, .. }, _) => repository_key(repo),
            (JobKey::PullRequest(change), _) => repository_key(&change.repo),
            (JobKey::ImagePushed(image), _) => image.clone(),
            (_, Some(update)) => update.runner.repository(job),
            (_, None) => String::new(),
        }
    }

    fn busy_for(&self) -> Option<Duration> {
        self.update
            .as_ref()
            .and_then(|update| update.runner.busy_for())
    }
}
