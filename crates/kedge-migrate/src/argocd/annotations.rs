//! `argocd-image-updater.argoproj.io/*` annotations of an Argo CD
//! `Application` (AIU v0.x, and v1.x with `useAnnotations: true`).

use super::settings::{AiuImage, Setting, UpdateSettings, WriteBackSettings};
use crate::report::{At, Report};
use crate::yaml::Node;

/// The annotation prefix.
pub(super) const PREFIX: &str = "argocd-image-updater.argoproj.io/";

/// Per-image annotation suffixes (after `<alias>.`).
const IMAGE_KEYS: [&str; 10] = [
    "update-strategy",
    "force-update",
    "allow-tags",
    "ignore-tags",
    "pull-secret",
    "platforms",
    "helm.image-spec",
    "helm.image-name",
    "helm.image-tag",
    "kustomize.image-name",
];

/// What an Application's annotations configure.
#[derive(Debug, Default)]
pub(super) struct Annotated {
    /// `image-list`, with each image's settings.
    pub images: Vec<AiuImage>,
    /// The write-back annotations.
    pub write_back: WriteBackSettings,
    /// Whether `image-list` is present.
    pub has_image_list: bool,
}

/// Reads the AIU annotations in `annotations` (`metadata.annotations` at `at`).
pub(super) fn read(annotations: &Node, at: &At, report: &mut Report) -> Annotated {
    let mut annotated = Annotated::default();
    let mut app_wide = UpdateSettings::default();
    let mut per_image: Vec<(String, &str, Setting)> = Vec::new();
    for (key, node) in annotations.entries() {
        let Some(name) = key.strip_prefix(PREFIX) else {
            continue;
        };
        let here = at.child(node.line, key);
        let value = node.as_str().unwrap_or_default();
        let one = || Setting::one(value.trim(), here.clone());
        match name {
            "image-list" => {
                annotated.has_image_list = true;
                annotated.images = value
                    .split(',')
                    .map(str::trim)
                    .filter(|spec| !spec.is_empty())
                    .map(|spec| AiuImage::from_spec(spec, here.clone()))
                    .collect();
            }
            "update-strategy" => app_wide.strategy = Some(one()),
            "force-update" => app_wide.force_update = Some(one()),
            "allow-tags" => app_wide.allow_tags = Some(one()),
            "ignore-tags" => app_wide.ignore_tags = Some(Setting::comma_list(value, here.clone())),
            "pull-secret" => app_wide.pull_secret = Some(one()),
            "platforms" => app_wide.platforms = Some(Setting::comma_list(value, here.clone())),
            "write-back-method" => annotated.write_back.method = Some(one()),
            "git-branch" => annotated.write_back.branch = Some(one()),
            "git-repository" => annotated.write_back.repository = Some(one()),
            "write-back-target" => annotated.write_back.target = Some(one()),
            _ => match IMAGE_KEYS
                .iter()
                .find_map(|suffix| Some((name.strip_suffix(suffix)?.strip_suffix('.')?, *suffix)))
            {
                Some((alias, suffix)) => {
                    let setting = match suffix {
                        "ignore-tags" | "platforms" => Setting::comma_list(value, here.clone()),
                        _ => one(),
                    };
                    per_image.push((alias.to_owned(), suffix, setting));
                }
                None => report.not_mapped(
                    &here,
                    "not an annotation Argo CD Image Updater defines, so nothing to map",
                ),
            },
        }
    }
    attach(&mut annotated.images, per_image, report);
    for image in &mut annotated.images {
        image.settings = std::mem::take(&mut image.settings).or(&app_wide);
    }
    annotated
}

/// Gives each image its `<alias>.<key>` settings; keys for an alias not in
/// the list are reported.
fn attach(images: &mut [AiuImage], per_image: Vec<(String, &str, Setting)>, report: &mut Report) {
    for (alias, suffix, setting) in per_image {
        let image = images
            .iter_mut()
            .find(|image| image.alias.as_deref().map(annotation_alias) == Some(alias.clone()));
        match image {
            Some(image) => set_image_key(image, suffix, setting),
            None => report.note(
                &setting.at,
                format!(
                    "no image-list entry has the alias {alias:?}; Argo CD Image Updater ignores \
                     this annotation, and so does the import"
                ),
            ),
        }
    }
}

/// An alias as written in annotation keys: `/` becomes `_`.
fn annotation_alias(alias: &str) -> String {
    alias.replace('/', "_")
}

fn set_image_key(image: &mut AiuImage, suffix: &str, setting: Setting) {
    let settings = &mut image.settings;
    match suffix {
        "update-strategy" => settings.strategy = Some(setting),
        "force-update" => settings.force_update = Some(setting),
        "allow-tags" => settings.allow_tags = Some(setting),
        "ignore-tags" => settings.ignore_tags = Some(setting),
        "pull-secret" => settings.pull_secret = Some(setting),
        "platforms" => settings.platforms = Some(setting),
        "helm.image-spec" => image.helm_spec = Some(setting),
        "helm.image-name" => image.helm_name = Some(setting),
        "helm.image-tag" => image.helm_tag = Some(setting),
        _ => image.kustomize_name = Some(setting),
    }
}
