//! Finding image references in a parsed stream: `image:` fields, Helm image blocks, Kustomize
//! `images:` entries and Flux setter markers.

use std::path::Path;

use crate::Options;
use crate::setter::{Marker, marker_after};
use crate::tree::{Collection, Node, Pos, Scalar, Stream};

/// The alias through which an occurrence was reached.
#[derive(Debug, Clone)]
pub(crate) struct AliasUse {
    pub name: String,
    pub pos: Pos,
}

/// A Helm-style image block.
#[derive(Debug)]
pub(crate) struct Block<'t> {
    pub map: &'t Collection<(Node, Node)>,
    pub registry: Option<&'t Scalar>,
    pub repository: &'t Scalar,
    pub tag: Option<&'t Scalar>,
    pub digest: Option<&'t Scalar>,
    /// The digest key is `sha` (grafana charts): hex only, no `sha256:` prefix.
    pub sha: Option<&'t Scalar>,
}

/// A Kustomize `images:` entry.
#[derive(Debug)]
pub(crate) struct Entry<'t> {
    pub map: &'t Collection<(Node, Node)>,
    pub name: &'t Scalar,
    pub new_name: Option<&'t Scalar>,
    pub new_tag: Option<&'t Scalar>,
    pub digest: Option<&'t Scalar>,
}

/// A Kustomize `images:` list (or where one would go).
#[derive(Debug)]
pub(crate) struct KustomizeList<'t> {
    /// The mapping holding (or to hold) `images:`.
    pub parent: &'t Collection<(Node, Node)>,
    /// The `images:` value, when present.
    pub images: Option<&'t Node>,
    /// Names (normalised) already listed.
    pub names: Vec<String>,
}

/// One place where an image reference (or part of one) is written.
#[derive(Debug)]
pub(crate) enum Occurrence<'t> {
    /// A scalar holding a whole reference.
    Full {
        scalar: &'t Scalar,
        in_flow: bool,
        via: Option<AliasUse>,
    },
    /// A Helm image block.
    Block {
        block: Block<'t>,
        via: Option<AliasUse>,
    },
    /// A Kustomize `images:` entry.
    Entry {
        entry: Entry<'t>,
        via: Option<AliasUse>,
    },
    /// A scalar marked with a setter comment.
    Marker {
        scalar: &'t Scalar,
        in_flow: bool,
        marker: Marker,
    },
    /// A kustomization's image list, for adding entries.
    List(KustomizeList<'t>),
}

impl Occurrence<'_> {
    /// The alias the occurrence was reached through, if any.
    pub fn via(&self) -> Option<&AliasUse> {
        match self {
            Occurrence::Full { via, .. }
            | Occurrence::Block { via, .. }
            | Occurrence::Entry { via, .. } => via.as_ref(),
            _ => None,
        }
    }
}

/// How many nodes may be visited behind aliases in one file: bounds the work on alias bombs
/// (`a: &a [*b, *b, …]`). Past it, aliased content is no longer searched.
const ALIAS_BUDGET: usize = 1_000_000;

struct Walker<'t, 'o> {
    text: &'t str,
    stream: &'t Stream,
    options: &'o Options,
    found: Vec<Occurrence<'t>>,
    budget: usize,
}

/// Lists every occurrence in `stream`.
pub(crate) fn occurrences<'t>(
    path: &Path,
    text: &'t str,
    stream: &'t Stream,
    options: &Options,
) -> Vec<Occurrence<'t>> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let kustomization_file = matches!(
        file_name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    );
    let mut walker = Walker {
        text,
        stream,
        options,
        found: Vec::new(),
        budget: ALIAS_BUDGET,
    };
    for doc in &stream.documents {
        let root = &doc.root;
        let kind = root.get_str("kind").unwrap_or("");
        let api = root.get_str("apiVersion").unwrap_or("");
        let images = kind != "CustomResourceDefinition";
        if let Node::Map(map) = root {
            if kustomization_file
                || (kind == "Kustomization" && api.starts_with("kustomize.config.k8s.io"))
            {
                walker.kustomize_list(map);
            } else if kind == "Kustomization"
                && api.starts_with("kustomize.toolkit.fluxcd.io")
                && let Some(Node::Map(spec)) = root.get("spec")
            {
                walker.kustomize_list(spec);
            }
        }
        let mut keys = Vec::new();
        walker.walk(root, &mut keys, false, None, images);
    }
    walker.found
}

impl<'t> Walker<'t, '_> {
    fn walk(
        &mut self,
        node: &'t Node,
        keys: &mut Vec<&'t str>,
        in_flow: bool,
        via: Option<&AliasUse>,
        images: bool,
    ) {
        if via.is_some() {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
        }
        match node {
            Node::Scalar(scalar) => {
                if via.is_none() {
                    self.marker(scalar, in_flow);
                }
            }
            Node::Map(map) => {
                for (key, value) in &map.items {
                    let key = key.as_scalar().map_or("", |k| k.value.as_str());
                    if images && self.is_image_key(keys, key) {
                        self.image_value(value, map.flow, via.cloned());
                    }
                    keys.push(key);
                    self.walk(value, keys, map.flow, via, images);
                    keys.pop();
                }
            }
            Node::Seq(seq) => {
                for item in &seq.items {
                    self.walk(item, keys, seq.flow, via, images);
                }
            }
            Node::Alias { id, pos, .. } => {
                if self.budget == 0 {
                    return;
                }
                self.budget -= 1;
                if let Some((name, target)) = self.stream.resolve(*id) {
                    let alias = via.cloned().unwrap_or(AliasUse {
                        name: name.to_owned(),
                        pos: *pos,
                    });
                    self.walk(target, keys, in_flow, Some(&alias), images);
                }
            }
        }
    }

    fn is_image_key(&self, keys: &[&str], key: &str) -> bool {
        self.options.image_keys.iter().any(|rule| {
            if rule.contains('.') {
                let mut parts = rule.split('.').rev();
                parts.next() == Some(key)
                    && parts.clone().count() == keys.len()
                    && parts.zip(keys.iter().rev()).all(|(a, b)| a == *b)
            } else {
                rule == key
            }
        })
    }

    fn marker(&mut self, scalar: &'t Scalar, in_flow: bool) {
        if let Some(marker) = marker_after(self.text, scalar.span.end) {
            self.found.push(Occurrence::Marker {
                scalar,
                in_flow,
                marker,
            });
        }
    }

    fn image_value(&mut self, value: &'t Node, in_flow: bool, via: Option<AliasUse>) {
        match value {
            Node::Scalar(scalar) if scalar.is_null() => {}
            Node::Scalar(scalar) => self.found.push(Occurrence::Full {
                scalar,
                in_flow,
                via,
            }),
            Node::Map(map) => {
                let reference = value.get("reference").and_then(Node::as_scalar);
                if let Some(reference) = reference.filter(|r| r.text().is_some()) {
                    self.found.push(Occurrence::Full {
                        scalar: reference,
                        in_flow: map.flow,
                        via,
                    });
                } else if let Some(block) = helm_block(value, map) {
                    self.found.push(Occurrence::Block { block, via });
                }
            }
            Node::Alias { id, pos, .. } => {
                if let Some((name, target)) = self.stream.resolve(*id) {
                    let alias = via.unwrap_or(AliasUse {
                        name: name.to_owned(),
                        pos: *pos,
                    });
                    self.image_value(target, in_flow, Some(alias));
                }
            }
            Node::Seq(_) => {}
        }
    }

    fn kustomize_list(&mut self, parent: &'t Collection<(Node, Node)>) {
        let images = parent
            .items
            .iter()
            .find(|(k, _)| k.as_scalar().is_some_and(|k| k.value == "images"))
            .map(|(_, v)| v);
        let mut names = Vec::new();
        if let Some(Node::Seq(seq)) = images {
            for item in &seq.items {
                if let (Node::Map(map), Some(name)) =
                    (item, item.get("name").and_then(Node::as_scalar))
                {
                    names.push(crate::normalise_name(&name.value));
                    let scalar = |key| item.get(key).and_then(Node::as_scalar);
                    self.found.push(Occurrence::Entry {
                        entry: Entry {
                            map,
                            name,
                            new_name: scalar("newName"),
                            new_tag: scalar("newTag"),
                            digest: scalar("digest"),
                        },
                        via: None,
                    });
                }
            }
        }
        if images.is_none() || matches!(images, Some(Node::Seq(_))) {
            self.found.push(Occurrence::List(KustomizeList {
                parent,
                images,
                names,
            }));
        }
    }
}

fn helm_block<'t>(node: &'t Node, map: &'t Collection<(Node, Node)>) -> Option<Block<'t>> {
    let scalar = |key| node.get(key).and_then(Node::as_scalar);
    Some(Block {
        map,
        registry: scalar("registry"),
        repository: scalar("repository").filter(|s| s.text().is_some())?,
        tag: scalar("tag"),
        digest: scalar("digest"),
        sha: scalar("sha"),
    })
}
