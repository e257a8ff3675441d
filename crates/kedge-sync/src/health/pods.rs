//! Pod and PersistentVolumeClaim: judged by `status.phase`, and for a pod
//! also by what its containers are waiting for.

use serde_json::Value;

use super::{Health, HealthStatus, Live};

/// A Pod. A pod that restarts forever (`restartPolicy: Always`, the default)
/// is Degraded when a container waits for a reason that will not pass on its
/// own (`CrashLoopBackOff`, `ImagePullBackOff`, `ErrImagePull`,
/// `CreateContainerConfigError`…), Healthy once Ready, and Degraded when not
/// Ready after a container has terminated. A pod with `OnFailure` or `Never`
/// runs to completion (a hook), so it is Progressing until it succeeded or
/// failed, as Argo CD does, so that a hook does not fail a sync early.
pub(super) fn pod(live: &Live<'_>) -> Health {
    let restarts_forever = live
        .spec(&["restartPolicy"])
        .and_then(Value::as_str)
        .is_none_or(|policy| policy == "Always");
    let containers = container_statuses(live);
    if restarts_forever && let Some(stuck) = containers.iter().find_map(stuck_waiting) {
        return live.verdict(HealthStatus::Degraded, stuck);
    }
    let phase = live.status(&["phase"]).and_then(Value::as_str);
    let reported = || {
        live.status(&["message"])
            .and_then(Value::as_str)
            .filter(|message| !message.is_empty())
    };
    match phase {
        Some("Pending") => {
            let why = reported()
                .map(str::to_owned)
                .or_else(|| unscheduled(live))
                .unwrap_or_else(|| "containers are being created".to_owned());
            live.verdict(HealthStatus::Progressing, format_args!("pending: {why}"))
        }
        Some("Succeeded") => Health::healthy(),
        Some("Failed") => {
            let why = reported()
                .map(str::to_owned)
                .or_else(|| containers.iter().find_map(terminated_badly))
                .unwrap_or_else(|| "no reason reported".to_owned());
            live.verdict(HealthStatus::Degraded, format_args!("failed: {why}"))
        }
        Some("Running") if restarts_forever => running(live, &containers),
        Some("Running") => live.verdict(HealthStatus::Progressing, "running to completion"),
        Some(other) => live.verdict(HealthStatus::Unknown, format_args!("phase is {other}")),
        None => live.verdict(HealthStatus::Unknown, "reports no phase yet"),
    }
}

/// A running pod that restarts forever: Ready → Healthy; a container that
/// has terminated before → Degraded (it is crashing); otherwise starting.
fn running(live: &Live<'_>, containers: &[&Value]) -> Health {
    let ready = live.condition("Ready").is_some_and(|c| c.is_true());
    if ready {
        return Health::healthy();
    }
    let restarted = containers.iter().find(|container| {
        container
            .get("lastState")
            .and_then(|state| state.get("terminated"))
            .is_some()
    });
    if let Some(container) = restarted {
        let name = str_field(container, "name");
        let restarts = container
            .get("restartCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        return live.verdict(
            HealthStatus::Degraded,
            format_args!("container {name:?} is not ready after {restarts} restarts"),
        );
    }
    let not_ready: Vec<&str> = containers
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) != Some(true))
        .map(|c| str_field(c, "name"))
        .collect();
    let detail = if not_ready.is_empty() {
        "waiting for the Ready condition".to_owned()
    } else {
        format!(
            "waiting for containers to be ready: {}",
            not_ready.join(", ")
        )
    };
    live.verdict(HealthStatus::Progressing, detail)
}

/// Statuses of init containers, then of containers.
fn container_statuses<'a>(live: &Live<'a>) -> Vec<&'a Value> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|field| live.status(&[field]).and_then(Value::as_array))
        .flatten()
        .collect()
}

fn str_field<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("")
}

/// `container "app": CrashLoopBackOff: back-off 5m0s restarting…` when a
/// container waits for a reason that needs a change to clear: reasons that
/// start with `Err` or end in `Error` or `BackOff`.
fn stuck_waiting(container: &&Value) -> Option<String> {
    let waiting = container.get("state")?.get("waiting")?;
    let reason = str_field(waiting, "reason");
    let stuck =
        reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff");
    if !stuck {
        return None;
    }
    let name = str_field(container, "name");
    let message = str_field(waiting, "message");
    Some(if message.is_empty() {
        format!("container {name:?}: {reason}")
    } else {
        format!("container {name:?}: {reason}: {message}")
    })
}

/// Why a failed container stopped: its message, OOMKilled, or its exit code.
fn terminated_badly(container: &&Value) -> Option<String> {
    let terminated = container.get("state")?.get("terminated")?;
    let name = str_field(container, "name");
    let message = str_field(terminated, "message");
    let reason = str_field(terminated, "reason");
    let exit_code = terminated
        .get("exitCode")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if !message.is_empty() {
        Some(format!("container {name:?}: {}", message.trim_end()))
    } else if reason == "OOMKilled" {
        Some(format!("container {name:?} was OOMKilled"))
    } else if exit_code != 0 {
        Some(format!("container {name:?} exited with code {exit_code}"))
    } else {
        None
    }
}

/// The scheduler's reason, from a `PodScheduled=False` condition.
fn unscheduled(live: &Live<'_>) -> Option<String> {
    live.condition("PodScheduled")
        .filter(|condition| condition.is_false())
        .map(|condition| condition.to_string())
}

/// A PersistentVolumeClaim: Bound → Healthy, Pending → Progressing,
/// Lost (its volume is gone) → Degraded.
pub(super) fn persistent_volume_claim(live: &Live<'_>) -> Health {
    match live.status(&["phase"]).and_then(Value::as_str) {
        Some("Bound") => Health::healthy(),
        Some("Pending") => {
            let class = live
                .spec(&["storageClassName"])
                .and_then(Value::as_str)
                .map_or_else(String::new, |class| format!(" (storage class {class:?})"));
            live.verdict(
                HealthStatus::Progressing,
                format_args!("waiting for a volume to be bound{class}"),
            )
        }
        Some("Lost") => {
            let volume = live
                .spec(&["volumeName"])
                .and_then(Value::as_str)
                .unwrap_or("?");
            live.verdict(
                HealthStatus::Degraded,
                format_args!("its volume {volume:?} is lost; the data must be restored"),
            )
        }
        Some(other) => live.verdict(HealthStatus::Unknown, format_args!("phase is {other}")),
        None => live.verdict(HealthStatus::Unknown, "reports no phase yet"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{assess, tests::object};
    use super::*;

    fn pod(spec: &str, status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web-0}}\nspec: {spec}\nstatus: {status}"
        )))
    }

    #[test]
    fn a_pod_waiting_on_a_crash_loop_or_a_missing_image_is_degraded() {
        let crash = pod(
            "{containers: [{name: app, image: app:1}]}",
            "{phase: Running, containerStatuses: [{name: app, ready: false, restartCount: 4, \
             state: {waiting: {reason: CrashLoopBackOff, \
             message: 'back-off 1m20s restarting failed container=app pod=web-0'}}}]}",
        );
        assert_eq!(crash.status, HealthStatus::Degraded);
        assert_eq!(
            crash.message.as_deref(),
            Some(
                r#"Pod "web-0": container "app": CrashLoopBackOff: back-off 1m20s restarting failed container=app pod=web-0"#
            )
        );
        let pull = pod(
            "{containers: [{name: app, image: app:nope}]}",
            "{phase: Pending, initContainerStatuses: [{name: init, \
             state: {waiting: {reason: ImagePullBackOff}}}]}",
        );
        assert_eq!(pull.status, HealthStatus::Degraded);
        assert_eq!(
            pull.message.as_deref(),
            Some(r#"Pod "web-0": container "init": ImagePullBackOff"#)
        );
    }

    #[test]
    fn a_pod_that_runs_to_completion_is_not_failed_by_a_waiting_container() {
        let hook = pod(
            "{restartPolicy: Never}",
            "{phase: Pending, containerStatuses: [{name: app, state: {waiting: {reason: ImagePullBackOff}}}]}",
        );
        assert_eq!(hook.status, HealthStatus::Progressing);
        let running = pod("{restartPolicy: OnFailure}", "{phase: Running}");
        assert_eq!(
            running.message.as_deref(),
            Some(r#"Pod "web-0": running to completion"#)
        );
    }

    #[test]
    fn a_running_pod_is_healthy_when_ready_and_degraded_when_restarting() {
        let ready = pod(
            "{}",
            "{phase: Running, conditions: [{type: Ready, status: 'True'}]}",
        );
        assert_eq!(ready, Health::healthy());
        let restarting = pod(
            "{}",
            "{phase: Running, conditions: [{type: Ready, status: 'False'}], \
             containerStatuses: [{name: app, ready: false, restartCount: 3, \
             state: {running: {}}, lastState: {terminated: {exitCode: 1}}}]}",
        );
        assert_eq!(restarting.status, HealthStatus::Degraded);
        assert_eq!(
            restarting.message.as_deref(),
            Some(r#"Pod "web-0": container "app" is not ready after 3 restarts"#)
        );
        let starting = pod(
            "{}",
            "{phase: Running, containerStatuses: [{name: app, ready: false, state: {running: {}}}]}",
        );
        assert_eq!(
            starting.message.as_deref(),
            Some(r#"Pod "web-0": waiting for containers to be ready: app"#)
        );
    }

    #[test]
    fn a_pod_reports_why_it_is_pending_or_failed() {
        let pending = pod(
            "{}",
            "{phase: Pending, conditions: [{type: PodScheduled, status: 'False', \
             reason: Unschedulable, message: '0/3 nodes are available: 3 Insufficient cpu.'}]}",
        );
        assert_eq!(
            pending.message.as_deref(),
            Some(
                r#"Pod "web-0": pending: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu."#
            )
        );
        let failed = pod(
            "{restartPolicy: Never}",
            "{phase: Failed, containerStatuses: [{name: app, state: {terminated: {exitCode: 2}}}]}",
        );
        assert_eq!(failed.status, HealthStatus::Degraded);
        assert_eq!(
            failed.message.as_deref(),
            Some(r#"Pod "web-0": failed: container "app" exited with code 2"#)
        );
        let evicted = pod(
            "{}",
            "{phase: Failed, reason: Evicted, message: 'The node was low on resource: memory.'}",
        );
        assert_eq!(
            evicted.message.as_deref(),
            Some(r#"Pod "web-0": failed: The node was low on resource: memory."#)
        );
        let succeeded = pod("{restartPolicy: Never}", "{phase: Succeeded}");
        assert_eq!(succeeded, Health::healthy());
    }

    fn claim(status: &str) -> Health {
        assess(&object(&format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data}}\n\
             spec: {{storageClassName: fast, volumeName: pvc-1f2}}\nstatus: {status}"
        )))
    }

    #[test]
    fn a_claim_follows_its_phase() {
        assert_eq!(claim("{phase: Bound}"), Health::healthy());
        let pending = claim("{phase: Pending}");
        assert_eq!(pending.status, HealthStatus::Progressing);
        assert_eq!(
            pending.message.as_deref(),
            Some(
                r#"PersistentVolumeClaim "data": waiting for a volume to be bound (storage class "fast")"#
            )
        );
        let lost = claim("{phase: Lost}");
        assert_eq!(lost.status, HealthStatus::Degraded);
        assert_eq!(
            lost.message.as_deref(),
            Some(
                r#"PersistentVolumeClaim "data": its volume "pvc-1f2" is lost; the data must be restored"#
            )
        );
        assert_eq!(claim("{}").status, HealthStatus::Unknown);
    }
}
