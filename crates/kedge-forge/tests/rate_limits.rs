//! GitHub's primary and secondary rate limits, played by the test GitHub:
//! kedge waits what GitHub asks, retries a bounded number of times, and gives
//! up at once when asked to wait longer than its policy allows.

mod common;

use std::time::{Duration, Instant};

use common::{spec, token_setup};
use kedge_forge::test_server::RateLimitAnswer;
use kedge_forge::{Forge, ForgeError, Operation};

#[tokio::test]
async fn secondary_limit_retry_after_is_waited_out() {
    let (server, github) = token_setup().await;
    server.rate_limit_next(
        1,
        RateLimitAnswer::Secondary {
            status: 403,
            retry_after: 1,
        },
    );

    let started = Instant::now();
    let pr = github
        .create_pull_request(&spec("kedge/app"))
        .await
        .unwrap();

    assert_eq!(pr.number, 1);
    let creates = server.requests_to("POST", "/repos/acme/deploy/pulls");
    assert_eq!(creates.len(), 2, "refused once, then sent again");
    assert!(creates[1].elapsed - creates[0].elapsed >= Duration::from_secs(1));
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.pull_requests().len(), 1);
}

#[tokio::test]
async fn primary_limit_waits_until_the_reset_time() {
    let (server, github) = token_setup().await;
    server.rate_limit_next(
        1,
        RateLimitAnswer::Primary {
            status: 429,
            reset_after: Duration::from_secs(1),
        },
    );

    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();

    let calls = server.requests();
    assert_eq!(calls.len(), 2);
    assert!(calls[1].elapsed - calls[0].elapsed >= Duration::from_secs(1));
}

#[tokio::test]
async fn secondary_limit_without_headers_uses_the_policy_wait() {
    let (server, github) = token_setup().await;
    server.rate_limit_next(1, RateLimitAnswer::SecondaryWithoutHeaders { status: 403 });

    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();

    let calls = server.requests();
    assert_eq!(calls.len(), 2);
    // quick_policy's secondary_wait is 200 ms.
    assert!(calls[1].elapsed - calls[0].elapsed >= Duration::from_millis(200));
}

#[tokio::test]
async fn retries_are_bounded() {
    let (server, github) = token_setup().await;
    server.rate_limit_next(
        10,
        RateLimitAnswer::Secondary {
            status: 429,
            retry_after: 0,
        },
    );

    let err = github.close_pull_request(3, "").await.unwrap_err();

    // quick_policy allows 2 retries: 3 requests in all, then the error.
    assert_eq!(server.requests().len(), 3);
    let ForgeError::RateLimited {
        operation,
        number,
        attempts,
        ..
    } = &err
    else {
        panic!("expected a rate-limit error, got {err:?}");
    };
    assert_eq!(
        (*operation, *number, *attempts),
        (Operation::ClosePullRequest, Some(3), 3)
    );
    assert!(err.is_rate_limited());
    assert!(
        err.to_string()
            .starts_with("GitHub acme/deploy: close pull request #3: rate limited"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wait_beyond_the_cap_fails_at_once() {
    let (server, github) = token_setup().await;
    server.rate_limit_next(
        1,
        RateLimitAnswer::Primary {
            status: 403,
            reset_after: Duration::from_secs(3600),
        },
    );

    let started = Instant::now();
    let err = github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "did not wait");
    assert_eq!(server.requests().len(), 1, "did not retry");
    assert!(err.to_string().contains("kedge waits at most 5s"), "{err}");
    assert!(err.to_string().contains("API rate limit exceeded"), "{err}");
}

#[tokio::test]
async fn lookups_are_sent_again_after_a_502() {
    let (server, github) = token_setup().await;
    server.fail_next(1, 502);

    github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap();

    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn lookups_back_off_longer_each_time_then_report_the_status() {
    let (server, github) = token_setup().await;
    server.fail_next(3, 503);

    let err = github
        .find_open_pull_request("kedge/app", "main")
        .await
        .unwrap_err();

    // quick_policy: 2 retries, 100 ms doubling.
    assert!(
        matches!(err, ForgeError::Status { status: 503, .. }),
        "{err:?}"
    );
    let calls = server.requests();
    assert_eq!(calls.len(), 3);
    let gaps = [
        calls[1].elapsed - calls[0].elapsed,
        calls[2].elapsed - calls[1].elapsed,
    ];
    assert!(
        gaps[0] >= Duration::from_millis(100) && gaps[1] >= Duration::from_millis(200),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn create_is_not_sent_twice_after_a_503() {
    let (server, github) = token_setup().await;
    server.fail_next(1, 503);

    let err = github
        .create_pull_request(&spec("kedge/app"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ForgeError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(server.pull_requests().is_empty());
}
