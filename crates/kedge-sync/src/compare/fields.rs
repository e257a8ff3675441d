//! Field sets read from `metadata.managedFields` (`fieldsV1`), and the owners
//! of an object's fields: kedge's own apply, everyone else, and the managers
//! that ignore rules name.
//!
//! `fieldsV1` is a tree of member names: `f:<field>` for a map field,
//! `k:<json object>` for a list item matched by its key fields, `v:<json>` for
//! an item of a set, `i:<index>` for an item by position, and `.` for "the
//! node itself". A member with an empty object is a leaf: the field is owned
//! as a whole.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::Object;

/// How a list item is named in a field set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemName {
    /// `k:{"name":"web"}`: the item whose key fields have these values.
    Key(Map<String, Value>),
    /// `v:"finalizer"`: the item equal to this value.
    Value(Value),
    /// `i:0`: the item at this position.
    Index(usize),
}

/// A tree of owned fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSet {
    /// `.`: the node itself is owned (an item's existence).
    owns_self: bool,
    /// `f:` members.
    fields: BTreeMap<String, FieldSet>,
    /// `k:`, `v:` and `i:` members.
    items: Vec<(ItemName, FieldSet)>,
}

impl FieldSet {
    /// Reads a `fieldsV1` object; `None` when it is not one.
    pub(crate) fn parse(value: &Value) -> Option<Self> {
        let members = value.as_object()?;
        let mut set = FieldSet::default();
        for (member, child) in members {
            if member == "." {
                set.owns_self = true;
                continue;
            }
            let child = FieldSet::parse(child)?;
            let (prefix, rest) = member.split_once(':')?;
            match prefix {
                "f" => set.fields.entry(rest.to_owned()).or_default().union(child),
                "k" => set.push_item(ItemName::Key(serde_json::from_str(rest).ok()?), child),
                "v" => set.push_item(ItemName::Value(serde_json::from_str(rest).ok()?), child),
                "i" => set.push_item(ItemName::Index(rest.parse().ok()?), child),
                _ => return None,
            }
        }
        Some(set)
    }

    fn push_item(&mut self, name: ItemName, child: FieldSet) {
        match self
            .items
            .iter_mut()
            .find(|(existing, _)| *existing == name)
        {
            Some((_, existing)) => existing.union(child),
            None => self.items.push((name, child)),
        }
    }

    /// Adds every field of `other`.
    pub(crate) fn union(&mut self, other: FieldSet) {
        self.owns_self |= other.owns_self;
        for (name, child) in other.fields {
            self.fields.entry(name).or_default().union(child);
        }
        for (name, child) in other.items {
            self.push_item(name, child);
        }
    }

    /// True when the field is owned as a whole (a leaf).
    pub(crate) fn is_leaf(&self) -> bool {
        self.fields.is_empty() && self.items.is_empty()
    }

    /// The member for a map field.
    pub(crate) fn field(&self, name: &str) -> Option<&FieldSet> {
        self.fields.get(name)
    }

    /// The member for the list item `item` at `index`.
    pub(crate) fn item(&self, item: &Value, index: usize) -> Option<&FieldSet> {
        self.items
            .iter()
            .find(|(name, _)| item_is_named(item, index, name))
            .map(|(_, set)| set)
    }

    /// The key fields of this list's `k:` members, when it has any (the
    /// list is a map keyed by them).
    pub(crate) fn list_keys(&self) -> Option<Vec<String>> {
        self.items.iter().find_map(|(name, _)| match name {
            ItemName::Key(keys) => Some(keys.keys().cloned().collect()),
            _ => None,
        })
    }

    /// True when this list's members are `v:` (the list is a set).
    pub(crate) fn is_set(&self) -> bool {
        self.items
            .iter()
            .any(|(name, _)| matches!(name, ItemName::Value(_)))
    }
}

/// True when `item` (at `index`) is the one `name` names.
fn item_is_named(item: &Value, index: usize, name: &ItemName) -> bool {
    match name {
        ItemName::Index(at) => *at == index,
        ItemName::Value(value) => value == item,
        ItemName::Key(keys) => keys
            .iter()
            .all(|(field, value)| key_field(item, field).as_ref() == Some(value)),
    }
}

/// A key field of a list item, with the API server's default where a key
/// field has one (`protocol` of ports is `TCP`).
pub(crate) fn key_field(item: &Value, field: &str) -> Option<Value> {
    match item.get(field) {
        Some(Value::Null) | None if field == "protocol" => Some(Value::from("TCP")),
        Some(Value::Null) | None => None,
        Some(value) => Some(value.clone()),
    }
}

/// Who owns what in a live object.
#[derive(Debug, Clone, Default)]
pub(crate) struct Owners {
    /// Fields kedge's field manager applied (operation `Apply`).
    pub(crate) applied: FieldSet,
    /// Fields any other manager (or kedge through another operation) owns.
    pub(crate) others: FieldSet,
    /// Fields owned by the managers that ignore rules name.
    pub(crate) ignored: FieldSet,
    /// True when some entry could not be read.
    pub(crate) unreadable: bool,
}

impl Owners {
    /// Reads `metadata.managedFields` of `live`.
    pub(crate) fn read(live: &Object, field_manager: &str, ignored_managers: &[&str]) -> Self {
        let mut owners = Owners::default();
        let entries = live
            .get("metadata")
            .and_then(|metadata| metadata.get("managedFields"))
            .and_then(Value::as_array);
        for entry in entries.into_iter().flatten() {
            let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
            let operation = entry.get("operation").and_then(Value::as_str);
            let Some(fields) = entry.get("fieldsV1").and_then(FieldSet::parse) else {
                owners.unreadable = true;
                continue;
            };
            if ignored_managers.contains(&manager) {
                owners.ignored.union(fields.clone());
            }
            if manager == field_manager && operation == Some("Apply") {
                owners.applied.union(fields);
            } else {
                owners.others.union(fields);
            }
        }
        owners
    }
}

/// The owners' members at one place in an object, followed together.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Members<'a> {
    /// kedge's applied fields here.
    pub(crate) applied: Option<&'a FieldSet>,
    /// Other managers' fields here.
    pub(crate) others: Option<&'a FieldSet>,
    /// Fields of ignored managers here.
    pub(crate) ignored: Option<&'a FieldSet>,
}

impl<'a> Members<'a> {
    /// The members at an object's root.
    pub(crate) fn root(owners: &'a Owners) -> Self {
        Members {
            applied: Some(&owners.applied),
            others: Some(&owners.others),
            ignored: Some(&owners.ignored),
        }
    }

    /// The members of map field `name`.
    pub(crate) fn field(self, name: &str) -> Self {
        Members {
            applied: self.applied.and_then(|set| set.field(name)),
            others: self.others.and_then(|set| set.field(name)),
            ignored: self.ignored.and_then(|set| set.field(name)),
        }
    }

    /// The members of list item `item` at `index`.
    pub(crate) fn item(self, item: &Value, index: usize) -> Self {
        Members {
            applied: self.applied.and_then(|set| set.item(item, index)),
            others: self.others.and_then(|set| set.item(item, index)),
            ignored: self.ignored.and_then(|set| set.item(item, index)),
        }
    }

    /// True when an ignored manager owns this field as a whole.
    pub(crate) fn is_ignored(self) -> bool {
        self.ignored.is_some_and(FieldSet::is_leaf)
    }

    /// Every field set present here, kedge's first.
    pub(crate) fn present(self) -> impl Iterator<Item = &'a FieldSet> {
        [self.applied, self.others, self.ignored]
            .into_iter()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_fields_keys_values_and_self() {
        let set = FieldSet::parse(&json!({
            "f:spec": {"f:replicas": {}, "f:containers": {
                "k:{\"name\":\"web\"}": {".": {}, "f:image": {}}
            }},
            "f:metadata": {"f:finalizers": {"v:\"kedge.dev/x\"": {}}}
        }))
        .unwrap();
        let spec = set.field("spec").unwrap();
        assert!(spec.field("replicas").unwrap().is_leaf());
        let containers = spec.field("containers").unwrap();
        assert_eq!(containers.list_keys(), Some(vec!["name".to_owned()]));
        let web = containers
            .item(&json!({"name": "web", "image": "x"}), 3)
            .unwrap();
        assert!(web.owns_self);
        assert!(web.field("image").is_some());
        assert!(containers.item(&json!({"name": "sidecar"}), 0).is_none());
        let finalizers = set.field("metadata").unwrap().field("finalizers").unwrap();
        assert!(finalizers.is_set());
        assert!(finalizers.item(&json!("kedge.dev/x"), 0).is_some());
    }

    #[test]
    fn port_keys_default_the_protocol_to_tcp() {
        let set = FieldSet::parse(&json!({
            "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}}
        }))
        .unwrap();
        assert!(set.item(&json!({"containerPort": 8080}), 0).is_some());
        assert!(
            set.item(&json!({"containerPort": 8080, "protocol": "UDP"}), 0)
                .is_none()
        );
    }

    #[test]
    fn a_malformed_member_is_not_a_field_set() {
        assert_eq!(FieldSet::parse(&json!({"x:spec": {}})), None);
        assert_eq!(FieldSet::parse(&json!({"k:{not json": {}})), None);
        assert_eq!(FieldSet::parse(&json!("f:spec")), None);
    }

    #[test]
    fn owners_split_kedge_apply_from_other_managers() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "kedge", "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:paused": {}}}},
            {"manager": "kedge", "operation": "Update", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:minReadySeconds": {}}}}
        ]}});
        let owners = Owners::read(
            live.as_object().unwrap(),
            "kedge",
            &["kube-controller-manager"],
        );
        let root = Members::root(&owners).field("spec");
        assert!(root.field("replicas").applied.is_some());
        assert!(root.field("minReadySeconds").applied.is_none());
        assert!(root.field("minReadySeconds").others.is_some());
        assert!(root.field("paused").is_ignored());
        assert!(!root.field("replicas").is_ignored());
        assert!(!owners.unreadable);
    }
}
