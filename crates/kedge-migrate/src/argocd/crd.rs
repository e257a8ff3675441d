//! The `ImageUpdater` resource (`argocd-image-updater.argoproj.io/v1alpha1`):
//! which Applications it selects and what it updates in them.

use super::app::Application;
use super::settings::{AiuImage, PullRequestSettings, Setting, UpdateSettings, WriteBackSettings};
use crate::report::{At, Report};
use crate::yaml::{Node, Value};

/// What one `applicationRefs[]` entry asks for.
#[derive(Debug)]
pub(super) struct ApplicationRef {
    /// The Applications among the input it selects.
    pub matches: Vec<Application>,
    /// `useAnnotations: true`: read each Application's annotations instead of `images`.
    pub use_annotations: bool,
    /// Its images, settings merged down from the resource.
    pub images: Vec<AiuImage>,
    /// Write-back, merged down from the resource.
    pub write_back: WriteBackSettings,
    /// Where the entry is.
    pub at: At,
    /// `namePattern`, for messages.
    pub name_pattern: String,
    /// Applications the pattern names whose labels the selector refuses.
    pub unselected: Vec<String>,
}

/// Reads an `ImageUpdater` document whose root is `root` at `at`.
pub(super) fn read(
    root: &Node,
    at: &At,
    apps: &[Application],
    report: &mut Report,
) -> Vec<ApplicationRef> {
    let spec_at = at.child(root.get("spec").map_or(at.line, |s| s.line), "spec");
    let Some(spec) = root.get("spec") else {
        report.not_mapped(&spec_at, "an ImageUpdater without spec updates nothing");
        return Vec::new();
    };
    verification(spec, &spec_at, report);
    let common = update_settings(spec, &spec_at);
    let write_back = read_write_back(spec, &spec_at);
    let refs = spec
        .get("applicationRefs")
        .map(Node::items)
        .unwrap_or_default();
    refs.iter()
        .enumerate()
        .map(|(i, item)| {
            let at = spec_at.child(item.line, &format!("applicationRefs[{i}]"));
            verification(item, &at, report);
            let common = update_settings(item, &at).or(&common);
            let pattern = item.str("namePattern").unwrap_or("*").to_owned();
            let (matches, unselected): (Vec<Application>, Vec<Application>) = apps
                .iter()
                .filter(|app| name_matches(&pattern, &app.name))
                .cloned()
                .partition(|app| labels_match(item.get("labelSelectors"), &app.labels));
            let unselected = unselected.into_iter().map(|app| app.name).collect();
            let images = item.get("images").map(Node::items).unwrap_or_default();
            let images = images
                .iter()
                .enumerate()
                .map(|(j, image)| {
                    read_image(
                        image,
                        &at.child(image.line, &format!("images[{j}]")),
                        &common,
                        report,
                    )
                })
                .collect();
            ApplicationRef {
                matches,
                use_annotations: item.str("useAnnotations") == Some("true"),
                images,
                write_back: read_write_back(item, &at).or(&write_back),
                at,
                name_pattern: pattern,
                unselected,
            }
        })
        .collect()
}

/// One `images[]` item.
fn read_image(image: &Node, at: &At, common: &UpdateSettings, report: &mut Report) -> AiuImage {
    let name = image.str("imageName").unwrap_or_default();
    let name_at = at.child(
        image.get("imageName").map_or(at.line, |n| n.line),
        "imageName",
    );
    let mut aiu = AiuImage::from_spec(name, name_at);
    aiu.alias = image.str("alias").map(str::to_owned);
    aiu.settings = update_settings(image, at).or(common);
    verification(image, at, report);
    if let Some(targets) = image.get("manifestTargets") {
        let targets_at = at.child(targets.line, "manifestTargets");
        let setting = |path: &str| {
            let node = targets.path(path)?;
            Some(Setting::one(
                node.as_str()?,
                targets_at.child(node.line, path),
            ))
        };
        aiu.helm_name = setting("helm.name");
        aiu.helm_tag = setting("helm.tag");
        aiu.helm_spec = setting("helm.spec");
        aiu.kustomize_name = setting("kustomize.name");
        if let Some(plugin) = targets.get("plugin") {
            aiu.unsupported.push((
                targets_at.child(plugin.line, "plugin"),
                "kedge edits YAML files in Git and does not set Config Management Plugin \
                 environment variables; point kedge at the files the plugin reads"
                    .to_owned(),
            ));
        }
    }
    aiu
}

/// `commonUpdateSettings` of `node`.
fn update_settings(node: &Node, at: &At) -> UpdateSettings {
    let Some(common) = node.get("commonUpdateSettings") else {
        return UpdateSettings::default();
    };
    let at = at.child(common.line, "commonUpdateSettings");
    let get = |key: &str| setting(common, &at, key);
    UpdateSettings {
        strategy: get("updateStrategy"),
        force_update: get("forceUpdate"),
        allow_tags: get("allowTags"),
        ignore_tags: get("ignoreTags"),
        pull_secret: get("pullSecret"),
        platforms: get("platforms"),
    }
}

/// `writeBackConfig` of `node`.
fn read_write_back(node: &Node, at: &At) -> WriteBackSettings {
    let Some(config) = node.get("writeBackConfig") else {
        return WriteBackSettings::default();
    };
    let at = at.child(config.line, "writeBackConfig");
    let git = config.get("gitConfig");
    let git_at = at.child(git.map_or(at.line, |g| g.line), "gitConfig");
    let git_setting = |key: &str| git.and_then(|git| setting(git, &git_at, key));
    let pull_request = git.and_then(|git| git.get("pullRequest")).map(|pr| {
        let forge = pr
            .entries()
            .iter()
            .map(|(key, _)| key.as_str())
            .find(|key| *key != "labels")
            .unwrap_or("github");
        PullRequestSettings {
            forge: forge.to_owned(),
            labels: pr
                .get("labels")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect(),
            at: git_at.child(pr.line, "pullRequest"),
        }
    });
    WriteBackSettings {
        method: setting(config, &at, "method"),
        branch: git_setting("branch"),
        repository: git_setting("repository"),
        target: git_setting("writeBackTarget"),
        pull_request,
    }
}

/// A scalar or list field as a [`Setting`].
fn setting(node: &Node, at: &At, key: &str) -> Option<Setting> {
    let value = node.get(key)?;
    let at = at.child(value.line, key);
    match &value.value {
        Value::Scalar(text) => Some(Setting::one(text, at)),
        Value::Seq(items) => Some(Setting {
            values: items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            at,
        }),
        _ => None,
    }
}

/// Reports `imagesVerification` unless it is turned off.
fn verification(node: &Node, at: &At, report: &mut Report) {
    if let Some(verify) = node.get("imagesVerification")
        && verify.str("enabled") != Some("false")
    {
        report.not_mapped(
            &at.child(verify.line, "imagesVerification"),
            "kedge does not verify image signatures; keep verification in admission control \
             (a policy controller) so unsigned images are refused at deploy time",
        );
    }
}

/// `namePattern` as a glob over Application names.
fn name_matches(pattern: &str, name: &str) -> bool {
    crate::tags::glob_to_regex(pattern)
        .and_then(|regex| regex::Regex::new(&regex).ok())
        .is_some_and(|regex| regex.is_match(name))
}

/// A Kubernetes label selector (`matchLabels`, `matchExpressions`) over `labels`.
pub(crate) fn labels_match(selector: Option<&Node>, labels: &[(String, String)]) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let label = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let by_label = selector
        .get("matchLabels")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .all(|(key, value)| label(key) == value.as_str());
    let by_expression = selector
        .get("matchExpressions")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .all(|expression| {
            let key = expression.str("key").unwrap_or_default();
            let values: Vec<&str> = expression
                .get("values")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .collect();
            match (expression.str("operator"), label(key)) {
                (Some("In"), Some(value)) => values.contains(&value),
                (Some("NotIn"), value) => value.is_none_or(|v| !values.contains(&v)),
                (Some("Exists"), value) => value.is_some(),
                (Some("DoesNotExist"), value) => value.is_none(),
                _ => false,
            }
        });
    by_label && by_expression
}
