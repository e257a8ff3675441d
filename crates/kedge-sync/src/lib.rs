//! The pure core of kedge's sync: what to apply in which order, what kedge
//! owns, how a live object differs from Git, and whether it is healthy.
//!
//! Nothing here talks to a cluster: every function takes objects as JSON maps
//! (as [`kedge_render`] produces them and as the API server returns them), so
//! each rule is unit-tested with a YAML file and no runtime. The IO around it
//! (apply, prune, watch) lives in `kedge-kube`.
//!
//! - [`order`]: phases (hooks), Namespaces and CRDs first, sync waves.
//! - [`inventory`]: the label that marks what kedge applied for an app, and
//!   which live objects prune may delete.
//! - [`compare`]: desired vs live as the API server merges them, honouring
//!   [`ignore`] rules; a unified diff per object.
//! - [`health`]: Healthy / Progressing / Degraded / Suspended / Missing / Unknown.

pub mod compare;
pub mod health;
pub mod ignore;
pub mod inventory;
pub mod order;

pub use kedge_render::ObjectKey;

/// A Kubernetes object as JSON: `apiVersion`, `kind`, `metadata`, …
pub type Object = serde_json::Map<String, serde_json::Value>;

/// The field manager kedge applies with.
pub const FIELD_MANAGER: &str = "kedge";

/// The identity of any object (rendered or live).
pub fn object_key(object: &Object) -> ObjectKey {
    fn str_at(value: Option<&serde_json::Value>) -> Option<&str> {
        value.and_then(serde_json::Value::as_str)
    }
    let metadata = object.get("metadata");
    let api_version = str_at(object.get("apiVersion")).unwrap_or_default();
    ObjectKey {
        group: api_version
            .rsplit_once('/')
            .map(|(group, _)| group.to_owned())
            .unwrap_or_default(),
        kind: str_at(object.get("kind")).unwrap_or_default().to_owned(),
        namespace: str_at(metadata.and_then(|m| m.get("namespace"))).map(str::to_owned),
        name: str_at(metadata.and_then(|m| m.get("name")))
            .unwrap_or_default()
            .to_owned(),
    }
}
