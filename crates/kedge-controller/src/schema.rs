//! Schemas for fields whose Rust type does not say what the API server
//! should check.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Any JSON object, kept as written (Helm values).
pub(crate) fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// An RFC 3339 time, as Kubernetes writes `metav1.Time`.
pub(crate) fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "format": "date-time",
    })
}

/// A duration as kedge reads one (`30s`, `5m`, `1h30m`): the API server
/// refuses anything else before kedge sees it.
pub(crate) fn duration(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": crate::duration::DURATION_PATTERN,
    })
}

/// An optional duration (see [`duration`]).
pub(crate) fn optional_duration(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = duration(generator);
    schema.insert("nullable".to_owned(), true.into());
    schema
}
