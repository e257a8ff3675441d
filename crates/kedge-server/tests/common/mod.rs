//! Shared by the server's end-to-end tests: a recording [`JobRunner`] (the seam
//! the server calls through), a server on port 0, and fixture helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kedge_server::{ImageEvent, JobError, JobKey, JobOutcome, JobRunner, Server, ServerConfig};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// One call the server made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Update {
        alias: String,
        hint: Option<ImageEvent>,
    },
    Refresh {
        repo: String,
        branch: String,
    },
}

/// Records every call; each call can be made to take a while.
#[derive(Default)]
pub struct RecordingRunner {
    calls: Mutex<Vec<Call>>,
    called: Notify,
    pub delay: Mutex<Duration>,
    running: Mutex<usize>,
    pub max_parallel_same_key: Mutex<usize>,
    /// Each call also blocks a worker thread this long (a hung git fetch).
    pub blocking: Mutex<Duration>,
    /// The repository each alias writes; an alias not named writes its own.
    pub repositories: Mutex<std::collections::HashMap<String, String>>,
    /// The most calls writing one repository at once.
    pub max_parallel_same_repository: Mutex<usize>,
    running_per_repository: Mutex<std::collections::HashMap<String, usize>>,
    /// The changed paths each refresh was given, in call order.
    pub changed_paths: Mutex<Vec<Vec<String>>>,
    blocking_since: Arc<Mutex<Option<std::time::Instant>>>,
}

impl RecordingRunner {
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn update_aliases(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Update { alias, .. } => Some(alias),
                Call::Refresh { .. } => None,
            })
            .collect()
    }

    /// Waits until at least `n` calls were made, or `timeout` passes.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.called.notified();
            if self.calls.lock().unwrap().len() >= n {
                return self.calls();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.calls();
            }
        }
    }

    fn repository_of(&self, call: &Call) -> String {
        match call {
            Call::Update { alias, .. } => (self.repositories.lock().unwrap().get(alias))
                .cloned()
                .unwrap_or_else(|| alias.clone()),
            Call::Refresh { repo, .. } => repo.clone(),
        }
    }

    async fn record(&self, call: Call) -> Result<JobOutcome, JobError> {
        let repository = self.repository_of(&call);
        {
            let mut per_repository = self.running_per_repository.lock().unwrap();
            let running = per_repository.entry(repository.clone()).or_default();
            *running += 1;
            let mut max = self.max_parallel_same_repository.lock().unwrap();
            *max = (*max).max(*running);
        }
        {
            let mut running = self.running.lock().unwrap();
            *running += 1;
            let mut max = self.max_parallel_same_key.lock().unwrap();
            *max = (*max).max(*running);
        }
        self.calls.lock().unwrap().push(call);
        self.called.notify_waiters();
        let blocking = *self.blocking.lock().unwrap();
        if !blocking.is_zero() {
            let since = Arc::clone(&self.blocking_since);
            let _ = tokio::task::spawn_blocking(move || {
                *since.lock().unwrap() = Some(std::time::Instant::now());
                std::thread::sleep(blocking);
                *since.lock().unwrap() = None;
            })
            .await;
        }
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        *self.running.lock().unwrap() -= 1;
        *(self.running_per_repository.lock().unwrap())
            .get_mut(&repository)
            .unwrap() -= 1;
        Ok(JobOutcome::Changed)
    }
}

impl JobRunner for RecordingRunner {
    async fn update_image(
        &self,
        alias: &str,
        hint: Option<ImageEvent>,
    ) -> Result<JobOutcome, JobError> {
        self.record(Call::Update {
            alias: alias.to_owned(),
            hint,
        })
        .await
    }

    async fn refresh_repository(
        &self,
        repo: &str,
        branch: &str,
        changed_paths: &[String],
    ) -> Result<JobOutcome, JobError> {
        self.changed_paths
            .lock()
            .unwrap()
            .push(changed_paths.to_vec());
        self.record(Call::Refresh {
            repo: repo.to_owned(),
            branch: branch.to_owned(),
        })
        .await
    }

    fn repository(&self, job: &JobKey) -> String {
        let call = match job {
            JobKey::Update(alias) => Call::Update {
                alias: alias.clone(),
                hint: None,
            },
            JobKey::Refresh { repo, branch } => Call::Refresh {
                repo: repo.clone(),
                branch: branch.clone(),
            },
            _ => return String::new(),
        };
        self.repository_of(&call)
    }

    fn busy_for(&self) -> Option<Duration> {
        self.blocking_since.lock().unwrap().map(|t| t.elapsed())
    }
}

/// A server on 127.0.0.1:0, stopped by [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    pub runner: Arc<RecordingRunner>,
    pub metrics: Arc<kedge_server::Metrics>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), kedge_server::ServerError>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends the shutdown signal and waits for the server to return.
    pub async fn stop(mut self) -> Result<(), kedge_server::ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.await.expect("server task")
    }
}

pub async fn start(config: ServerConfig) -> Running {
    start_with_runner(config, Arc::new(RecordingRunner::default())).await
}

pub async fn start_with_runner(config: ServerConfig, runner: Arc<RecordingRunner>) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(config, Arc::clone(&runner)).expect("valid config");
    let metrics = server.metrics();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        runner,
        metrics,
        stop: Some(stop),
        handle,
    }
}

/// Settings for fast tests: 100 ms debounce.
pub fn fast_queue() -> kedge_server::QueueSettings {
    kedge_server::QueueSettings {
        debounce: Duration::from_millis(100),
        shutdown_timeout: Duration::from_secs(5),
        ..kedge_server::QueueSettings::default()
    }
}

thread_local! {
    // Building a client loads TLS roots (tens of ms); each test thread builds one.
    static CLIENT: reqwest::Client = reqwest::Client::builder().build().unwrap();
}

/// The test thread's HTTP client.
pub fn client() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}
