//! The polling fallback: each tracked image is queued for an update on its own
//! interval, jittered ±10 % so images with the same interval do not poll in
//! step, through the same queue webhooks use. Webhooks make it rarely matter.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::queue::{JobHint, JobKey, QueueRejection, WorkQueue};

/// Starts one polling task per `(alias, interval)`; abort the handles to stop them.
pub(crate) fn start_polling(
    queue: &Arc<WorkQueue>,
    polls: &[(String, Duration)],
) -> Vec<JoinHandle<()>> {
    polls
        .iter()
        .map(|(alias, interval)| {
            let queue = Arc::clone(queue);
            let alias = alias.clone();
            let interval = *interval;
            tokio::spawn(async move { poll_image(queue, alias, interval).await })
        })
        .collect()
}

async fn poll_image(queue: Arc<WorkQueue>, alias: String, interval: Duration) {
    // The first poll lands anywhere in the first interval, spreading a fleet's start.
    let first = interval.mul_f64(rand::rng().random_range(0.0..1.0));
    tokio::time::sleep(first).await;
    loop {
        match queue.enqueue_all(vec![(JobKey::Update(alias.clone()), JobHint::None)]) {
            Ok(_) => debug!(image = %alias, "poll queued"),
            Err(QueueRejection::Full) => warn!(image = %alias, "queue full; poll skipped"),
            Err(QueueRejection::Closed) => return,
        }
        tokio::time::sleep(jittered(interval)).await;
    }
}

/// `interval` ± 10 %.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(0.9..1.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(100));
            assert!(
                d >= Duration::from_secs(90) && d <= Duration::from_secs(110),
                "{d:?}"
            );
        }
    }
}
