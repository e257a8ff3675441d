//! A YAML document tree that keeps the line of every node, so that each key
//! the import cannot map is reported with its file and line.
//!
//! Built from `granit-parser` events. Aliases are expanded to a copy of the
//! anchored node; tags are ignored.

use std::collections::HashMap;
use std::path::Path;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::MigrateError;

/// A node and the 1-based line it starts on.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// 1-based line.
    pub line: u64,
    /// What it holds.
    pub value: Value,
}

/// A node's content.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// Any other scalar, as written after escapes.
    Scalar(String),
    /// A mapping with scalar keys, in source order.
    Map(Vec<(String, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
}

impl Node {
    /// The value of `key` in this mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value)
    }

    /// The scalar at `key`, if it is one.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// The node at a dotted path of mapping keys.
    pub fn path(&self, dotted: &str) -> Option<&Node> {
        dotted.split('.').try_fold(self, |node, key| node.get(key))
    }

    /// The scalar text of this node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text) => Some(text),
            _ => None,
        }
    }

    /// A mapping's entries (none for anything else).
    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// A sequence's items (none for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// Whether this is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }
}

/// One document of a file with the kind it declares.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// The root node.
    pub root: Node,
}

impl Document {
    /// `kind`, when the document is a Kubernetes object.
    pub fn kind(&self) -> Option<&str> {
        self.root.str("kind")
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> Option<&str> {
        self.root.str("apiVersion")
    }

    /// `metadata.name`.
    pub fn name(&self) -> Option<&str> {
        self.root.path("metadata.name")?.as_str()
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        self.root.path("metadata.namespace")?.as_str()
    }

    /// What the document is, for messages: `Deployment`, `a values file`.
    pub fn describe(&self) -> String {
        match (self.kind(), self.api_version()) {
            (Some(kind), Some(version)) => format!("{kind} ({version})"),
            (Some(kind), None) => kind.to_owned(),
            _ if self.root.is_map() => "a YAML mapping without apiVersion and kind".to_owned(),
            _ => "not a YAML mapping".to_owned(),
        }
    }
}

enum Frame {
    Map {
        line: u64,
        anchor: usize,
        entries: Vec<(String, Node)>,
        key: Option<String>,
    },
    Seq {
        line: u64,
        anchor: usize,
        items: Vec<Node>,
    },
}

/// Parses every document of `text`; empty documents are left out.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<Document>, MigrateError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| MigrateError::Yaml {
            file: path.to_owned(),
            line: e.marker().line() as u64,
            message: e.info().to_owned(),
        })?;
        builder
            .event(event, &span)
            .map_err(|line| MigrateError::Yaml {
                file: path.to_owned(),
                line,
                message: "a mapping or sequence used as a key".to_owned(),
            })?;
    }
    Ok(builder
        .documents
        .into_iter()
        .filter(|root| !matches!(root.value, Value::Null))
        .map(|root| Document { root })
        .collect())
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    documents: Vec<Node>,
}

impl Builder {
    /// Takes one event; `Err(line)` for a key that is not a scalar.
    fn event(&mut self, event: Event<'_>, span: &Span) -> Result<(), u64> {
        let line = span.start.line() as u64;
        match event {
            Event::Scalar(text, style, anchor, _) => {
                let plain = style == ScalarStyle::Plain;
                let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar(text.into_owned())
                };
                self.finish(Node { line, value }, anchor)?;
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    line,
                    value: Value::Null,
                });
                self.finish(node, 0)?;
            }
            Event::MappingStart(_, anchor, _) => self.stack.push(Frame::Map {
                line,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Seq {
                line,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    line,
                    anchor,
                    entries,
                    ..
                }) = self.stack.pop()
                {
                    let value = Value::Map(entries);
                    self.finish(Node { line, value }, anchor)?;
                }
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    line,
                    anchor,
                    items,
                }) = self.stack.pop()
                {
                    self.finish(
                        Node {
                            line,
                            value: Value::Seq(items),
                        },
                        anchor,
                    )?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Puts a completed node into its parent (or ends a document).
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), u64> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(key) => entries.push((key, node)),
                None => match node.value {
                    Value::Scalar(text) => *key = Some(text),
                    Value::Null => *key = Some(String::new()),
                    _ => return Err(node.line),
                },
            },
            Some(Frame::Seq { items, .. }) => items.push(node),
            None => self.documents.push(node),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_and_expands_aliases() {
        let text = "a: 1\n---\nb:\n  c: &x [1, 2]\n  d: *x\n  e: ~\n";
        let docs = parse(Path::new("t.yaml"), text).expect("parses");
        assert_eq!(docs.len(), 2);
        let b = docs[1].root.get("b").expect("b");
        assert_eq!(b.path("c").map(|c| c.line), Some(4));
        assert_eq!(b.get("d").map(|d| d.items().len()), Some(2));
        assert!(matches!(b.get("e").map(|e| &e.value), Some(Value::Null)));
    }
}
