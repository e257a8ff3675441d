//! Finding image references in a parsed stream: `image:` fields, Helm image blocks, Kustomize
//! `images:` entries and Flux setter markers.

use std::collections::HashSet;
use std::path::Path;

use crate::setter::{Marker, marker_after};
use crate::tree::{Collection, Node, Pos, Scalar, Stream};
use crate::{ImageRef, Options};

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
    /// Parts written as an alias (`tag: *version`): the anchored scalar's start and the alias.
    pub aliased: Vec<(usize, AliasUse)>,
}

impl Block<'_> {
    /// The name the chart deploys: `registry/repository`, or the repository alone.
    pub fn name(&self) -> String {
        match self.registry.filter(|r| r.text().is_some()) {
            Some(r) => format!("{}/{}", r.value, self.repository.value),
            None => self.repository.value.clone(),
        }
    }

    /// The reference as written: a `tag` holding `TAG@DIGEST` (what kedge writes where the
    /// block has no digest key) is split; a `sha` gets its `sha256:` prefix.
    pub fn reference(&self) -> ImageRef {
        let text = |s: Option<&Scalar>| s.and_then(Scalar::text).map(str::to_owned);
        let (tag, pinned) = match text(self.tag) {
            Some(tag) => match tag.split_once('@') {
                Some((tag, digest)) => (Some(tag.to_owned()), Some(digest.to_owned())),
                None => (Some(tag), None),
            },
            None => (None, None),
        };
        let digest = text(self.digest)
            .or_else(|| text(self.sha).map(|sha| format!("sha256:{sha}")))
            .or(pinned);
        ImageRef {
            name: self.name(),
            tag: tag.filter(|t| !t.is_empty()),
            digest,
        }
    }

    /// The alias a part is written as, if it is one.
    pub fn alias_of(&self, scalar: &Scalar) -> Option<&AliasUse> {
        self.aliased
            .iter()
            .find(|(start, _)| *start == scalar.span.start)
            .map(|(_, alias)| alias)
    }
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
    /// A scalar that reads as an image reference where no rule looks.
    Seen(Seen<'t>),
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

/// Which rule finds images in a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// A Helm values file (or a values tree embedded in an object): the configured image keys
    /// and `*Image` keys, holding a reference or a block.
    Values,
    /// A Kubernetes object: `image` of container entries and the configured object paths.
    Object,
    /// A CustomResourceDefinition: its schema describes images but holds none.
    Schema,
}

/// A scalar that holds what reads as an image reference but is not rewritten by any rule.
#[derive(Debug)]
pub(crate) struct Seen<'t> {
    pub scalar: &'t Scalar,
    /// Dotted key path from the document root (list levels left out).
    pub path: String,
    pub scope: Scope,
}

/// How many nodes may be visited behind aliases in one file: bounds the work on alias bombs
/// (`a: &a [*b, *b, …]`). Past it, aliased content is no longer searched.
const ALIAS_BUDGET: usize = 1_000_000;

/// The keys of container lists, whose entries' `image` is an image in any object.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Stands for a list level in a key path.
const LIST: &str = "[]";

struct Walker<'t, 'o> {
    text: &'t str,
    stream: &'t Stream,
    options: &'o Options,
    found: Vec<Occurrence<'t>>,
    budget: usize,
    /// The current document's `kind`.
    kind: &'t str,
    /// Maps already read as a block or a Kustomize entry: their keys are parts, not images.
    parts: HashSet<*const Collection<(Node, Node)>>,
}

/// What the walk carries down.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    in_flow: bool,
    via: Option<&'a AliasUse>,
    scope: Scope,
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
        kind: "",
        parts: HashSet::new(),
    };
    for doc in &stream.documents {
        let root = &doc.root;
        let kind = root.get_str("kind").unwrap_or("");
        let api = root.get_str("apiVersion").unwrap_or("");
        walker.kind = kind;
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
        let scope = if kind == "CustomResourceDefinition" {
            Scope::Schema
        } else if !kind.is_empty() && !api.is_empty() {
            Scope::Object
        } else {
            Scope::Values
        };
        let ctx = Ctx {
            in_flow: false,
            via: None,
            scope,
        };
        walker.walk(root, &mut Vec::new(), ctx);
    }
    walker.found
}

impl<'t> Walker<'t, '_> {
    fn walk(&mut self, node: &'t Node, keys: &mut Vec<&'t str>, ctx: Ctx<'_>) {
        if ctx.via.is_some() {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
        }
        match node {
            Node::Scalar(scalar) => {
                if ctx.via.is_none() {
                    self.marker(scalar, ctx.in_flow);
                }
            }
            Node::Map(map) => self.walk_map(map, keys, ctx),
            Node::Seq(seq) => {
                keys.push(LIST);
                for item in &seq.items {
                    if let Node::Scalar(scalar) = item {
                        self.seen(keys, scalar, ctx);
                    }
                    self.walk(
                        item,
                        keys,
                        Ctx {
                            in_flow: seq.flow,
                            ..ctx
                        },
                    );
                }
                keys.pop();
            }
            Node::Alias { id, pos, .. } => {
                if self.budget == 0 {
                    return;
                }
                self.budget -= 1;
                if let Some((name, target)) = self.stream.resolve(*id) {
                    let alias = ctx.via.cloned().unwrap_or(AliasUse {
                        name: name.to_owned(),
                        pos: *pos,
                    });
                    self.walk(
                        target,
                        keys,
                        Ctx {
                            via: Some(&alias),
                            ..ctx
                        },
                    );
                }
            }
        }
    }

    fn walk_map(
        &mut self,
        map: &'t Collection<(Node, Node)>,
        keys: &mut Vec<&'t str>,
        ctx: Ctx<'_>,
    ) {
        let parts = self.parts.contains(&std::ptr::from_ref(map));
        for (key, value) in &map.items {
            let key = key.as_scalar().map_or("", |k| k.value.as_str());
            let scope = self.values_inside(ctx.scope, keys, key);
            if parts {
                // A block's own keys: its parts were read with it.
            } else if self.is_image_key(ctx.scope, keys, key) {
                self.image_value(value, map.flow, ctx.via.cloned());
            } else if let Node::Scalar(scalar) = value {
                keys.push(key);
                self.seen(keys, scalar, ctx);
                keys.pop();
            }
            keys.push(key);
            let inner = Ctx {
                in_flow: map.flow,
                scope,
                ..ctx
            };
            self.walk(value, keys, inner);
            keys.pop();
        }
    }

    /// The scope of the value of `key`: a Flux HelmRelease's `spec.values` and an Argo CD
    /// Application's `helm.valuesObject` are values trees inside an object.
    fn values_inside(&self, scope: Scope, keys: &[&str], key: &str) -> Scope {
        let helm_release = self.kind == "HelmRelease" && keys == ["spec"] && key == "values";
        let application = self.kind.starts_with("Application")
            && key == "valuesObject"
            && keys.last() == Some(&"helm");
        if scope == Scope::Object && (helm_release || application) {
            Scope::Values
        } else {
            scope
        }
    }

    fn is_image_key(&self, scope: Scope, keys: &[&str], key: &str) -> bool {
        match scope {
            Scope::Schema => false,
            Scope::Object => {
                // `image` of a container entry, or of an image volume (`volumes[].image`).
                let container = key == "image"
                    && keys.len() >= 2
                    && keys[keys.len() - 1] == LIST
                    && (CONTAINER_LISTS.contains(&keys[keys.len() - 2])
                        || keys[keys.len() - 2] == "volumes");
                container
                    || self.options.object_image_paths.iter().any(|rule| {
                        let (kind, path) = rule.split_once(':').unwrap_or(("", rule));
                        (kind.is_empty() || kind == self.kind) && path_is(path, keys, key)
                    })
            }
            Scope::Values => {
                is_image_suffix(key)
                    || self.options.image_keys.iter().any(|rule| {
                        if rule.contains('.') {
                            path_is(rule, keys, key)
                        } else {
                            rule == key
                        }
                    })
            }
        }
    }

    /// Records `scalar` (under the key path `keys`) when it reads as an image reference that no
    /// rule rewrites, so an update that would change it can say so.
    fn seen(&mut self, keys: &[&'t str], scalar: &'t Scalar, ctx: Ctx<'_>) {
        if ctx.via.is_some() || ctx.scope == Scope::Schema {
            return;
        }
        let Some(value) = scalar.text() else { return };
        let key = keys
            .iter()
            .rev()
            .find(|k| **k != LIST)
            .copied()
            .unwrap_or("");
        let imageish = key.to_ascii_lowercase().contains("image")
            || matches!(key, "repository" | "repo")
            || value.contains(['/', ':', '@']);
        if !imageish || ImageRef::parse(value).is_err() {
            return;
        }
        let path: Vec<&str> = keys.iter().copied().filter(|k| *k != LIST).collect();
        self.found.push(Occurrence::Seen(Seen {
            scalar,
            path: path.join("."),
            scope: ctx.scope,
        }));
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
                } else if let Some(block) = self.helm_block(map) {
                    self.parts.insert(std::ptr::from_ref(map));
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
                    self.parts.insert(std::ptr::from_ref(map));
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

    /// Reads `map` as a Helm image block: `repository` (or `repo`/`name` beside a `tag`, or
    /// `image` beside a `registry`, `tag` or `digest`, as ingress-nginx writes it), with optional
    /// `registry`, `tag`, `digest` or `sha`. A part written as an alias is read through it.
    fn helm_block(&self, map: &'t Collection<(Node, Node)>) -> Option<Block<'t>> {
        let mut aliased = Vec::new();
        let mut part = |key: &str| -> Option<&'t Scalar> {
            let (_, value) = map
                .items
                .iter()
                .find(|(k, _)| k.as_scalar().is_some_and(|k| k.value == key))?;
            match value {
                Node::Scalar(s) => Some(s),
                Node::Alias { id, pos, .. } => {
                    let (name, target) = self.stream.resolve(*id)?;
                    let scalar = target.as_scalar()?;
                    let name = name.to_owned();
                    aliased.push((scalar.span.start, AliasUse { name, pos: *pos }));
                    Some(scalar)
                }
                _ => None,
            }
        };
        let registry = part("registry");
        let tag = part("tag");
        let digest = part("digest");
        let sha = part("sha");
        let named = |s: Option<&'t Scalar>| s.filter(|s| s.text().is_some());
        let repository = named(part("repository"))
            .or_else(|| named(part("image")).filter(|_| registry.or(tag).or(digest).is_some()))
            .or_else(|| named(part("repo")).filter(|_| tag.is_some()))
            .or_else(|| named(part("name")).filter(|_| tag.is_some()))?;
        Some(Block {
            map,
            registry,
            repository,
            tag,
            digest,
            sha,
            aliased,
        })
    }
}

/// Whether `key` under `keys` is the dotted `rule`, list levels left out.
fn path_is(rule: &str, keys: &[&str], key: &str) -> bool {
    let mut parts = rule.split('.').rev();
    if parts.next() != Some(key) {
        return false;
    }
    let mut keys = keys.iter().rev().filter(|k| **k != LIST);
    loop {
        match (parts.next(), keys.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == *b => {}
            _ => return false,
        }
    }
}

/// `thanosImage`, `configReloaderImage`: a camelCase key ending in `Image`.
fn is_image_suffix(key: &str) -> bool {
    key.strip_suffix("Image")
        .and_then(|head| head.chars().last())
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}
