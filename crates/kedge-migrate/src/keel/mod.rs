//! Keel: `keel.sh/*` annotations (or labels) on workloads, and the `keel:`
//! block of Helm values. Keel changes the cluster; kedge commits to Git, so
//! the repository (`--git-url`) is a required input, and each file is its
//! own target unless `--path` says where it lives in the repository.

mod policy;

use policy::{KeelSetting, KeelSettings};

use crate::error::not_this_tool;
use crate::group::{Mapped, Repo, repo_path};
use crate::model::{Git, WriteBack};
use crate::report::{At, File, Report};
use crate::yaml::{Document, Node};
use crate::{ImportOptions, MigrateError, Tool};

/// The annotation and label prefix.
const PREFIX: &str = "keel.sh/";

/// Maps every Keel-managed workload and `keel:` values block in `files`.
pub(crate) fn import(
    files: &[File],
    options: &ImportOptions,
    report: &mut Report,
) -> Result<Vec<Mapped>, MigrateError> {
    let Some(url) = options.git_url.clone() else {
        return Err(MigrateError::GitUrlRequired {
            tool: Tool::Keel.name(),
        });
    };
    let repo = Repo {
        git: Git {
            url,
            branch: options.branch.clone().filter(|b| b != "main"),
            author: None,
        },
        write_back: WriteBack::default(),
        forge: None,
    };
    let mut mapped = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let before = mapped.len();
        let mut managed = false;
        let target = options
            .path_for(index)
            .map(str::to_owned)
            .or_else(|| repo_path(".", &file.path.to_string_lossy()))
            .unwrap_or_else(|| ".".to_owned());
        for document in &file.documents {
            let at = At::new(&file.path, document.root.line, "");
            let images = if document.kind().is_some() {
                workload(document, &at, report)
            } else {
                values(document, &at, report)
            };
            let Some(images) = images else { continue };
            managed = true;
            let owner = document.name().unwrap_or("values").to_owned();
            mapped.extend(images.into_iter().map(|(image, at)| Mapped {
                repo: repo.clone(),
                image: crate::model::Image {
                    targets: vec![target.clone()],
                    ..image
                },
                owner: owner.clone(),
                at,
            }));
        }
        if !managed && mapped.len() == before {
            return Err(not_this_tool(
                file,
                Tool::Keel,
                "workloads with keel.sh/ annotations or Helm values with a keel: block",
            ));
        }
    }
    Ok(mapped)
}

/// A workload's images; `None` when it carries no `keel.sh/` setting.
fn workload(document: &Document, at: &At, report: &mut Report) -> Option<Vec<(crate::Image, At)>> {
    let mut settings = KeelSettings::default();
    for place in ["metadata.labels", "metadata.annotations"] {
        let entries = document
            .root
            .path(place)
            .map(Node::entries)
            .unwrap_or_default();
        for (key, node) in entries {
            let Some(name) = key.strip_prefix(PREFIX) else {
                continue;
            };
            let setting = KeelSetting {
                value: node.as_str().unwrap_or_default().trim().to_owned(),
                at: at.child(node.line, key),
            };
            // Annotations are read after labels and win.
            settings.settings.retain(|(k, _)| k != name);
            settings.settings.push((name.to_owned(), setting));
        }
    }
    if settings.settings.is_empty() {
        return None;
    }
    settings.report_unmapped(report);
    let pod = match document.kind() {
        Some("CronJob") => "spec.jobTemplate.spec.template.spec",
        Some("Pod") => "spec",
        _ => "spec.template.spec",
    };
    let containers = document.root.path(&format!("{pod}.containers"));
    let init = settings
        .get("initContainers")
        .is_some_and(|i| i.value == "true");
    let init_containers = document
        .root
        .path(&format!("{pod}.initContainers"))
        .filter(|_| init);
    let mut images = Vec::new();
    for container in containers
        .into_iter()
        .chain(init_containers)
        .flat_map(Node::items)
    {
        let Some(reference) = container.str("image") else {
            continue;
        };
        let image_at = at.child(container.line, &format!("{pod}.containers[].image"));
        let Ok(parsed) = kedge_image::ImageRef::parse(reference) else {
            report.not_mapped(
                &image_at,
                format!("{reference:?} is not an image reference"),
            );
            continue;
        };
        let alias = container.str("name").unwrap_or("image");
        let name = parsed.written_name().to_owned();
        if let Some(image) = policy::image(alias, &name, parsed.tag(), &settings, &image_at, report)
        {
            images.push((image, image_at));
        }
    }
    Some(images)
}

/// A values file's `keel:` images; `None` without a `keel:` block.
fn values(document: &Document, at: &At, report: &mut Report) -> Option<Vec<(crate::Image, At)>> {
    let keel = document.root.get("keel")?;
    let keel_at = at.child(keel.line, "keel");
    let mut settings = KeelSettings::default();
    for (key, node) in keel.entries() {
        let value = node.as_str().unwrap_or_default().trim().to_owned();
        let setting = KeelSetting {
            value,
            at: keel_at.child(node.line, key),
        };
        settings.settings.push((key.clone(), setting));
    }
    settings.report_unmapped(report);
    let mut images = Vec::new();
    for (i, entry) in keel
        .get("images")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let entry_at = keel_at.child(entry.line, &format!("images[{i}]"));
        for (key, node) in entry.entries() {
            let reason = match key.as_str() {
                "repository" | "tag" => continue,
                "imagePullSecret" => {
                    "kedge reads a dockerconfigjson Secret from a file: save the Secret and set \
                     registries[].pullSecret"
                }
                "releaseNotes" => "kedge.yaml has no release-notes link",
                _ => "not a setting Keel documents",
            };
            report.not_mapped(&entry_at.child(node.line, key), reason);
        }
        if let Some((image, at)) = values_image(document, entry, &entry_at, &settings, report) {
            images.push((image, at));
        }
    }
    Some(images)
}

/// One `keel.images[]` entry: the values at its `repository` and `tag` paths.
fn values_image(
    document: &Document,
    entry: &Node,
    at: &At,
    settings: &KeelSettings,
    report: &mut Report,
) -> Option<(crate::Image, At)> {
    let repository_path = entry.str("repository")?;
    let tag_path = entry.str("tag");
    let Some(reference) = document.root.path(repository_path).and_then(Node::as_str) else {
        report.not_mapped(at, format!("{repository_path} is not a value in this file"));
        return None;
    };
    let (parent, key) = repository_path
        .rsplit_once('.')
        .unwrap_or(("", repository_path));
    let last = parent.rsplit('.').next().unwrap_or(parent);
    let image_key = last == "image" || (last.ends_with("Image") && last.len() > 5);
    let tag_beside = tag_path.is_none_or(|t| t == format!("{parent}.tag"));
    if !(image_key && tag_beside && matches!(key, "repository" | "repo" | "name" | "image")) {
        report.not_mapped(
            at,
            format!(
                "kedge finds images in Helm values under keys named image or …Image (a \
                 repository and a tag beside it); {repository_path} is not one"
            ),
        );
        return None;
    }
    let (name, mut tag) = crate::tags::split_tag(reference);
    if let Some(tag_path) = tag_path {
        tag = document.root.path(tag_path).and_then(Node::as_str);
    }
    let alias = parent
        .strip_suffix(".image")
        .or(parent.strip_suffix("image"))
        .unwrap_or(parent)
        .trim_end_matches('.')
        .replace('.', "-");
    let alias = if alias.is_empty() {
        name.rsplit('/').next().unwrap_or(name).to_owned()
    } else {
        alias
    };
    let image = policy::image(&alias, name, tag, settings, at, report)?;
    Some((image, at.clone()))
}
