//! A `kubectl diff`-style unified diff of one object: the live object,
//! cleaned of server metadata and status, against the same object with the
//! drift applied (Git's fields set, fields apply would remove removed).

use std::cmp::Ordering;

use serde_json::Value;

use super::{Comparison, Drift, SyncStatus};
use crate::Object;
use crate::ignore::parse_pointer;

/// Fields of `metadata` the server writes.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "selfLink",
];

/// Annotations the server or kubectl writes.
const SERVER_ANNOTATIONS: &[&str] = &[
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// Lines of context around each change.
const CONTEXT_LINES: usize = 3;

/// A unified diff of one object, `kubectl diff` style, between the live
/// object and what it becomes once Git's fields are applied (headers name the
/// object: `--- live/apps/Deployment shop/web`, `+++ git/…`); empty when
/// nothing differs. A missing object diffs from nothing to Git's, an extra
/// one from live to nothing.
pub fn unified_diff(
    comparison: &Comparison,
    desired: Option<&Object>,
    live: Option<&Object>,
) -> String {
    let (before, after) = match (comparison.status, live) {
        (SyncStatus::InSync, _) => return String::new(),
        (SyncStatus::Extra, _) => (live.map(cleaned), None),
        (SyncStatus::OutOfSync, Some(live)) => (
            Some(cleaned(live)),
            Some(cleaned(&with_drift_applied(live, &comparison.drift))),
        ),
        (_, _) => (None, desired.map(cleaned)),
    };
    let before = before.as_ref().map(to_yaml).unwrap_or_default();
    let after = after.as_ref().map(to_yaml).unwrap_or_default();
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(
            &format!("live/{}", comparison.key),
            &format!("git/{}", comparison.key),
        )
        .to_string()
}

/// The object without `status`, server metadata and server annotations.
fn cleaned(object: &Object) -> Object {
    let mut object = object.clone();
    object.remove("status");
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        for field in SERVER_METADATA {
            metadata.remove(*field);
        }
        if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
            for annotation in SERVER_ANNOTATIONS {
                annotations.remove(*annotation);
            }
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    object
}

fn to_yaml(object: &Object) -> String {
    serde_saphyr::to_string(object)
        .or_else(|_| serde_json::to_string_pretty(object))
        .unwrap_or_default()
}

/// Live with every drift applied.
pub(crate) fn with_drift_applied(live: &Object, drift: &[Drift]) -> Object {
    match apply_drift(Value::Object(live.clone()), drift, 0) {
        Value::Object(object) => object,
        _ => live.clone(),
    }
}

/// `value` with every drift applied, each pointer read without its first
/// `prefix` tokens (the path to `value`): values set first (pointers name
/// live positions, which setting does not move), then removals from the last
/// position back, so earlier indices stay valid.
pub(crate) fn apply_drift(mut value: Value, drift: &[Drift], prefix: usize) -> Value {
    let mut removals = Vec::new();
    for change in drift {
        let Some(tokens) = parse_pointer(&change.pointer)
            .ok()
            .and_then(|tokens| tokens.get(prefix..).map(<[String]>::to_vec))
        else {
            continue;
        };
        match &change.desired {
            Some(desired) => set_at(&mut value, &tokens, desired.clone()),
            None => removals.push(tokens),
        }
    }
    removals.sort_by(|a, b| compare_tokens(b, a));
    for tokens in removals {
        remove_at(&mut value, &tokens);
    }
    value
}

fn set_at(target: &mut Value, tokens: &[String], value: Value) {
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let Some(parent) = parents.iter().try_fold(target, |at, token| step(at, token)) else {
        return;
    };
    match parent {
        Value::Object(map) => {
            map.insert(last.clone(), value);
        }
        Value::Array(items) if last == "-" => items.push(value),
        Value::Array(items) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|at| items.get_mut(at)) {
                *item = value;
            }
        }
        _ => {}
    }
}

pub(crate) fn remove_at(target: &mut Value, tokens: &[String]) {
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let Some(parent) = parents.iter().try_fold(target, |at, token| step(at, token)) else {
        return;
    };
    match parent {
        Value::Object(map) => {
            map.remove(last);
        }
        Value::Array(items) => {
            if let Some(at) = last.parse::<usize>().ok().filter(|at| *at < items.len()) {
                items.remove(at);
            }
        }
        _ => {}
    }
}

fn step<'v>(at: &'v mut Value, token: &str) -> Option<&'v mut Value> {
    match at {
        Value::Object(map) => map.get_mut(token),
        Value::Array(items) => items.get_mut(token.parse::<usize>().ok()?),
        _ => None,
    }
}

/// Orders pointers token by token, list positions as numbers.
fn compare_tokens(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<usize>(), y.parse::<usize>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}
