//! Flux setter markers: `# {"$imagepolicy": "NAMESPACE:NAME"}` after a value, optionally with a
//! `:name`, `:tag` or `:digest` suffix saying which part of the reference the value holds.

use crate::Field;
use crate::image_ref::{ImageRef, PolicyRef};

/// A parsed setter marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    /// The policy named.
    pub policy: PolicyRef,
    /// The part of the reference the marked value holds.
    pub field: Field,
}

impl Marker {
    /// The value the marked scalar should hold for `latest`, or `None` when `latest` lacks that
    /// part (a `:digest` marker and a reference without digest).
    pub fn value_for(&self, latest: &ImageRef) -> Option<String> {
        match self.field {
            Field::Name => Some(latest.name.clone()),
            Field::Tag => latest.tag.clone(),
            Field::Digest => latest.digest.clone(),
            _ => Some(latest.to_string()),
        }
    }
}

/// The marker in a comment that follows a value ending at byte `end` on the same line.
pub(crate) fn marker_after(text: &str, end: usize) -> Option<Marker> {
    let rest = text.get(end..)?;
    let line = rest.split('\n').next().unwrap_or("");
    let after = line.trim_start_matches([' ', '\t']);
    let comment = after.strip_prefix('#')?;
    parse_marker(comment.trim_end_matches('\r'))
}

/// Parses the text after `#`: a JSON object with the single key `$imagepolicy`.
pub(crate) fn parse_marker(comment: &str) -> Option<Marker> {
    let body = comment.trim().strip_prefix('{')?.strip_suffix('}')?.trim();
    let rest = body.strip_prefix("\"$imagepolicy\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim();
    let value = rest.strip_prefix('"')?.strip_suffix('"')?;
    if value.contains(['"', '\\']) {
        return None;
    }
    let mut parts = value.split(':');
    let namespace = parts.next()?.trim();
    let name = parts.next()?.trim();
    let field = match parts.next().map(str::trim) {
        None => Field::Reference,
        Some("name") => Field::Name,
        Some("tag") => Field::Tag,
        Some("digest") => Field::Digest,
        Some(_) => return None,
    };
    if parts.next().is_some() || namespace.is_empty() || name.is_empty() {
        return None;
    }
    Some(Marker {
        policy: PolicyRef {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
        field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_marker_forms() {
        let m = parse_marker(r#" {"$imagepolicy": "automation-ns:policy:tag"}"#).unwrap();
        assert_eq!(m.policy.namespace, "automation-ns");
        assert_eq!(m.policy.name, "policy");
        assert_eq!(m.field, Field::Tag);
        let m = parse_marker(r#"{"$imagepolicy":"ns:p"}"#).unwrap();
        assert_eq!(m.field, Field::Reference);
        assert!(parse_marker(r#" {"$imagepolicy": "ns:p:bogus"}"#).is_none());
        assert!(parse_marker(" uses the same image").is_none());
        let text = "image: a:1 # {\"$imagepolicy\": \"ns:p:name\"}\r\n";
        assert_eq!(marker_after(text, 10).unwrap().field, Field::Name);
    }
}
