//! The walk over desired and live that finds drift.
//!
//! Desired is walked field by field against live: a field Git sets must
//! match; a live field Git does not set is drift only when kedge's applied
//! fields hold it and no other manager does (apply would remove it). Lists
//! are merged by their keys (from `managedFields`, else by `name`,
//! `containerPort` or `port`), as sets, or compared whole.

use serde_json::{Map, Value};

use super::Drift;
use super::diff::apply_drift;
use super::fields::{Members, key_field};
use super::quantity::{is_quantity_path, same_quantity};
use crate::ignore::pointer_from_tokens;

/// Fields of `metadata` the server sets, plus the object's identity.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Top-level fields that are not compared (`apiVersion` and `kind` are the
/// identity, checked by the caller; `status` is the server's).
const NOT_COMPARED: &[&str] = &["apiVersion", "kind", "status"];

/// How two values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// Equal once normalised.
    Equal,
    /// Different.
    Differs,
    /// Only the server can tell (a quantity it would round, a number given
    /// for a string).
    Undecided,
}

/// How a list merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// A map keyed by these fields of its items.
    Keyed(Vec<String>),
    /// A set of values.
    Set,
    /// Replaced whole; `certain` when `managedFields` says so.
    Atomic { certain: bool },
}

/// The state of one walk.
pub(crate) struct Walk<'a> {
    ignored_pointers: &'a [Vec<String>],
    path: Vec<String>,
    /// The fields that differ.
    pub(crate) drift: Vec<Drift>,
    /// True when some value could only be compared by the server.
    pub(crate) undecided: bool,
}

impl<'a> Walk<'a> {
    /// A walk that skips fields at or under `ignored_pointers`.
    pub(crate) fn new(ignored_pointers: &'a [Vec<String>]) -> Self {
        Walk {
            ignored_pointers,
            path: Vec::new(),
            drift: Vec::new(),
            undecided: false,
        }
    }

    /// Compares two objects.
    pub(crate) fn object(
        &mut self,
        desired: &Map<String, Value>,
        live: &Map<String, Value>,
        members: Members<'_>,
    ) {
        self.map(desired, live, members);
    }

    fn value(&mut self, desired: &Value, live: &Value, members: Members<'_>) {
        if self.skipped(members) {
            return;
        }
        match (desired, live) {
            (Value::Object(desired), Value::Object(live)) => self.map(desired, live, members),
            (Value::Array(desired), Value::Array(live)) => self.list(desired, live, members),
            _ => match matches(desired, live, &mut self.path) {
                Match::Equal => {}
                Match::Differs => self.differs(Some(desired), Some(live)),
                Match::Undecided => {
                    self.undecided = true;
                    self.differs(Some(desired), Some(live));
                }
            },
        }
    }

    fn map(
        &mut self,
        desired: &Map<String, Value>,
        live: &Map<String, Value>,
        members: Members<'_>,
    ) {
        for (name, desired_value) in desired {
            if desired_value.is_null() || self.not_compared(name) {
                continue;
            }
            self.path.push(name.clone());
            let field = members.field(name);
            match live.get(name).filter(|value| !value.is_null()) {
                Some(live_value) => self.value(desired_value, live_value, field),
                None if is_empty_container(desired_value) || self.skipped(field) => {}
                None => self.differs(Some(desired_value), None),
            }
            self.path.pop();
        }
        for (name, live_value) in live {
            let set_by_git = desired.get(name).is_some_and(|value| !value.is_null());
            if set_by_git || self.not_compared(name) {
                continue;
            }
            self.path.push(name.clone());
            self.removed(live_value, members.field(name));
            self.path.pop();
        }
    }

    /// A live field Git does not set: drift where kedge alone owns it.
    fn removed(&mut self, live: &Value, members: Members<'_>) {
        let Some(applied) = members.applied else {
            return;
        };
        if self.skipped(members) {
            return;
        }
        if members.others.is_none() {
            self.differs(None, Some(live));
            return;
        }
        match live {
            Value::Object(map) => {
                for (name, value) in map {
                    if applied.field(name).is_some() {
                        self.path.push(name.clone());
                        self.removed(value, members.field(name));
                        self.path.pop();
                    }
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.path.push(index.to_string());
                    self.removed(item, members.item(item, index));
                    self.path.pop();
                }
            }
            // Shared with another manager: apply leaves it.
            _ => {}
        }
    }

    fn list(&mut self, desired: &[Value], live: &[Value], members: Members<'_>) {
        match list_kind(desired, live, members) {
            ListKind::Keyed(keys) => match item_keys(desired, &keys) {
                Some(desired_keys) => self.keyed_list(desired, &desired_keys, live, &keys, members),
                None => self.atomic_list(desired, live, false),
            },
            ListKind::Set => self.set_list(desired, live, members),
            ListKind::Atomic { certain } => self.atomic_list(desired, live, certain),
        }
    }

    fn keyed_list(
        &mut self,
        desired: &[Value],
        desired_keys: &[Vec<Value>],
        live: &[Value],
        keys: &[String],
        members: Members<'_>,
    ) {
        let mut matched = vec![false; live.len()];
        let found: Vec<Option<usize>> = desired_keys
            .iter()
            .map(|key| {
                let index = (0..live.len()).find(|&index| {
                    !matched[index] && item_key(&live[index], keys).as_ref() == Some(key)
                })?;
                matched[index] = true;
                Some(index)
            })
            .collect();
        let positions: Vec<usize> = found.iter().flatten().copied().collect();
        if positions.windows(2).any(|pair| pair[0] > pair[1]) {
            // Apply puts Git's items in Git's order: the list changes as a whole.
            let merged = self.merged_in_git_order(desired, &found, live, members);
            self.differs(Some(&merged), Some(&Value::Array(live.to_vec())));
            return;
        }
        for (item, found) in desired.iter().zip(found) {
            match found {
                Some(index) => {
                    self.path.push(index.to_string());
                    self.value(item, &live[index], members.item(&live[index], index));
                }
                None => {
                    self.path.push("-".to_owned());
                    if !self.skipped(Members::default()) {
                        self.differs(Some(item), None);
                    }
                }
            }
            self.path.pop();
        }
        self.unmatched_live(live, &matched, members);
    }

    /// The list apply makes of a keyed list Git reorders: Git's items in
    /// Git's order, each merged into its live item, then the items of other
    /// managers.
    fn merged_in_git_order(
        &mut self,
        desired: &[Value],
        found: &[Option<usize>],
        live: &[Value],
        members: Members<'_>,
    ) -> Value {
        let mut items = Vec::with_capacity(live.len().max(desired.len()));
        for (item, found) in desired.iter().zip(found) {
            let Some(index) = *found else {
                items.push(item.clone());
                continue;
            };
            let mut item_walk = Walk::new(self.ignored_pointers);
            item_walk.path = self.path.clone();
            item_walk.path.push(index.to_string());
            item_walk.value(item, &live[index], members.item(&live[index], index));
            self.undecided |= item_walk.undecided;
            let prefix = item_walk.path.len();
            items.push(apply_drift(live[index].clone(), &item_walk.drift, prefix));
        }
        for (index, item) in live.iter().enumerate() {
            let others_item = members.item(item, index).applied.is_none();
            if others_item && !found.contains(&Some(index)) {
                items.push(item.clone());
            }
        }
        Value::Array(items)
    }

    fn set_list(&mut self, desired: &[Value], live: &[Value], members: Members<'_>) {
        for item in desired.iter().filter(|item| !live.contains(item)) {
            self.path.push("-".to_owned());
            self.differs(Some(item), None);
            self.path.pop();
        }
        let matched: Vec<bool> = live.iter().map(|item| desired.contains(item)).collect();
        self.unmatched_live(live, &matched, members);
    }

    fn unmatched_live(&mut self, live: &[Value], matched: &[bool], members: Members<'_>) {
        for (index, item) in live.iter().enumerate() {
            if !matched[index] {
                self.path.push(index.to_string());
                self.removed(item, members.item(item, index));
                self.path.pop();
            }
        }
    }

    fn atomic_list(&mut self, desired: &[Value], live: &[Value], certain: bool) {
        let outcome = if desired.len() == live.len() {
            desired
                .iter()
                .zip(live)
                .map(|(desired, live)| matches(desired, live, &mut self.path))
                .fold(Match::Equal, worst)
        } else {
            Match::Differs
        };
        if outcome == Match::Equal {
            return;
        }
        // Without managedFields the list might be a map or set the server
        // merges; only a dry run can tell.
        self.undecided |= outcome == Match::Undecided || !certain;
        self.differs(
            Some(&Value::Array(desired.to_vec())),
            Some(&Value::Array(live.to_vec())),
        );
    }

    fn differs(&mut self, desired: Option<&Value>, live: Option<&Value>) {
        self.drift.push(Drift {
            pointer: pointer_from_tokens(&self.path),
            desired: desired.cloned(),
            live: live.cloned(),
        });
    }

    /// True when the field at the current path is not compared: an ignore
    /// rule's pointer covers it, or an ignored manager owns it.
    fn skipped(&self, members: Members<'_>) -> bool {
        members.is_ignored()
            || self
                .ignored_pointers
                .iter()
                .any(|pointer| self.path.starts_with(pointer))
    }

    /// True for server-owned fields of the map at the current path.
    fn not_compared(&self, name: &str) -> bool {
        match self.path.as_slice() {
            [] => NOT_COMPARED.contains(&name),
            [metadata] if metadata == "metadata" => SERVER_METADATA.contains(&name),
            _ => false,
        }
    }
}

/// The worse of two outcomes.
fn worst(a: Match, b: Match) -> Match {
    match (a, b) {
        (Match::Differs, _) | (_, Match::Differs) => Match::Differs,
        (Match::Undecided, _) | (_, Match::Undecided) => Match::Undecided,
        _ => Match::Equal,
    }
}

/// Compares values with no ownership: every field desired sets must match
/// (live may hold more: defaults), lists item by item.
pub(crate) fn matches(desired: &Value, live: &Value, path: &mut Vec<String>) -> Match {
    match (desired, live) {
        _ if desired == live => Match::Equal,
        (_, Value::Null) if is_empty_container(desired) => Match::Equal,
        (_, Value::Null) => Match::Differs,
        (Value::Object(desired), Value::Object(live)) => {
            let mut outcome = Match::Equal;
            for (name, value) in desired.iter().filter(|(_, value)| !value.is_null()) {
                path.push(name.clone());
                outcome = worst(
                    outcome,
                    matches(value, live.get(name).unwrap_or(&Value::Null), path),
                );
                path.pop();
            }
            outcome
        }
        (Value::Array(desired), Value::Array(live)) if desired.len() == live.len() => {
            let mut outcome = Match::Equal;
            for (index, (desired, live)) in desired.iter().zip(live).enumerate() {
                path.push(index.to_string());
                outcome = worst(outcome, matches(desired, live, path));
                path.pop();
            }
            outcome
        }
        (Value::Number(a), Value::Number(b))
            if a.as_f64().is_some() && a.as_f64() == b.as_f64() =>
        {
            Match::Equal
        }
        _ if is_quantity_path(path) => match same_quantity(desired, live) {
            Some(true) => Match::Equal,
            Some(false) => Match::Differs,
            None => Match::Undecided,
        },
        // A number for a string (or back): the server rejects or converts.
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => {
            Match::Undecided
        }
        _ => Match::Differs,
    }
}

/// `{}`, `[]`, and maps of nothing else: apply drops them where the field
/// is optional.
fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .values()
            .all(|value| value.is_null() || is_empty_container(value)),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// How the list at this place merges: `managedFields` know; otherwise
/// items that all have a `name` (containers, env, volumes), a
/// `containerPort` or a `port` are keyed by it, and the rest is atomic.
pub(crate) fn list_kind(desired: &[Value], live: &[Value], members: Members<'_>) -> ListKind {
    for set in members.present() {
        if let Some(keys) = set.list_keys() {
            return ListKind::Keyed(keys);
        }
        if set.is_set() {
            return ListKind::Set;
        }
    }
    if members.applied.is_some_and(|set| set.is_leaf()) {
        return ListKind::Atomic { certain: true };
    }
    let all_have = |field: &str| {
        desired.iter().chain(live).all(|item| {
            item.get(field)
                .is_some_and(|value| value.is_string() || value.is_number())
        })
    };
    let keys: &[&str] = if all_have("name") {
        &["name"]
    } else if all_have("containerPort") {
        &["containerPort", "protocol"]
    } else if all_have("port") {
        &["port", "protocol"]
    } else {
        return ListKind::Atomic { certain: false };
    };
    ListKind::Keyed(keys.iter().map(|key| (*key).to_owned()).collect())
}

/// The key of one item (`None` when it lacks a key field).
pub(crate) fn item_key(item: &Value, keys: &[String]) -> Option<Vec<Value>> {
    keys.iter().map(|field| key_field(item, field)).collect()
}

/// The keys of all items, `None` when one lacks a key or two share one (the
/// server would refuse such a list).
fn item_keys(items: &[Value], keys: &[String]) -> Option<Vec<Vec<Value>>> {
    let all: Vec<Vec<Value>> = items
        .iter()
        .map(|item| item_key(item, keys))
        .collect::<Option<_>>()?;
    let unique = all
        .iter()
        .enumerate()
        .all(|(at, key)| !all[..at].contains(key));
    unique.then_some(all)
}
