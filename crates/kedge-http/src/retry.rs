//! The one retry policy of kedge's HTTP clients: how many times a request is
//! sent again, how long kedge waits before each resend, and what it does
//! with a wait the server asks for.
//!
//! The doubling, the cap and the count of retries are [`backon`]'s
//! exponential backoff, the one kube-runtime's watcher uses; this module adds
//! what an HTTP client needs on top: jitter that never passes the cap, an
//! attempt count for error messages, and a server's wait (`Retry-After`, a
//! rate-limit reset) that replaces the computed one. Sleeping is the caller's: a client may have more to do with
//! a wait, such as holding back every request to the same host.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;

/// How one kind of request is retried: attempts, the first wait, the cap,
/// the jitter, and the rule for a server's wait.
///
/// The wait before the n-th retry is `first_wait` doubled n - 1 times, held
/// to `max_wait`, then spread by `jitter`. A wait the server names replaces
/// it, as [`LongServerWait`] says. Built with [`RetryPolicy::default`] and its
/// setters:
///
/// ```
/// use std::time::Duration;
/// use kedge_http::{Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::default()
///     .max_retries(3)
///     .first_wait(Duration::from_secs(1))
///     .max_wait(Duration::from_secs(300))
///     .jitter(Jitter::Off);
/// let mut retries = policy.start();
/// assert_eq!(retries.next_wait(None), Ok(Duration::from_secs(1)));
/// assert_eq!(retries.next_wait(None), Ok(Duration::from_secs(2)));
/// assert_eq!(retries.attempt(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 sends a request once.
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each retry after it.
    pub first_wait: Duration,
    /// Longest wait before a retry: the doubling stops here, and a server's
    /// longer wait is shortened to it or ends the retries ([`LongServerWait`]).
    pub max_wait: Duration,
    /// How computed waits are spread; a server's wait is never spread.
    /// Computed waits are whole milliseconds.
    pub jitter: Jitter,
    /// What a server's wait beyond `max_wait` does.
    pub long_server_wait: LongServerWait,
}

impl Default for RetryPolicy {
    /// Four retries, 250 ms doubling up to one minute, spread between half
    /// and all of each wait, a server's longer wait shortened to the minute.
    fn default() -> Self {
        Self {
            max_retries: 4,
            first_wait: Duration::from_millis(250),
            max_wait: Duration::from_secs(60),
            jitter: Jitter::HalfToWhole,
            long_server_wait: LongServerWait::Shorten,
        }
    }
}

/// How the computed waits of a [`RetryPolicy`] are spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly the doubled wait.
    Off,
    /// A random wait from half to all of the doubled wait, so that clients
    /// that failed together do not all come back at the same moment.
    HalfToWhole,
}

/// What a server's wait longer than [`RetryPolicy::max_wait`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LongServerWait {
    /// Wait `max_wait`, then retry: a registry that asks for an hour is tried
    /// again within the cap.
    Shorten,
    /// Retry no more ([`GiveUp::WaitTooLong`]): blocking longer would stall
    /// what the request is part of, and an early retry would be refused again.
    GiveUp,
}

/// Why a request is not sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUp {
    /// The policy's retries are used up.
    RetriesUsed,
    /// The server asked for a wait longer than the policy's `max_wait`, and
    /// the policy gives up on such waits.
    WaitTooLong {
        /// The wait the server asked for.
        asked: Duration,
    },
}

impl RetryPolicy {
    /// The same policy with `max_retries` retries after the first attempt.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The same policy waiting `first_wait` before the first retry.
    pub fn first_wait(mut self, first_wait: Duration) -> Self {
        self.first_wait = first_wait;
        self
    }

    /// The same policy waiting at most `max_wait` before a retry.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The same policy spreading its waits as `jitter` says.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same policy treating a server's wait beyond `max_wait` as `rule` says.
    pub fn long_server_wait(mut self, rule: LongServerWait) -> Self {
        self.long_server_wait = rule;
        self
    }

    /// The retries of one request, before its first attempt.
    pub fn start(&self) -> Retries {
        let doubling = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(self.first_wait.min(self.max_wait))
            .with_max_delay(self.max_wait)
            .with_max_times(usize::try_from(self.max_retries).unwrap_or(usize::MAX))
            .build();
        Retries {
            policy: *self,
            doubling,
            attempt: 1,
        }
    }
}

impl Jitter {
    /// `wait`, spread as this jitter says.
    fn spread(self, wait: Duration) -> Duration {
        match self {
            Jitter::Off => wait,
            Jitter::HalfToWhole => {
                let half = wait / 2;
                half + rand::rng().random_range(Duration::ZERO..=wait - half)
            }
        }
    }
}

/// `wait` to the nearest whole millisecond. backon doubles in `f32`, which
/// makes 100 ms doubled twice 400.000006 ms; the rounding gives back 400 ms.
fn whole_millis(wait: Duration) -> Duration {
    let millis = (wait.as_nanos() + 500_000) / 1_000_000;
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// One request's way through a [`RetryPolicy`]: which attempt it is on,
/// and how long to wait before the next.
#[derive(Debug)]
pub struct Retries {
    policy: RetryPolicy,
    /// backon's doubling, capped at `max_wait`, ending after `max_retries`.
    doubling: <ExponentialBuilder as BackoffBuilder>::Backoff,
    attempt: u32,
}

impl Retries {
    /// The attempt being sent or just answered, counting from 1; once the
    /// retries are used up, how many attempts were made.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// After the current attempt failed in a way worth retrying, how long to
    /// wait before the next one; `server_wait` is what the server asked for
    /// (`Retry-After`, a rate-limit reset), if anything.
    ///
    /// A server's wait wins over the computed one, shortened to `max_wait`
    /// or refused as the policy's [`LongServerWait`] says. A wait granted
    /// uses a retry and doubles the next computed wait, whoever named it; a
    /// refused one uses nothing. An answer of `Ok` moves on to the next attempt.
    pub fn next_wait(&mut self, server_wait: Option<Duration>) -> Result<Duration, GiveUp> {
        let cap = self.policy.max_wait;
        let server_wait = match server_wait {
            Some(asked) if asked > cap => match self.policy.long_server_wait {
                LongServerWait::Shorten => Some(cap),
                LongServerWait::GiveUp => return Err(GiveUp::WaitTooLong { asked }),
            },
            other => other,
        };
        let doubled = self.doubling.next().ok_or(GiveUp::RetriesUsed)?;
        let wait = server_wait
            .unwrap_or_else(|| self.policy.jitter.spread(whole_millis(doubled).min(cap)));
        self.attempt += 1;
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    /// Every wait `policy` grants when nothing names a wait, until it gives up.
    fn computed_waits(policy: RetryPolicy) -> Vec<Duration> {
        let mut retries = policy.start();
        std::iter::from_fn(|| retries.next_wait(None).ok()).collect()
    }

    fn exact(max_retries: u32, first_ms: u64, max_ms: u64) -> RetryPolicy {
        RetryPolicy::default()
            .max_retries(max_retries)
            .first_wait(ms(first_ms))
            .max_wait(ms(max_ms))
            .jitter(Jitter::Off)
    }

    #[test]
    fn waits_double_until_the_cap_and_stop_after_the_retries() {
        let cases: &[(RetryPolicy, &[u64])] = &[
            // The forge's default: 1 s doubling, cap 300 s, three retries.
            (exact(3, 1000, 300_000), &[1000, 2000, 4000]),
            (exact(6, 250, 3000), &[250, 500, 1000, 2000, 3000, 3000]),
            // The cap is reached exactly, then held.
            (exact(4, 500, 2000), &[500, 1000, 2000, 2000]),
            // A first wait beyond the cap is held to it.
            (exact(2, 5000, 1000), &[1000, 1000]),
            (exact(0, 250, 1000), &[]),
            (exact(3, 0, 1000), &[0, 0, 0]),
        ];
        for (policy, expected_ms) in cases {
            let expected: Vec<Duration> = expected_ms.iter().map(|millis| ms(*millis)).collect();
            assert_eq!(computed_waits(*policy), expected, "{policy:?}");
        }
    }

    #[test]
    fn jitter_keeps_each_wait_between_half_and_all_of_it() {
        let policy = RetryPolicy::default()
            .max_retries(7)
            .first_wait(ms(400))
            .max_wait(ms(10_000))
            .jitter(Jitter::HalfToWhole);
        let nominal_ms = [400, 800, 1600, 3200, 6400, 10_000, 10_000];
        let mut spread = vec![Vec::new(); nominal_ms.len()];
        for _ in 0..200 {
            let waits = computed_waits(policy);
            assert_eq!(waits.len(), nominal_ms.len());
            for ((wait, nominal), seen) in waits.into_iter().zip(nominal_ms).zip(&mut spread) {
                let whole = ms(nominal);
                assert!(
                    wait >= whole / 2 && wait <= whole,
                    "{wait:?} is not between half and all of {whole:?}"
                );
                seen.push(wait);
            }
        }
        for (seen, nominal) in spread.iter().zip(nominal_ms) {
            let (low, high) = (seen.iter().min(), seen.iter().max());
            // 200 draws that never leave one quarter of the range are not random.
            let whole = ms(nominal);
            assert!(
                low < Some(&(whole * 5 / 8)) && high > Some(&(whole * 7 / 8)),
                "waits for {whole:?} stayed within {low:?}..{high:?}"
            );
        }
    }

    #[test]
    fn a_server_wait_wins_and_is_held_to_the_cap() {
        let shorten = exact(5, 100, 2000);
        let give_up = shorten.long_server_wait(LongServerWait::GiveUp);
        // (policy, server's wait, what kedge does)
        let cases: &[(RetryPolicy, u64, Result<u64, GiveUp>)] = &[
            (shorten, 1500, Ok(1500)),
            // Shorter than the computed 100 ms: the server still wins.
            (shorten, 0, Ok(0)),
            (shorten, 2000, Ok(2000)),
            (shorten, 3_600_000, Ok(2000)),
            (give_up, 1500, Ok(1500)),
            (give_up, 2000, Ok(2000)),
            (give_up, 2001, Err(GiveUp::WaitTooLong { asked: ms(2001) })),
        ];
        for (policy, asked_ms, expected) in cases {
            let mut retries = policy.start();
            let expected = expected.map(ms);
            assert_eq!(
                retries.next_wait(Some(ms(*asked_ms))),
                expected,
                "{policy:?} asked {asked_ms} ms"
            );
            let attempt = if expected.is_ok() { 2 } else { 1 };
            assert_eq!(retries.attempt(), attempt, "{policy:?} asked {asked_ms} ms");
        }
    }

    #[test]
    fn a_server_wait_uses_a_retry_and_a_doubling() {
        let mut retries = exact(3, 100, 10_000).start();
        assert_eq!(retries.next_wait(None), Ok(ms(100)));
        assert_eq!(retries.next_wait(Some(ms(7))), Ok(ms(7)));
        assert_eq!(retries.next_wait(None), Ok(ms(400)));
        assert_eq!(retries.next_wait(Some(ms(7))), Err(GiveUp::RetriesUsed));
        assert_eq!(retries.attempt(), 4);
    }

    #[test]
    fn a_refused_server_wait_uses_no_retry() {
        let policy = exact(2, 100, 1000).long_server_wait(LongServerWait::GiveUp);
        let mut retries = policy.start();
        let too_long = Err(GiveUp::WaitTooLong { asked: ms(1001) });
        assert_eq!(retries.next_wait(Some(ms(1001))), too_long);
        assert_eq!(retries.attempt(), 1);
        assert_eq!(retries.next_wait(None), Ok(ms(100)));
        assert_eq!(retries.next_wait(None), Ok(ms(200)));
        assert_eq!(retries.next_wait(None), Err(GiveUp::RetriesUsed));
    }

    #[test]
    fn attempts_count_every_send_and_stop_at_the_retries_plus_one() {
        for max_retries in [0, 1, 4] {
            let mut retries = exact(max_retries, 1, 1).start();
            assert_eq!(retries.attempt(), 1);
            for attempt in 2..=max_retries + 1 {
                assert!(retries.next_wait(None).is_ok());
                assert_eq!(retries.attempt(), attempt);
            }
            assert_eq!(retries.next_wait(None), Err(GiveUp::RetriesUsed));
            assert_eq!(retries.next_wait(None), Err(GiveUp::RetriesUsed));
            assert_eq!(retries.attempt(), max_retries + 1, "{max_retries} retries");
        }
    }
}
