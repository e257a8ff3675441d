//! Turning occurrences and updates into byte edits.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use granit_parser::ScalarStyle;

use crate::edit::{Change, Edit, Field, Site, Skipped};
use crate::image_ref::{ImageRef, Target, normalise_name, split_registry};
use crate::layout;
use crate::locate::{AliasUse, Block, Entry, KustomizeList, Occurrence, Scope, Seen};
use crate::scalar::render;
use crate::tree::{Scalar, line_col};
use crate::{Options, RewriteError, Update};

/// An image update with its name normalised once.
pub(crate) struct ImageUpdate<'u> {
    pub given: &'u str,
    pub normalised: String,
    pub target: &'u Target,
}

/// Collects the edits for one file.
pub(crate) struct Planner<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub edits: Vec<Edit>,
    pub changes: Vec<Change>,
    /// The first edit over each byte range (a lookup per value: a scan made big files quadratic).
    by_range: HashMap<Range<usize>, usize>,
    /// Index of the occurrence being planned.
    current: usize,
    /// References to an updated image that no rule rewrites.
    pub skipped: Vec<Skipped>,
    /// Scalars that would change but are reached through an alias: start, alias, image, value.
    alias_hits: Vec<(usize, AliasUse, String, String)>,
    /// Scalars that image references reach through an alias: start, alias, image.
    alias_uses: Vec<(usize, AliasUse, String)>,
}

impl<'a> Planner<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Self {
            path,
            text,
            edits: Vec::new(),
            changes: Vec::new(),
            by_range: HashMap::new(),
            current: 0,
            skipped: Vec::new(),
            alias_hits: Vec::new(),
            alias_uses: Vec::new(),
        }
    }

    /// Plans every occurrence, then refuses alias-only edits.
    pub fn plan(
        &mut self,
        occurrences: &[Occurrence<'_>],
        updates: &[Update],
        options: &Options,
        addable: Option<&HashSet<String>>,
    ) -> Result<(), RewriteError> {
        let images: Vec<ImageUpdate<'_>> = updates
            .iter()
            .filter_map(|u| match u {
                Update::Image { name, target } => Some(ImageUpdate {
                    given: name,
                    normalised: normalise_name(name),
                    target,
                }),
                Update::Setter { .. } => None,
            })
            .collect();
        for (index, occurrence) in occurrences.iter().enumerate() {
            self.current = index;
            self.note_alias_uses(occurrence);
            let via = occurrence.via().cloned();
            match occurrence {
                Occurrence::Full {
                    scalar, in_flow, ..
                } => self.full(scalar, *in_flow, &images, via.as_ref())?,
                Occurrence::Block { block, .. } => self.block(block, &images, via.as_ref())?,
                Occurrence::Entry { entry, .. } => self.entry(entry, &images)?,
                Occurrence::Marker {
                    scalar,
                    in_flow,
                    marker,
                } => {
                    for update in updates {
                        if let Update::Setter { policy, latest } = update
                            && *policy == marker.policy
                            && let Some(value) = marker.value_for(latest)
                        {
                            let image = format!("{}:{}", policy.namespace, policy.name);
                            let at = (Site::Setter, marker.field, image.as_str());
                            self.replace(scalar, &value, *in_flow, at, None)?;
                        }
                    }
                }
                Occurrence::List(list) if options.add_kustomize_entries => {
                    let addable: Vec<&ImageUpdate<'_>> = images
                        .iter()
                        .filter(|u| addable.is_none_or(|names| names.contains(&u.normalised)))
                        .collect();
                    self.add_entries(list, &addable)?;
                }
                Occurrence::List(_) | Occurrence::Seen(_) => {}
            }
        }
        self.refuse_alias_only_edits()?;
        self.refuse_shared_anchors()?;
        for occurrence in occurrences {
            if let Occurrence::Seen(seen) = occurrence {
                self.seen(seen, &images);
            }
        }
        Ok(())
    }

    /// Records which scalars image references reach through an alias.
    fn note_alias_uses(&mut self, occurrence: &Occurrence<'_>) {
        match occurrence {
            Occurrence::Full {
                scalar,
                via: Some(alias),
                ..
            } => self
                .alias_uses
                .push((scalar.span.start, alias.clone(), scalar.value.clone())),
            Occurrence::Block { block, via } => {
                let image = block.name();
                let parts = [block.registry, Some(block.repository), block.tag];
                let parts = parts.into_iter().chain([block.digest, block.sha]).flatten();
                for part in parts {
                    if let Some(alias) = via.as_ref().or(block.alias_of(part)) {
                        let use_ = (part.span.start, alias.clone(), image.clone());
                        self.alias_uses.push(use_);
                    }
                }
            }
            _ => {}
        }
    }

    /// Refuses values that would change only through an alias: the anchored value is not an
    /// image field, so editing it would change something else too.
    fn refuse_alias_only_edits(&mut self) -> Result<(), RewriteError> {
        for (start, alias, image, _) in &self.alias_hits {
            if !self
                .edits
                .iter()
                .any(|e| e.range.start == *start && e.expect.is_some())
            {
                return Err(RewriteError::EditThroughAlias {
                    path: self.path.to_owned(),
                    line: alias.pos.line,
                    column: alias.pos.col + 1,
                    alias: alias.name.clone(),
                    image: image.clone(),
                });
            }
        }
        Ok(())
    }

    /// Refuses editing an anchored value that another image reaches through an alias, unless
    /// that image gets the same new value.
    fn refuse_shared_anchors(&self) -> Result<(), RewriteError> {
        for edit in self.edits.iter().filter(|e| e.expect.is_some()) {
            let start = edit.range.start;
            for (at, alias, image) in self.alias_uses.iter().filter(|u| u.0 == start) {
                let same = self.alias_hits.iter().any(|(s, a, _, value)| {
                    *s == *at && a.pos == alias.pos && Some(value) == edit.expect.as_ref()
                });
                let unchanged = self.text.get(edit.range.clone()) == Some(edit.text.as_str());
                if !same && !unchanged {
                    let (line, _) = line_col(self.text, start);
                    return Err(RewriteError::SharedAnchor {
                        path: self.path.to_owned(),
                        line,
                        anchor: alias.name.clone(),
                        alias_line: alias.pos.line,
                        image: image.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Reports a reference to an updated image that no rule rewrites.
    fn seen(&mut self, seen: &Seen<'_>, images: &[ImageUpdate<'_>]) {
        let Ok(current) = ImageRef::parse(&seen.scalar.value) else {
            return;
        };
        let name = normalise_name(&current.name);
        let Some(update) = images.iter().find(|u| u.normalised == name) else {
            return;
        };
        if update.target.apply(&current) == current || self.by_range.contains_key(&seen.scalar.span)
        {
            return;
        }
        let flag = match seen.scope {
            Scope::Object => "--object-image-path",
            _ => "--image-key",
        };
        let leaf = seen.path.rsplit('.').next().unwrap_or("");
        let block_part = ["repository", "repo", "name", "image", "registry"].contains(&leaf);
        let key = match seen.path.rsplit_once('.') {
            Some((parent, _)) if block_part && seen.scope == Scope::Values => parent,
            _ => seen.path.as_str(),
        };
        self.skipped.push(Skipped {
            line: seen.scalar.pos.line,
            column: seen.scalar.pos.col + 1,
            key: seen.path.clone(),
            image: name,
            value: seen.scalar.value.clone(),
            option: format!("{flag} {key}"),
        });
    }

    fn push_edit(&mut self, edit: Edit) {
        self.by_range
            .entry(edit.range.clone())
            .or_insert(self.edits.len());
        self.edits.push(edit);
    }

    fn error(&self, at: usize, reason: &str) -> RewriteError {
        let (line, column) = line_col(self.text, at);
        RewriteError::Unsupported {
            path: self.path.to_owned(),
            line,
            column,
            reason: reason.to_owned(),
        }
    }

    /// Replaces `scalar` with `value` unless it already holds it.
    fn replace(
        &mut self,
        scalar: &Scalar,
        value: &str,
        in_flow: bool,
        (site, field, image): (Site, Field, &str),
        via: Option<&AliasUse>,
    ) -> Result<(), RewriteError> {
        if scalar.value == value {
            return Ok(());
        }
        if let Some(alias) = via {
            let hit = (
                scalar.span.start,
                alias.clone(),
                image.to_owned(),
                value.to_owned(),
            );
            self.alias_hits.push(hit);
            return Ok(());
        }
        if let Some(planned) = self.by_range.get(&scalar.span).map(|&i| &self.edits[i]) {
            // Two updates (a setter and an image update, say) for one value must agree.
            if planned.expect.as_deref() != Some(value) {
                return Err(self.error(
                    scalar.span.start,
                    "two updates want different values here; give one",
                ));
            }
            return Ok(());
        }
        let (range, text) = match scalar.style {
            ScalarStyle::Literal | ScalarStyle::Folded => self.block_scalar_line(scalar, value)?,
            style => {
                let text = render(value, style, in_flow)
                    .ok_or_else(|| self.error(scalar.span.start, "the value cannot be written"))?;
                let at = scalar.span.start;
                if scalar.span.is_empty() && self.text[at..].starts_with(':') {
                    // `tag:` with no value: the parser places the empty scalar at the
                    // colon, so the new value goes after it.
                    (at + 1..at + 1, format!(" {text}"))
                } else {
                    (scalar.span.clone(), text)
                }
            }
        };
        self.push_edit(Edit {
            range: range.clone(),
            text,
            expect: Some(value.to_owned()),
        });
        self.changes.push(Change {
            line: scalar.pos.line,
            column: scalar.pos.col + 1,
            site,
            field,
            image: image.into(),
            old: Some(scalar.value.as_str().into()),
            new: Some(value.into()),
            reference: self.current,
            span: range,
            new_span: 0..0,
        });
        Ok(())
    }

    /// The range and text replacing a one-line, strip-chomped block scalar (`image: >-` then the
    /// reference on the next line); other block scalars are refused.
    fn block_scalar_line(
        &self,
        scalar: &Scalar,
        value: &str,
    ) -> Result<(std::ops::Range<usize>, String), RewriteError> {
        let raw = &self.text[scalar.span.clone()];
        let one_line =
            |v: &str| !v.is_empty() && !v.contains(['\n', '\r']) && !v.starts_with([' ', '\t']);
        if one_line(&scalar.value) && one_line(value) && raw.starts_with(scalar.value.as_str()) {
            let start = scalar.span.start;
            return Ok((start..start + scalar.value.len(), value.to_owned()));
        }
        Err(self.error(
            scalar.span.start,
            "the value is a multi-line block scalar (`|` or `>`)",
        ))
    }

    fn insert(
        &mut self,
        edit: Option<Edit>,
        at: usize,
        change: Change,
    ) -> Result<(), RewriteError> {
        let edit = edit.ok_or_else(|| self.error(at, "cannot add a key to this mapping"))?;
        let (line, column) = line_col(self.text, edit.range.start);
        let span = edit.range.clone();
        self.push_edit(edit);
        self.changes.push(Change {
            line,
            column,
            span,
            reference: self.current,
            ..change
        });
        Ok(())
    }

    fn full(
        &mut self,
        scalar: &Scalar,
        in_flow: bool,
        images: &[ImageUpdate<'_>],
        via: Option<&AliasUse>,
    ) -> Result<(), RewriteError> {
        let Ok(current) = ImageRef::parse(&scalar.value) else {
            return Ok(());
        };
        let name = normalise_name(&current.name);
        if let Some(update) = images.iter().find(|u| u.normalised == name) {
            let new = update.target.apply(&current).to_string();
            let at = (Site::ImageField, Field::Reference, name.as_str());
            self.replace(scalar, &new, in_flow, at, via)?;
        }
        Ok(())
    }

    fn block(
        &mut self,
        block: &Block<'_>,
        images: &[ImageUpdate<'_>],
        via: Option<&AliasUse>,
    ) -> Result<(), RewriteError> {
        let joined = block.name();
        let Ok(parsed) = ImageRef::parse(&joined) else {
            return Ok(());
        };
        if parsed.tag.is_some() || parsed.digest.is_some() {
            return Ok(());
        }
        let name = normalise_name(&joined);
        let Some(update) = images.iter().find(|u| u.normalised == name) else {
            return Ok(());
        };
        let current = block.reference();
        let new = update.target.apply(&current);
        let flow = block.map.flow;
        let at = |field| (Site::HelmBlock, field, name.as_str());
        self.block_name(block, &current, &new, &name, via)?;
        if block.digest.is_none() && block.sha.is_none() {
            return self.pinned_tag(block, &current, &new, &name, via);
        }
        let fields = [
            (new.tag, current.tag, block.tag, "tag", Field::Tag),
            (
                new.digest,
                current.digest,
                block.digest,
                "digest",
                Field::Digest,
            ),
        ];
        for (new_value, old_value, scalar, key, field) in fields {
            if new_value == old_value {
                continue;
            }
            let scalar = match (field, scalar, block.sha) {
                (Field::Digest, None, Some(sha)) => {
                    let hex = new_value.as_deref().unwrap_or("");
                    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
                    self.replace(sha, hex, flow, at(field), via.or(block.alias_of(sha)))?;
                    continue;
                }
                (_, scalar, _) => scalar,
            };
            match (scalar, new_value) {
                (Some(s), value) => {
                    let value = value.as_deref().unwrap_or("");
                    self.replace(s, value, flow, at(field), via.or(block.alias_of(s)))?;
                }
                (None, Some(value)) => self.add_block_key(block, key, field, &name, value, via)?,
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// Renames a block's image when the update names another one: the
    /// registry and repository keys when the block splits them, the
    /// repository key alone otherwise.
    fn block_name(
        &mut self,
        block: &Block<'_>,
        current: &ImageRef,
        new: &ImageRef,
        name: &str,
        via: Option<&AliasUse>,
    ) -> Result<(), RewriteError> {
        let flow = block.map.flow;
        let at = |field| (Site::HelmBlock, field, name);
        let registry = block.registry.filter(|r| r.text().is_some());
        let renamed = normalise_name(&new.name) != name;
        if !renamed && (registry.is_some() || new.name == current.name) {
            return Ok(());
        }
        let repo_via = via.or(block.alias_of(block.repository));
        let Some(reg) = registry else {
            return self.replace(block.repository, &new.name, flow, at(Field::Name), repo_via);
        };
        let normalised = normalise_name(&new.name);
        let (host, path) = match split_registry(&new.name) {
            (Some(host), path) => (host, path),
            (None, _) => {
                let (host, path) = split_registry(&normalised);
                (host.unwrap_or("docker.io"), path)
            }
        };
        let reg_via = via.or(block.alias_of(reg));
        self.replace(reg, host, flow, at(Field::Registry), reg_via)?;
        self.replace(block.repository, path, flow, at(Field::Name), repo_via)
    }

    /// Tag and digest of a block without a digest key: a digest goes into `tag:` as
    /// `TAG@DIGEST` (what `repo:tag` templates render correctly), never into a key the chart
    /// does not read; a digest without a tag is refused.
    fn pinned_tag(
        &mut self,
        block: &Block<'_>,
        current: &ImageRef,
        new: &ImageRef,
        name: &str,
        via: Option<&AliasUse>,
    ) -> Result<(), RewriteError> {
        if new.tag == current.tag && new.digest == current.digest {
            return Ok(());
        }
        let value = match (&new.tag, &new.digest) {
            (Some(tag), Some(digest)) => format!("{tag}@{digest}"),
            (Some(tag), None) => tag.clone(),
            (None, None) => String::new(),
            (None, Some(_)) => {
                return Err(self.error(
                    block.repository.span.start,
                    "this image block has no `digest` key, so the chart would render the \
                     image without the digest; give a tag with it (NAME:TAG@sha256:…) to \
                     write `tag: TAG@sha256:…`",
                ));
            }
        };
        let field = if new.digest.is_some() {
            Field::Digest
        } else {
            Field::Tag
        };
        let at = (Site::HelmBlock, field, name);
        match block.tag {
            Some(s) => self.replace(s, &value, block.map.flow, at, via.or(block.alias_of(s))),
            None if value.is_empty() => Ok(()),
            None => self.add_block_key(block, "tag", field, name, value, via),
        }
    }

    /// Adds `key: value` to a block; refused when the block is reached through an alias.
    fn add_block_key(
        &mut self,
        block: &Block<'_>,
        key: &str,
        field: Field,
        name: &str,
        value: String,
        via: Option<&AliasUse>,
    ) -> Result<(), RewriteError> {
        if let Some(alias) = via {
            return Err(RewriteError::EditThroughAlias {
                path: self.path.to_owned(),
                line: alias.pos.line,
                column: alias.pos.col + 1,
                alias: alias.name.clone(),
                image: name.to_owned(),
            });
        }
        let rendered = render(&value, ScalarStyle::Plain, block.map.flow).unwrap_or_default();
        let edit = layout::insert_entry(self.text, block.map, key, &rendered);
        let change = new_key_change(Site::HelmBlock, field, name, value);
        self.insert(edit, block.map.start, change)
    }

    fn entry(&mut self, entry: &Entry<'_>, images: &[ImageUpdate<'_>]) -> Result<(), RewriteError> {
        let name = normalise_name(&entry.name.value);
        let new_name = entry.new_name.and_then(Scalar::text).map(normalise_name);
        let Some(update) = images
            .iter()
            .find(|u| u.normalised == name || new_name.as_ref() == Some(&u.normalised))
        else {
            return Ok(());
        };
        let value = |s: Option<&Scalar>| s.and_then(Scalar::text).map(str::to_owned);
        let current = ImageRef {
            name: value(entry.new_name).unwrap_or_else(|| entry.name.value.clone()),
            tag: value(entry.new_tag),
            digest: value(entry.digest),
        };
        let new = update.target.apply(&current);
        let flow = entry.map.flow;
        let site = |field| (Site::Kustomize, field, name.as_str());
        let mut removals = Vec::new();
        if new.name != current.name {
            match entry.new_name {
                Some(s) => self.replace(s, &new.name, flow, site(Field::Name), None)?,
                None if normalise_name(&new.name) != name => {
                    self.add_key(entry, "newName", &new.name, Field::Name, &name)?;
                }
                None => {}
            }
        }
        let parts = [
            (new.tag, current.tag, entry.new_tag, "newTag", Field::Tag),
            (
                new.digest,
                current.digest,
                entry.digest,
                "digest",
                Field::Digest,
            ),
        ];
        for (new_value, old_value, scalar, key, field) in parts {
            match (new_value, scalar) {
                (n, _) if n == old_value => {}
                (Some(v), Some(s)) => self.replace(s, &v, flow, site(field), None)?,
                (Some(v), None) => self.add_key(entry, key, &v, field, &name)?,
                (None, Some(s)) => removals.push((key, s, field)),
                (None, None) => {}
            }
        }
        for (key, scalar, field) in removals {
            if comment_follows(self.text, scalar.span.end) {
                // The line carries a comment (a Flux marker, say): blank the value, keep it.
                self.replace(scalar, "", flow, site(field), None)?;
                continue;
            }
            let index = entry
                .map
                .items
                .iter()
                .position(|(k, _)| k.as_scalar().is_some_and(|k| k.value == key));
            let edit = index.and_then(|i| layout::remove_entry(self.text, entry.map, i));
            let edit =
                edit.ok_or_else(|| self.error(scalar.span.start, "cannot remove this key"))?;
            let span = edit.range.clone();
            self.push_edit(edit);
            self.changes.push(Change {
                line: scalar.pos.line,
                column: scalar.pos.col + 1,
                site: Site::Kustomize,
                field,
                image: name.as_str().into(),
                old: Some(scalar.value.as_str().into()),
                new: None,
                reference: self.current,
                span,
                new_span: 0..0,
            });
        }
        Ok(())
    }

    fn add_key(
        &mut self,
        entry: &Entry<'_>,
        key: &str,
        value: &str,
        field: Field,
        name: &str,
    ) -> Result<(), RewriteError> {
        let rendered = render(value, ScalarStyle::Plain, entry.map.flow).unwrap_or_default();
        let edit = layout::insert_entry(self.text, entry.map, key, &rendered);
        let change = new_key_change(Site::Kustomize, field, name, value.to_owned());
        self.insert(edit, entry.map.start, change)
    }

    fn add_entries(
        &mut self,
        list: &KustomizeList<'_>,
        images: &[&ImageUpdate<'_>],
    ) -> Result<(), RewriteError> {
        for update in images {
            if list.names.contains(&update.normalised) {
                continue;
            }
            let current = ImageRef {
                name: update.given.to_owned(),
                tag: None,
                digest: None,
            };
            let new = update.target.apply(&current);
            let mut fields = vec![("name", update.given.to_owned())];
            if normalise_name(&new.name) != update.normalised {
                fields.push(("newName", new.name.clone()));
            }
            if let Some(tag) = &new.tag {
                fields.push(("newTag", tag.clone()));
            }
            if let Some(digest) = &new.digest {
                fields.push(("digest", digest.clone()));
            }
            if fields.len() == 1 {
                continue;
            }
            let in_flow = matches!(list.images, Some(crate::tree::Node::Seq(s)) if s.flow);
            let rendered: Vec<(&str, String)> = fields
                .iter()
                .map(|(k, v)| {
                    (
                        *k,
                        render(v, ScalarStyle::Plain, in_flow).unwrap_or_default(),
                    )
                })
                .collect();
            let edit = match list.images {
                Some(crate::tree::Node::Seq(seq)) => layout::append_item(self.text, seq, &rendered),
                _ => layout::insert_list(self.text, list.parent, "images", &rendered),
            };
            let change = new_key_change(
                Site::Kustomize,
                Field::Entry,
                &update.normalised,
                new.to_string(),
            );
            self.insert(edit, list.parent.start, change)?;
        }
        Ok(())
    }
}

/// Whether a comment follows position `end` on its line.
fn comment_follows(text: &str, end: usize) -> bool {
    let rest = text.get(end..).unwrap_or("");
    let line = rest.split('\n').next().unwrap_or("");
    line.trim_start_matches([' ', '\t']).starts_with('#')
}

fn new_key_change(site: Site, field: Field, image: &str, value: String) -> Change {
    Change {
        line: 0,
        column: 0,
        site,
        field,
        image: image.into(),
        old: None,
        new: Some(value.into()),
        reference: 0,
        span: 0..0,
        new_span: 0..0,
    }
}
