//! Splitting a YAML stream into documents with their first line, and turning
//! each document into objects (`List` kinds expanded).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::RenderError;
use crate::object::{RenderedObject, Source};

/// One document of a YAML stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Document<'a> {
    /// The document's text, its `---` marker line included.
    pub text: &'a str,
    /// The 1-based line of the stream it starts on.
    pub first_line: u64,
}

/// Splits a stream at its document markers. YAML forbids a `---` or `...`
/// line at column 0 inside any scalar, so a line-based split is exact.
pub(crate) fn split_documents(text: &str) -> Vec<Document<'_>> {
    let mut documents = Vec::new();
    let (mut start, mut first_line) = (0, 1);
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = |m: &str| {
            bare.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        };
        let line_number = index as u64 + 1;
        if marker("---") {
            documents.push(Document {
                text: &text[start..offset],
                first_line,
            });
            (start, first_line) = (offset, line_number);
        } else if marker("...") {
            documents.push(Document {
                text: &text[start..offset],
                first_line,
            });
            (start, first_line) = (offset + line.len(), line_number + 1);
        }
        offset += line.len();
    }
    documents.push(Document {
        text: &text[start..],
        first_line,
    });
    documents.retain(|d| !is_blank(d.text));
    documents
}

/// Only white space, comments and markers: no document at all.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---"
    })
}

/// Parses one YAML document into objects. `file` names it in errors and
/// sources; `line` is where the document starts in that file.
pub(crate) fn parse_document(
    document: &Document<'_>,
    file: &Path,
    source_line: Option<u64>,
    out: &mut Vec<RenderedObject>,
) -> Result<(), RenderError> {
    let value: Value = serde_saphyr::from_str(document.text).map_err(|e| {
        let line = e.location().map_or(1, |l| l.line()) + document.first_line - 1;
        let message = e
            .location()
            .map_or_else(|| e.to_string(), |_| first_line_of(&e.to_string()));
        RenderError::Syntax {
            file: file.to_owned(),
            line,
            message,
        }
    })?;
    let source = Source {
        file: file.to_owned(),
        line: source_line,
    };
    push_value(value, &source, document.first_line, out)
}

/// The parser's message without its location header and snippet.
fn first_line_of(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().to_owned()
}

/// Adds a parsed document: an object, the items of a `List`, or nothing
/// (a null document).
pub(crate) fn push_value(
    value: Value,
    source: &Source,
    first_line: u64,
    out: &mut Vec<RenderedObject>,
) -> Result<(), RenderError> {
    let not_object = |reason: String| RenderError::NotAnObject {
        file: source.file.clone(),
        line: first_line,
        reason,
    };
    let object = match value {
        Value::Null => return Ok(()),
        Value::Object(object) => object,
        other => {
            return Err(not_object(format!(
                "a document must be a mapping, found {}",
                type_name(&other)
            )));
        }
    };
    if is_list(&object) {
        let Some(Value::Array(items)) = object.get("items") else {
            return Err(not_object("a List needs an `items` sequence".into()));
        };
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::Object(item) => out.push(
                    checked(item.clone(), source)
                        .map_err(|reason| not_object(format!("items[{index}]: {reason}")))?,
                ),
                other => {
                    return Err(not_object(format!(
                        "items[{index}] is {}",
                        type_name(other)
                    )));
                }
            }
        }
        return Ok(());
    }
    out.push(checked(object, source).map_err(not_object)?);
    Ok(())
}

/// `v1` `List` and the typed `*List` kinds (`ConfigMapList`, …), as kubectl
/// reads them.
fn is_list(object: &Map<String, Value>) -> bool {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    kind.ends_with("List") && (kind == "List" || object.get("items").is_some_and(Value::is_array))
}

fn checked(object: Map<String, Value>, source: &Source) -> Result<RenderedObject, String> {
    for field in ["apiVersion", "kind"] {
        match object.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(other) => {
                return Err(format!(
                    "`{field}` must be a non-empty string, found {}",
                    type_name(other)
                ));
            }
            None => return Err(format!("`{field}` is missing")),
        }
    }
    let metadata = object.get("metadata").and_then(Value::as_object);
    let named = metadata.is_some_and(|m| {
        ["name", "generateName"].iter().any(|f| {
            m.get(*f)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        })
    });
    if !named {
        return Err("`metadata.name` is missing".into());
    }
    Ok(RenderedObject {
        object,
        source: source.clone(),
    })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(u64, &str)> {
        split_documents(text)
            .iter()
            .map(|d| (d.first_line, d.text))
            .collect()
    }

    #[test]
    fn splits_at_markers_and_keeps_line_numbers() {
        let text = "# leading comment\na: 1\n---\nb: 2\n--- # c\nc: 3\n...\n---\n";
        assert_eq!(
            lines(text),
            [
                (1, "# leading comment\na: 1\n"),
                (3, "---\nb: 2\n"),
                (5, "--- # c\nc: 3\n")
            ]
        );
    }

    #[test]
    fn a_marker_needs_a_line_of_its_own() {
        let text = "a: |\n  ---\n  x\nb: ---x\n----\n";
        assert_eq!(split_documents(text).len(), 1);
    }

    #[test]
    fn empty_and_comment_only_documents_are_dropped() {
        assert!(split_documents("---\n# only a comment\n---\n\n").is_empty());
    }

    fn parse(text: &str) -> Result<Vec<RenderedObject>, RenderError> {
        let mut out = Vec::new();
        for document in split_documents(text) {
            parse_document(
                &document,
                Path::new("app.yaml"),
                Some(document.first_line),
                &mut out,
            )?;
        }
        Ok(out)
    }

    #[test]
    fn lists_are_expanded() {
        let objects = parse(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n",
        )
        .unwrap();
        let keys: Vec<_> = objects.iter().map(|o| o.key().to_string()).collect();
        assert_eq!(keys, ["ConfigMap a", "Secret b"]);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n";
        let error = parse(text).unwrap_err().to_string();
        assert!(error.starts_with("app.yaml:"), "{error}");
        let line: u64 = error.split(':').nth(1).unwrap().parse().unwrap();
        assert!((8..=9).contains(&line), "{error}");

        let error = parse("---\napiVersion: v1\nmetadata: {name: a}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "app.yaml:1: not a Kubernetes object: `kind` is missing"
        );
        let error = parse("a\n---\n- b\n").unwrap_err().to_string();
        assert_eq!(
            error,
            "app.yaml:1: not a Kubernetes object: a document must be a mapping, found a string"
        );
        let error = parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "app.yaml:1: not a Kubernetes object: `metadata.name` is missing"
        );
    }

    #[test]
    fn keys_carry_group_kind_namespace_and_name() {
        let objects = parse(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n",
        )
        .unwrap();
        let key = objects[0].key();
        assert_eq!(
            (key.group.as_str(), key.namespace.as_deref()),
            ("apps", Some("shop"))
        );
        assert_eq!(key.to_string(), "apps/Deployment shop/web");
        assert_eq!(objects[0].source.to_string(), "app.yaml:1");
    }
}
