//! Adding and removing mapping entries and sequence items without disturbing their neighbours.

use crate::edit::Edit;
use crate::tree::{Collection, Node};

/// The line ending the file uses.
pub(crate) fn eol(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Where a node's text ends.
pub(crate) fn node_end(node: &Node) -> usize {
    match node {
        Node::Scalar(s) => s.span.end,
        Node::Map(m) => m.end,
        Node::Seq(s) => s.end,
        Node::Alias { span, .. } => span.end,
    }
}

/// Where a node's text starts.
pub(crate) fn node_start(node: &Node) -> usize {
    match node {
        Node::Scalar(s) => s.span.start,
        Node::Map(m) => m.start,
        Node::Seq(s) => s.start,
        Node::Alias { span, .. } => span.start,
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Just past the line break that ends the line holding `at` (or the end of the text).
fn after_line(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// The insertion point after `node` in block layout, plus a line break to put first when the
/// text ends without one.
fn block_insertion_point(text: &str, node: &Node) -> (usize, &'static str) {
    let end = node_end(node);
    let at = match node {
        Node::Scalar(_) | Node::Alias { .. } => after_line(text, end),
        _ if end > 0 && text.as_bytes().get(end - 1) == Some(&b'\n') => end,
        _ if line_start(text, end) == end => end,
        _ => after_line(text, end),
    };
    let lead = if at == text.len() && !text.ends_with('\n') && !text.is_empty() {
        eol(text)
    } else {
        ""
    };
    (at, lead)
}

/// The text between the start of the line and `at` when it is all spaces, i.e. the indentation
/// of a block entry starting at `at`.
fn indent_before(text: &str, at: usize) -> Option<&str> {
    let before = &text[line_start(text, at)..at];
    before.chars().all(|c| c == ' ').then_some(before)
}

/// Adds `key: value` (already rendered) at the end of `map`.
pub(crate) fn insert_entry(
    text: &str,
    map: &Collection<(Node, Node)>,
    key: &str,
    value: &str,
) -> Option<Edit> {
    let (first_key, _) = map.items.first()?;
    let (_, last_value) = map.items.last()?;
    if map.flow {
        let at = node_end(last_value);
        return Some(Edit {
            range: at..at,
            text: format!(", {key}: {value}"),
            expect: None,
        });
    }
    let key_start = node_start(first_key);
    let col = text[line_start(text, key_start)..key_start].chars().count();
    let (at, lead) = block_insertion_point(text, last_value);
    Some(Edit {
        range: at..at,
        text: format!("{lead}{}{key}: {value}{}", " ".repeat(col), eol(text)),
        expect: None,
    })
}

/// Removes entry `index` of `map`.
pub(crate) fn remove_entry(
    text: &str,
    map: &Collection<(Node, Node)>,
    index: usize,
) -> Option<Edit> {
    let (key, value) = map.items.get(index)?;
    let key_start = node_start(key);
    let value_end = node_end(value);
    let next = map.items.get(index + 1).map(|(k, _)| node_start(k));
    let range = if map.flow {
        match (index, next) {
            (_, Some(next)) => key_start..next,
            (0, None) => key_start..value_end,
            (_, None) => node_end(&map.items.get(index - 1)?.1)..value_end,
        }
    } else if indent_before(text, key_start).is_some() {
        line_start(text, key_start)..after_line(text, value_end)
    } else {
        match next {
            Some(next) => key_start..next,
            None => {
                return Some(Edit {
                    range: key_start..value_end,
                    text: "{}".to_owned(),
                    expect: None,
                });
            }
        }
    };
    Some(Edit {
        range,
        text: String::new(),
        expect: None,
    })
}

/// Appends an item (a mapping of already rendered `key: value` pairs) to sequence `seq`.
pub(crate) fn append_item(
    text: &str,
    seq: &Collection<Node>,
    fields: &[(&str, String)],
) -> Option<Edit> {
    if seq.flow {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Some(match seq.items.last() {
            Some(last) => {
                let at = node_end(last);
                Edit {
                    range: at..at,
                    text: format!(", {{{body}}}"),
                    expect: None,
                }
            }
            None => Edit {
                range: seq.start..seq.end,
                text: format!("[{{{body}}}]"),
                expect: None,
            },
        });
    }
    let last = seq.items.last()?;
    let item_start = node_start(last);
    let ls = line_start(text, item_start);
    let dash = text[ls..item_start].find('-')?;
    let indent = " ".repeat(text[ls..ls + dash].chars().count());
    let (at, lead) = block_insertion_point(text, last);
    Some(Edit {
        range: at..at,
        text: format!("{lead}{}", block_item(&indent, fields, eol(text))),
        expect: None,
    })
}

/// Adds `key:` holding a one-item block sequence at the end of `map`.
pub(crate) fn insert_list(
    text: &str,
    map: &Collection<(Node, Node)>,
    key: &str,
    fields: &[(&str, String)],
) -> Option<Edit> {
    if map.flow {
        return None;
    }
    let (first_key, _) = map.items.first()?;
    let (_, last_value) = map.items.last()?;
    let key_start = node_start(first_key);
    let indent = indent_before(text, key_start)?.to_owned();
    let (at, lead) = block_insertion_point(text, last_value);
    let nl = eol(text);
    Some(Edit {
        range: at..at,
        text: format!(
            "{lead}{indent}{key}:{nl}{}",
            block_item(&indent, fields, nl)
        ),
        expect: None,
    })
}

fn block_item(indent: &str, fields: &[(&str, String)], nl: &str) -> String {
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        let lead = if i == 0 { "- " } else { "  " };
        out.push_str(&format!("{indent}{lead}{k}: {v}{nl}"));
    }
    out
}
