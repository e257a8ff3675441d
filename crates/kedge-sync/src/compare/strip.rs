//! The configuration sync applies: desired without the fields ignore rules
//! cover, so kedge neither compares nor fights over them (an HPA's
//! `/spec/replicas`).

use serde_json::{Map, Value};

use super::CompareOptions;
use super::fields::{Members, Owners};
use super::walk::{ListKind, item_key, list_kind};
use crate::Object;

/// Desired without the fields that `options.ignore` covers for this object:
/// fields at its JSON pointers, and fields that its managers own in `live`.
/// With no live object, desired is applied as Git has it (as Argo CD's
/// `RespectIgnoreDifferences` does): there is nothing to keep yet.
pub fn without_ignored(
    desired: &Object,
    live: Option<&Object>,
    options: &CompareOptions,
) -> Object {
    let Some(live) = live else {
        return desired.clone();
    };
    let key = super::key_of(desired, live);
    let mut kept = Value::Object(desired.clone());
    for pointer in options.ignore.pointers(&key) {
        super::diff::remove_at(&mut kept, &pointer);
    }
    let managers = options.ignore.managers(&key);
    if !managers.is_empty() {
        let owners = Owners::read(live, &options.field_manager, &managers);
        if let Value::Object(kept) = &mut kept {
            strip_map(kept, live, Members::root(&owners));
        }
    }
    match kept {
        Value::Object(kept) => kept,
        _ => desired.clone(),
    }
}

fn strip_map(desired: &mut Map<String, Value>, live: &Map<String, Value>, members: Members<'_>) {
    desired.retain(|name, value| {
        let field = members.field(name);
        if field.is_ignored() {
            return false;
        }
        if let Some(live_value) = live.get(name) {
            strip_value(value, live_value, field);
        }
        true
    });
}

fn strip_value(desired: &mut Value, live: &Value, members: Members<'_>) {
    match (desired, live) {
        (Value::Object(desired), Value::Object(live)) => strip_map(desired, live, members),
        (Value::Array(desired), Value::Array(live)) => {
            let ListKind::Keyed(keys) = list_kind(desired, live, members) else {
                return;
            };
            desired.retain_mut(|item| {
                let key = item_key(item, &keys);
                let found = live
                    .iter()
                    .enumerate()
                    .find(|(_, live_item)| key.is_some() && item_key(live_item, &keys) == key);
                let Some((index, live_item)) = found else {
                    return true;
                };
                let item_members = members.item(live_item, index);
                if item_members.is_ignored() {
                    return false;
                }
                strip_value(item, live_item, item_members);
                true
            });
        }
        _ => {}
    }
}
