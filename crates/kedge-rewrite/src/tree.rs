//! A small YAML node tree that keeps every node's exact byte span and scalar style.
//!
//! Built from `granit-parser` events. Only what the rewriter needs is kept: no tag resolution,
//! no merge-key expansion. Aliases stay aliases; their targets are found by anchor id.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use granit_parser::{Event, Options, Parser, ScalarStyle, Span};

use crate::RewriteError;

/// A position in the source, 1-based line, 0-based character column (as the parser reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A parsed node.
#[derive(Debug)]
pub(crate) enum Node {
    Scalar(Scalar),
    Map(Collection<(Node, Node)>),
    Seq(Collection<Node>),
    Alias {
        id: usize,
        span: Range<usize>,
        pos: Pos,
    },
}

/// A scalar with its decoded value and where it is written.
#[derive(Debug)]
pub(crate) struct Scalar {
    pub value: String,
    pub style: ScalarStyle,
    pub span: Range<usize>,
    pub pos: Pos,
}

/// A mapping or sequence.
#[derive(Debug)]
pub(crate) struct Collection<T> {
    pub items: Vec<T>,
    pub flow: bool,
    /// Start of the collection (for block collections, the first entry).
    pub start: usize,
    /// End of the collection (for block collections, where the next content begins).
    pub end: usize,
}

/// One document of a stream.
#[derive(Debug)]
pub(crate) struct Document {
    pub root: Node,
}

/// A parsed stream with its anchors.
#[derive(Debug)]
pub(crate) struct Stream {
    pub documents: Vec<Document>,
    /// Anchor id → (anchor name, path of the anchored node inside `documents`).
    pub anchors: HashMap<usize, Anchored>,
}

/// Where an anchored node lives: document index and child indices down to it.
#[derive(Debug, Clone)]
pub(crate) struct Anchored {
    pub name: String,
    pub document: usize,
    pub path: Vec<usize>,
}

impl Scalar {
    /// Whether this is a plain scalar YAML reads as null (`~`, `null`, nothing).
    pub fn is_null(&self) -> bool {
        self.style == ScalarStyle::Plain
            && matches!(self.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }

    /// The string value, or `None` for null or empty.
    pub fn text(&self) -> Option<&str> {
        (!self.is_null() && !self.value.is_empty()).then_some(self.value.as_str())
    }
}

impl Node {
    /// The scalar value, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in this mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(map) => map
                .items
                .iter()
                .find(|(k, _)| k.as_scalar().is_some_and(|k| k.value == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar string value of `key` in this mapping.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_scalar().map(|s| s.value.as_str())
    }

    /// The child at flat index `i` (for maps, `2k` is key `k` and `2k+1` its value).
    pub fn child(&self, i: usize) -> Option<&Node> {
        match self {
            Node::Map(map) => map
                .items
                .get(i / 2)
                .map(|(k, v)| if i.is_multiple_of(2) { k } else { v }),
            Node::Seq(seq) => seq.items.get(i),
            _ => None,
        }
    }
}

impl Stream {
    /// Resolves an alias id to the anchored node and its anchor name.
    pub fn resolve(&self, id: usize) -> Option<(&str, &Node)> {
        let anchored = self.anchors.get(&id)?;
        let mut node = &self.documents.get(anchored.document)?.root;
        for &i in &anchored.path {
            node = node.child(i)?;
        }
        Some((&anchored.name, node))
    }
}

/// Converts a byte offset into a 1-based line and 1-based character column.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = text
        .get(line_start..offset)
        .map_or(offset - line_start, |s| s.chars().count())
        + 1;
    (line, column)
}

fn byte_range(span: &Span) -> Range<usize> {
    span.byte_range().unwrap_or(0..0)
}

fn pos(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col(),
    }
}

enum Frame {
    Map(Collection<(Node, Node)>, Option<Node>, usize),
    Seq(Collection<Node>, usize),
}

/// Parses `text` into documents. Errors carry the file, line and column.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Stream, RewriteError> {
    let mut options = Options::default();
    options.emit_comments = false;
    options.emit_anchor_events = true;
    let parser = Parser::new_from_str_with_options(text, options);
    let mut builder = Builder::default();
    for event in parser {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            let (line, column) = match m.byte_offset() {
                Some(b) => line_col(text, b),
                None => (m.line(), m.col() + 1),
            };
            RewriteError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.info().to_owned(),
            }
        })?;
        builder.event(event, &span);
        if let Some((at, message)) = builder.error.take() {
            return Err(error_at(path, text, at, message));
        }
    }
    if let Some(at) = tab_indentation(text, &builder.scalar_spans) {
        return Err(error_at(
            path,
            text,
            at,
            "tab character used for indentation",
        ));
    }
    Ok(Stream {
        documents: builder.documents,
        anchors: builder.anchors,
    })
}

fn error_at(path: &Path, text: &str, at: usize, message: &str) -> RewriteError {
    let (line, column) = line_col(text, at);
    RewriteError::Parse {
        path: path.to_owned(),
        line,
        column,
        message: message.to_owned(),
    }
}

/// The offset of a tab in a line's indentation outside any scalar, if there is one.
///
/// YAML 1.2 tolerates tabs as separation inside flow collections, but libyaml, go-yaml and
/// PyYAML (what Kubernetes tools use) reject them, so such a file is refused rather than edited.
fn tab_indentation(text: &str, scalar_spans: &[Range<usize>]) -> Option<usize> {
    let mut line_start = 0;
    let mut spans = scalar_spans.iter().peekable();
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let rest = line[indent..].trim_end();
        if let Some(tab) = line[..indent].find('\t') {
            let at = line_start + tab;
            while spans.next_if(|s| s.end <= at).is_some() {}
            let in_scalar = spans.peek().is_some_and(|s| s.start <= at);
            if !rest.is_empty() && !rest.starts_with('#') && !in_scalar {
                return Some(at);
            }
        }
        line_start += line.len();
    }
    None
}

#[derive(Default)]
struct Builder {
    /// The first structural problem found (byte offset, message).
    error: Option<(usize, &'static str)>,
    /// Spans of every scalar, in source order.
    scalar_spans: Vec<Range<usize>>,
    stack: Vec<Frame>,
    documents: Vec<Document>,
    anchors: HashMap<usize, Anchored>,
    /// Path of the last completed node (document index, child indices).
    last_path: Option<(usize, Vec<usize>)>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: &Span) {
        match event {
            Event::Scalar(value, style, _anchor, _tag) => {
                self.scalar_spans.push(byte_range(span));
                let node = Node::Scalar(Scalar {
                    value: value.into_owned(),
                    style,
                    span: byte_range(span),
                    pos: pos(span),
                });
                self.push(node);
            }
            Event::Alias(id) => self.push(Node::Alias {
                id,
                span: byte_range(span),
                pos: pos(span),
            }),
            Event::SequenceStart(style, _, _) => {
                let child_index = self.next_child_index();
                self.stack.push(Frame::Seq(
                    new_collection(style == granit_parser::StructureStyle::Flow, span),
                    child_index,
                ));
            }
            Event::MappingStart(style, _, _) => {
                let child_index = self.next_child_index();
                self.stack.push(Frame::Map(
                    new_collection(style == granit_parser::StructureStyle::Flow, span),
                    None,
                    child_index,
                ));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(mut seq, _)) = self.stack.pop() {
                    seq.end = byte_range(span).end;
                    self.push(Node::Seq(seq));
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(mut map, _, _)) = self.stack.pop() {
                    map.end = byte_range(span).end;
                    self.push(Node::Map(map));
                }
            }
            Event::Anchor(id, name) => {
                if let Some((doc, path)) = self.anchor_target() {
                    self.anchors.insert(
                        id,
                        Anchored {
                            name: name.into_owned(),
                            document: doc,
                            path,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// Index the next node will have inside its parent.
    fn next_child_index(&self) -> usize {
        match self.stack.last() {
            Some(Frame::Map(map, key, _)) => map.items.len() * 2 + usize::from(key.is_some()),
            Some(Frame::Seq(seq, _)) => seq.items.len(),
            None => 0,
        }
    }

    /// The path of the node an `Anchor` event refers to: the node just completed, or the
    /// collection just opened.
    fn anchor_target(&self) -> Option<(usize, Vec<usize>)> {
        let doc = self.documents.len();
        let mut path: Vec<usize> = self
            .stack
            .iter()
            .skip(1)
            .map(|f| match f {
                Frame::Map(_, _, i) | Frame::Seq(_, i) => *i,
            })
            .collect();
        match self.stack.last() {
            // A collection just opened and is still empty: it is the anchored node.
            Some(Frame::Map(map, None, _)) if map.items.is_empty() => Some((doc, path)),
            Some(Frame::Seq(seq, _)) if seq.items.is_empty() => Some((doc, path)),
            Some(_) => {
                path.push(self.next_child_index().checked_sub(1)?);
                Some((doc, path))
            }
            None => self.last_path.clone(),
        }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Frame::Map(map, key, _)) => match key.take() {
                Some(k) => map.items.push((k, node)),
                None => {
                    if let Node::Map(c) = &node {
                        self.error.get_or_insert((c.start, NON_SCALAR_KEY));
                    } else if let Node::Seq(c) = &node {
                        self.error.get_or_insert((c.start, NON_SCALAR_KEY));
                    }
                    *key = Some(node);
                }
            },
            Some(Frame::Seq(seq, _)) => seq.items.push(node),
            None => {
                self.last_path = Some((self.documents.len(), Vec::new()));
                self.documents.push(Document { root: node });
            }
        }
    }
}

const NON_SCALAR_KEY: &str =
    "a mapping or sequence used as a key (a template placeholder such as `{{ value }}`?)";

fn new_collection<T>(flow: bool, span: &Span) -> Collection<T> {
    let range = byte_range(span);
    Collection {
        items: Vec::new(),
        flow,
        start: range.start,
        end: range.end,
    }
}
