//! Gathers mapped images into one `kedge.yaml` per repository and write-back
//! setting, with unique aliases.

use crate::model::{Forge, Git, Image, KedgeConfig, WriteBack};
use crate::report::{At, Report};

/// Where an image's changes go: everything a `kedge.yaml` holds besides `images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repo {
    /// `git:`.
    pub git: Git,
    /// `writeBack:`.
    pub write_back: WriteBack,
    /// `forge:`.
    pub forge: Option<Forge>,
}

/// One image mapped from the source configuration.
#[derive(Debug, Clone)]
pub(crate) struct Mapped {
    /// Its repository and write-back.
    pub repo: Repo,
    /// The `images[]` entry.
    pub image: Image,
    /// The object it came from (an Application, a workload), to make aliases unique.
    pub owner: String,
    /// Where it was configured.
    pub at: At,
}

/// One configuration per distinct [`Repo`], in the order they first appear.
pub(crate) fn into_configs(mapped: Vec<Mapped>, report: &mut Report) -> Vec<KedgeConfig> {
    let mut configs: Vec<(Repo, Vec<Image>)> = Vec::new();
    for item in mapped {
        let index = match configs.iter().position(|(repo, _)| *repo == item.repo) {
            Some(index) => index,
            None => {
                configs.push((item.repo.clone(), Vec::new()));
                configs.len() - 1
            }
        };
        let images = &mut configs[index].1;
        if let Some(same) = images.iter().find(|image| same_work(image, &item.image)) {
            report.note(
                &item.at,
                format!(
                    "the same image, policy and targets as alias {:?}: one kedge entry does both",
                    same.alias
                ),
            );
            continue;
        }
        if let Some(rival) = images.iter().find(|image| competes(image, &item.image)) {
            report.not_mapped(
                &item.at,
                format!(
                    "{} ({}) updates {} in the same files as alias {:?} with another policy: \
                     in Git both would share one tag, so the import keeps only {:?}; separate \
                     targets keep both (an overlay per Application, Flux's marked files)",
                    item.image.alias, item.owner, item.image.image, rival.alias, rival.alias
                ),
            );
            continue;
        }
        let mut image = item.image;
        image.alias = unique_alias(images, &image.alias, &item.owner);
        images.push(image);
    }
    configs
        .into_iter()
        .map(|(repo, images)| KedgeConfig {
            git: repo.git,
            write_back: repo.write_back,
            forge: repo.forge,
            images,
        })
        .collect()
}

/// Whether two entries would do exactly the same updates.
fn same_work(a: &Image, b: &Image) -> bool {
    a.image == b.image
        && a.policy == b.policy
        && a.targets == b.targets
        && a.pin == b.pin
        && a.platform == b.platform
}

/// Whether two different entries would rewrite the same references: the same
/// image in overlapping targets. Each run would then write both choices, one
/// over the other, to manifests that can hold only one.
fn competes(a: &Image, b: &Image) -> bool {
    let within = |inner: &str, outer: &str| {
        outer == "." || inner == outer || inner.starts_with(&format!("{outer}/"))
    };
    a.image == b.image
        && a.targets
            .iter()
            .any(|x| b.targets.iter().any(|y| within(x, y) || within(y, x)))
}

/// `alias`, or `owner-alias` (then a number) when another image has it.
fn unique_alias(images: &[Image], alias: &str, owner: &str) -> String {
    let taken = |candidate: &str| images.iter().any(|image| image.alias == candidate);
    if !taken(alias) {
        return alias.to_owned();
    }
    let owned = format!("{owner}-{alias}");
    if !taken(&owned) {
        return owned;
    }
    (2..)
        .map(|n| format!("{owned}-{n}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or(owned)
}

/// `relative` resolved against the repository directory `base` (a leading `/`
/// means the repository root), normalised as kedge wants targets: no `./`, no
/// `..` left, `.` for the root. `None` when it leaves the repository.
pub(crate) fn repo_path(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let (start, rest) = match relative.strip_prefix('/') {
        Some(rest) => ("", rest),
        None => (base, relative),
    };
    for part in start.split('/').chain(rest.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

#[cfg(test)]
mod tests {
    use super::{competes, repo_path};
    use crate::model::{Image, Pin, Policy, Strategy};

    fn image(targets: &[&str], strategy: Strategy) -> Image {
        Image {
            alias: "web".into(),
            image: "ghcr.io/acme/web".into(),
            policy: Some(Policy::new(strategy)),
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
            pin: Pin::Tag,
            platform: None,
            poll_interval: None,
        }
    }

    #[test]
    fn one_image_in_overlapping_targets_competes() {
        let semver = image(&["apps/web"], Strategy::Semver);
        let newest = |targets: &[&str]| image(targets, Strategy::NewestBuild);
        assert!(competes(&semver, &newest(&["apps/web"])));
        assert!(competes(&semver, &newest(&["apps/web/deploy.yaml"])));
        assert!(competes(&semver, &newest(&["."])));
        assert!(!competes(&semver, &newest(&["apps/web-canary"])));
        let mut other = newest(&["apps/web"]);
        other.image = "ghcr.io/acme/api".into();
        assert!(!competes(&semver, &other));
    }

    #[test]
    fn repo_paths_resolve_like_argocd_image_updater_targets() {
        assert_eq!(repo_path("./001-app", "").as_deref(), Some("001-app"));
        assert_eq!(
            repo_path("config/overlays/foo", "../../base").as_deref(),
            Some("config/base")
        );
        assert_eq!(
            repo_path("config/overlays/foo", "/config/overlays/bar").as_deref(),
            Some("config/overlays/bar")
        );
        assert_eq!(
            repo_path(".", "./values.yaml").as_deref(),
            Some("values.yaml")
        );
        assert_eq!(repo_path("", "").as_deref(), Some("."));
        assert_eq!(repo_path("a", "../../x"), None);
    }
}
