//! Job and CronJob: a Job is healthy once complete and degraded once failed;
//! a CronJob is judged by its last scheduled run.

use serde_json::Value;

use super::{Health, HealthStatus, Live};

/// A Job: `Failed` (or `FailureTarget`, set while its pods are being
/// terminated) → Degraded; `Complete` → Healthy; suspended → Suspended;
/// otherwise still running.
pub(super) fn job(live: &Live<'_>) -> Health {
    let conditions = live.conditions();
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|condition| condition.kind == kind && condition.is_true())
    };
    if let Some(failed) = holds("Failed").or_else(|| holds("FailureTarget")) {
        return live.verdict(HealthStatus::Degraded, format_args!("failed ({failed})"));
    }
    if holds("Complete").is_some() {
        return Health::healthy();
    }
    if holds("Suspended").is_some()
        || live.spec(&["suspend"]).and_then(Value::as_bool) == Some(true)
    {
        return live.verdict(HealthStatus::Suspended, "is suspended");
    }
    let active = live.status_count("active");
    let succeeded = live.status_count("succeeded");
    let failed = live.status_count("failed");
    let completions = live
        .spec(&["completions"])
        .and_then(Value::as_i64)
        .unwrap_or(1);
    live.verdict(
        HealthStatus::Progressing,
        format_args!(
            "running: {succeeded} of {completions} completions succeeded, {active} pods \
             active, {failed} failed"
        ),
    )
}

/// A CronJob: suspended → Suspended; Degraded when its last scheduled run
/// ended (no active Job) without succeeding, i.e. `status.lastSuccessfulTime`
/// is older than `status.lastScheduleTime`. A CronJob that never ran, is
/// running, or has no success recorded yet (clusters before 1.21 do not record
/// one) is Healthy: nothing says it failed.
pub(super) fn cron_job(live: &Live<'_>) -> Health {
    if live.spec(&["suspend"]).and_then(Value::as_bool) == Some(true) {
        return live.verdict(HealthStatus::Suspended, "is suspended");
    }
    let running = live
        .status(&["active"])
        .and_then(Value::as_array)
        .is_some_and(|jobs| !jobs.is_empty());
    let last_schedule = live.status(&["lastScheduleTime"]).and_then(Value::as_str);
    let last_success = live.status(&["lastSuccessfulTime"]).and_then(Value::as_str);
    match (last_schedule, last_success) {
        // Both are RFC 3339 times in UTC to the second as the API server
        // writes them, so they order as strings.
        (Some(scheduled), Some(succeeded)) if !running && succeeded < scheduled => live.verdict(
            HealthStatus::Degraded,
            format_args!(
                "the run scheduled at {scheduled} did not succeed (last success at {succeeded})"
            ),
        ),
        _ => Health::healthy(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{assess, tests::object};
    use super::*;

    fn job(spec: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: migrate}}\nspec: {spec}\nstatus: {status}"
        )))
    }

    #[test]
    fn a_job_is_healthy_when_complete_and_degraded_when_failed() {
        let complete = job(
            "{}",
            "{succeeded: 1, conditions: [{type: Complete, status: 'True'}]}",
        );
        assert_eq!(complete, Health::healthy());
        let failed = job(
            "{backoffLimit: 2}",
            "{failed: 3, conditions: [{type: Failed, status: 'True', reason: BackoffLimitExceeded, \
             message: Job has reached the specified backoff limit}]}",
        );
        assert_eq!(failed.status, HealthStatus::Degraded);
        assert_eq!(
            failed.message.as_deref(),
            Some(
                r#"Job "migrate": failed (BackoffLimitExceeded: Job has reached the specified backoff limit)"#
            )
        );
    }

    #[test]
    fn a_running_job_says_how_far_it_got() {
        let running = job("{completions: 3}", "{active: 1, succeeded: 2}");
        assert_eq!(running.status, HealthStatus::Progressing);
        assert_eq!(
            running.message.as_deref(),
            Some(
                r#"Job "migrate": running: 2 of 3 completions succeeded, 1 pods active, 0 failed"#
            )
        );
    }

    #[test]
    fn a_suspended_job_is_suspended() {
        let health = job(
            "{suspend: true}",
            "{conditions: [{type: Suspended, status: 'True', reason: JobSuspended}]}",
        );
        assert_eq!(health.status, HealthStatus::Suspended);
        assert_eq!(
            health.message.as_deref(),
            Some(r#"Job "migrate": is suspended"#)
        );
    }

    fn cron_job(spec: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: report}}\n\
             spec: {spec}\nstatus: {status}"
        )))
    }

    #[test]
    fn a_cron_job_whose_last_run_failed_is_degraded() {
        let health = cron_job(
            "{schedule: '0 * * * *'}",
            "{lastScheduleTime: '2025-07-30T14:00:00Z', lastSuccessfulTime: '2025-07-30T12:00:31Z'}",
        );
        assert_eq!(health.status, HealthStatus::Degraded);
        assert_eq!(
            health.message.as_deref(),
            Some(
                r#"CronJob "report": the run scheduled at 2025-07-30T14:00:00Z did not succeed (last success at 2025-07-30T12:00:31Z)"#
            )
        );
    }

    #[test]
    fn a_cron_job_that_succeeded_is_running_or_never_ran_is_healthy() {
        let statuses = [
            "{lastScheduleTime: '2025-07-30T14:00:00Z', lastSuccessfulTime: '2025-07-30T14:00:31Z'}",
            "{lastScheduleTime: '2025-07-30T14:00:00Z', lastSuccessfulTime: '2025-07-30T12:00:31Z', \
             active: [{kind: Job, name: report-29230}]}",
            "{lastScheduleTime: '2025-07-30T14:00:00Z'}",
            "{}",
        ];
        for status in statuses {
            assert_eq!(
                cron_job("{schedule: '0 * * * *'}", status),
                Health::healthy(),
                "{status}"
            );
        }
    }

    #[test]
    fn a_suspended_cron_job_is_suspended() {
        let health = cron_job("{schedule: '0 * * * *', suspend: true}", "{}");
        assert_eq!(health.status, HealthStatus::Suspended);
        assert_eq!(
            health.message.as_deref(),
            Some(r#"CronJob "report": is suspended"#)
        );
    }
}
