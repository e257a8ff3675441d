//! One Argo CD Image Updater image (its strategy, tag filters, platforms,
//! pull secret and Helm/Kustomize names) as a kedge `images[]` entry.

use super::settings::{AiuImage, Setting};
use crate::model::{Image, Pin, Policy, Strategy};
use crate::report::Report;
use crate::tags;

/// Where an image's changes are written: the application's targets.
pub(super) struct Targets<'a> {
    /// Repository paths.
    pub paths: &'a [String],
    /// Whether the application is a Helm chart (its values hold the image).
    pub helm: bool,
}

/// The `images[]` entry for `image`; `None` (with the reason reported) when it
/// cannot be one.
pub(super) fn map(image: &AiuImage, targets: &Targets<'_>, report: &mut Report) -> Option<Image> {
    for (at, reason) in &image.unsupported {
        report.not_mapped(at, reason.clone());
    }
    if image.name.contains('@') {
        report.not_mapped(
            &image.at,
            format!(
                "{:?} pins a digest in the image list; list the image without it",
                image.name
            ),
        );
        return None;
    }
    if let Err(reason) = tags::check_image_name(&image.name) {
        report.not_mapped(
            &image.at,
            format!("{:?} is not an image name: {reason}", image.name),
        );
        return None;
    }
    let (mut policy, pin) = strategy(image, report);
    tag_filters(&mut policy, image, report);
    if let Err(reason) = policy.check() {
        report.not_mapped(
            &image.at,
            format!("kedge would refuse this policy: {reason}"),
        );
        return None;
    }
    let platform = image
        .settings
        .platforms
        .as_ref()
        .and_then(|p| platform(p, report));
    report_differences(image, targets, report);
    let alias = image.alias.clone().unwrap_or_else(|| {
        image
            .name
            .rsplit('/')
            .next()
            .unwrap_or(&image.name)
            .to_owned()
    });
    Some(Image {
        alias,
        image: image.name.clone(),
        policy: (policy != Policy::default()).then_some(policy),
        targets: targets.paths.to_vec(),
        pin,
        platform,
        poll_interval: None,
    })
}

/// `allow-tags` and `ignore-tags` as the policy's `allow` and `ignore`.
fn tag_filters(policy: &mut Policy, image: &AiuImage, report: &mut Report) {
    let settings = &image.settings;
    if let Some(allow) = &settings.allow_tags {
        policy.allow = allow_tags(allow, report);
    }
    if let Some(ignore) = &settings.ignore_tags {
        for glob in &ignore.values {
            match tags::glob_to_regex(glob) {
                Some(regex) => policy.ignore.push(regex),
                None => report.not_mapped(&ignore.at, format!("{glob:?} is not a valid glob")),
            }
        }
    }
}

/// Reports the settings kedge honours differently or not at all: pull
/// secrets, force-update, Helm and Kustomize names.
fn report_differences(image: &AiuImage, targets: &Targets<'_>, report: &mut Report) {
    let settings = &image.settings;
    if let Some(secret) = &settings.pull_secret {
        pull_secret(secret, report);
    }
    if let Some(force) = &settings.force_update
        && force.value() == "true"
    {
        report.note(
            &force.at,
            "kedge never looks at what the Application runs: it rewrites every reference to the \
             image in the targets, as force-update does, but does not add one that is not there",
        );
    }
    helm_names(image, targets, report);
    if let Some(name) = &image.kustomize_name {
        report.note(
            &name.at,
            format!(
                "kedge updates the kustomization entry named {:?} (or with newName {:?}) in \
                 place but never renames it: run `kustomize edit set image {}={}` once",
                name.value(),
                image.name,
                name.value(),
                image.name
            ),
        );
    }
}

/// The policy and pin for the image's `update-strategy` and constraint.
fn strategy(image: &AiuImage, report: &mut Report) -> (Policy, Pin) {
    let setting = image.settings.strategy.as_ref();
    let name = setting.map_or("semver", Setting::value);
    let ignored_constraint = |strategy: &str, report: &mut Report| {
        if let Some(constraint) = &image.constraint {
            report.note(
                &image.at,
                format!(
                    "the {constraint:?} after the image name has no effect with {strategy}, in \
                     Argo CD Image Updater as in kedge"
                ),
            );
        }
    };
    match name {
        "latest" | "newest-build" => {
            ignored_constraint(name, report);
            (Policy::new(Strategy::NewestBuild), Pin::Tag)
        }
        "name" | "alphabetical" => {
            ignored_constraint(name, report);
            (Policy::new(Strategy::Alphabetical), Pin::Tag)
        }
        "digest" => {
            let mut policy = Policy::new(Strategy::Digest);
            policy.tag = Some(image.constraint.clone().unwrap_or_else(|| "latest".into()));
            // AIU writes `tag@sha256:…` into Helm tags and Kustomize entries alike.
            (policy, Pin::TagAndDigest)
        }
        other => {
            if other != "semver"
                && let Some(setting) = setting
            {
                report.note(
                    &setting.at,
                    format!(
                        "{other:?} is not a strategy; Argo CD Image Updater falls back to \
                         semver, and so does the import"
                    ),
                );
            }
            let mut policy = Policy::new(Strategy::Semver);
            policy.constraint = image.constraint.clone().filter(|c| c != "*");
            // AIU reads bare numbers (`42`) as versions; `loose` keeps its choice.
            policy.loose = true;
            (policy, Pin::Tag)
        }
    }
}

/// `allow-tags`: `regexp:<re>` or `any`.
fn allow_tags(allow: &Setting, report: &mut Report) -> Option<String> {
    let value = allow.value();
    if let Some(regex) = value.strip_prefix("regexp:") {
        return Some(regex.to_owned());
    }
    if value != "any" {
        report.not_mapped(
            &allow.at,
            format!(
                "{value:?} is neither regexp:<expression> nor any; Argo CD Image Updater then \
                 matches no tag at all, which kedge has no way to say"
            ),
        );
    }
    None
}

/// The one platform kedge checks; more than one is reported.
fn platform(platforms: &Setting, report: &mut Report) -> Option<String> {
    let first = platforms.values.first()?;
    if !first.contains('/') {
        report.not_mapped(
            &platforms.at,
            format!("{first:?} is not an os/architecture platform such as linux/amd64"),
        );
        return None;
    }
    if platforms.values.len() > 1 {
        report.not_mapped(
            &platforms.at,
            format!(
                "kedge checks one platform per image: {first} is kept, {} is not",
                platforms.values[1..].join(", ")
            ),
        );
    }
    Some(first.clone())
}

/// `pull-secret`: always reported, with what to do instead.
fn pull_secret(secret: &Setting, report: &mut Report) {
    let value = secret.value();
    let how = if let Some(name) = value.strip_prefix("pullsecret:") {
        format!(
            "kedge reads a dockerconfigjson Secret from a file: save Secret {name} (kubectl get \
             secret -o yaml) and set registries[].pullSecret to that file"
        )
    } else if value.starts_with("secret:") || value.starts_with("env:") {
        "kedge reads registry credentials as two environment variables: set \
         registries[].credentials {usernameEnv, passwordEnv} from this user:password"
            .to_owned()
    } else if value.starts_with("ext:") {
        "kedge does not run credential scripts: put the credentials in ~/.docker/config.json or \
         registries[].credentials"
            .to_owned()
    } else {
        format!("{value:?} is not a pull secret reference")
    };
    report.not_mapped(&secret.at, how);
}

/// Helm parameter names: kedge finds image values by key, so only names it
/// finds on its own map.
fn helm_names(image: &AiuImage, targets: &Targets<'_>, report: &mut Report) {
    if let Some(spec) = &image.helm_spec {
        if !is_image_key(last_key(spec.value())) {
            report.not_mapped(&spec.at, unfound_key(spec.value()));
        }
        return;
    }
    let name = image
        .helm_name
        .as_ref()
        .map_or("image.name", Setting::value);
    let tag = image.helm_tag.as_ref().map_or("image.tag", Setting::value);
    let (name_parent, name_key) = name.rsplit_once('.').unwrap_or(("", name));
    let (tag_parent, tag_key) = tag.rsplit_once('.').unwrap_or(("", tag));
    let found = name_parent == tag_parent
        && is_image_key(last_key(name_parent))
        && matches!(name_key, "name" | "repository" | "repo" | "image")
        && tag_key == "tag";
    if found || !(targets.helm || image.helm_name.is_some() || image.helm_tag.is_some()) {
        return;
    }
    let at = image
        .helm_name
        .as_ref()
        .or(image.helm_tag.as_ref())
        .map_or(&image.at, |setting| &setting.at);
    report.not_mapped(at, unfound_key(&format!("{name} and {tag}")));
}

fn last_key(dotted: &str) -> &str {
    let last = dotted.rsplit('.').next().unwrap_or(dotted);
    last.split('[').next().unwrap_or(last)
}

/// Keys kedge reads as images in Helm values: `image` and camelCase `…Image`.
fn is_image_key(key: &str) -> bool {
    key == "image" || (key.ends_with("Image") && key.len() > "Image".len())
}

fn unfound_key(keys: &str) -> String {
    format!(
        "kedge finds images in Helm values under keys named image or …Image (a reference, or a \
         block with repository/name and tag); {keys} is not one, so kedge would not see it"
    )
}
