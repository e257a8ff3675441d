//! An imported configuration ([`kedge_migrate`]'s `kedge.yaml` model) as an
//! `ImageUpdate` spec: one owner for the mapping that `kedge import -o crd`
//! prints and the Argo CD Image Updater take-over runs.

use kedge_controller::{
    AuthorSpec, ForgeSpec, GitHubSpec, ImageSpec, ImageUpdateSpec, ManifestGitSpec, PinSpec,
    PolicySpec, PolicyStrategy, PullRequestSpec, SecretKeyRef, SortOrder, WriteBackMode,
    WriteBackSpec,
};
use kedge_migrate::{KedgeConfig, Pin, Policy, Strategy};

/// The Secret a GitHub forge's token is read from (key `token`), in the
/// resource's namespace; the user creates it.
pub const GITHUB_TOKEN_SECRET: &str = "github-token";

/// The `ImageUpdate` spec an imported `kedge.yaml` makes, as `kedge import
/// -o crd` writes it and the Argo CD Image Updater take-over runs it. `name`
/// is the resource's name, used in `notes`: what the user must add (the
/// Secret holding a forge token) and what was merged (one interval for all
/// images).
pub fn image_update_spec(
    config: &KedgeConfig,
    name: &str,
    notes: &mut Vec<String>,
) -> ImageUpdateSpec {
    let intervals: Vec<&str> = config
        .images
        .iter()
        .filter_map(|image| image.poll_interval.as_deref())
        .collect();
    let interval = intervals
        .iter()
        .min_by_key(|text| kedge_controller::parse_duration("interval", text).ok())
        .map_or_else(|| "5m".to_owned(), |text| (*text).to_owned());
    if intervals.iter().any(|text| *text != interval) {
        notes.push(format!(
            "ImageUpdate {name}: one interval for all images; the shortest, {interval}, is used"
        ));
    }
    let forge = config
        .forge
        .as_ref()
        .map(|forge| github_forge(forge, name, notes));
    let write_back = &config.write_back;
    ImageUpdateSpec {
        git: ManifestGitSpec {
            url: config.git.url.clone(),
            branch: config
                .git
                .branch
                .clone()
                .unwrap_or_else(|| "main".to_owned()),
            author: config
                .git
                .author
                .as_ref()
                .map_or_else(AuthorSpec::default, |a| AuthorSpec {
                    name: a.name.clone(),
                    email: a.email.clone(),
                }),
            auth: Default::default(),
        },
        write_back: WriteBackSpec {
            mode: match write_back.mode {
                kedge_migrate::WriteBackMode::PullRequest => WriteBackMode::PullRequest,
                _ => WriteBackMode::Push,
            },
            pull_request: PullRequestSpec {
                branch: write_back.pull_request.branch.clone(),
                labels: write_back.pull_request.labels.clone(),
                ..PullRequestSpec::default()
            },
            commit_message: write_back.commit_message.clone(),
        },
        forge,
        registries: Vec::new(),
        images: config.images.iter().map(image).collect(),
        interval,
    }
}

/// `forge.github`, its token from the Secret the user is told to create.
fn github_forge(forge: &kedge_migrate::Forge, name: &str, notes: &mut Vec<String>) -> ForgeSpec {
    notes.push(format!(
        "ImageUpdate {name}: create Secret {GITHUB_TOKEN_SECRET} with the GitHub token under key token"
    ));
    ForgeSpec {
        github: Some(GitHubSpec {
            api_url: None,
            owner: forge.github.owner.clone(),
            repo: forge.github.repo.clone(),
            token_secret_ref: SecretKeyRef {
                name: GITHUB_TOKEN_SECRET.to_owned(),
                key: "token".to_owned(),
            },
        }),
        github_app: None,
    }
}

fn image(image: &kedge_migrate::Image) -> ImageSpec {
    ImageSpec {
        alias: image.alias.clone(),
        image: image.image.clone(),
        policy: image.policy.as_ref().map(policy),
        targets: image.targets.clone(),
        object_image_paths: Vec::new(),
        pin: match image.pin {
            Pin::Digest => PinSpec::Digest,
            Pin::TagAndDigest => PinSpec::TagAndDigest,
            _ => PinSpec::Tag,
        },
        platform: image.platform.clone(),
    }
}

fn policy(policy: &Policy) -> PolicySpec {
    PolicySpec {
        strategy: match policy.strategy {
            Strategy::Alphabetical => PolicyStrategy::Alphabetical,
            Strategy::Numerical => PolicyStrategy::Numerical,
            Strategy::NewestBuild => PolicyStrategy::NewestBuild,
            Strategy::Digest => PolicyStrategy::Digest,
            _ => PolicyStrategy::Semver,
        },
        constraint: policy.constraint.clone(),
        prereleases: policy.prereleases,
        loose: policy.loose,
        order: policy.order.as_deref().map(|order| match order {
            "desc" => SortOrder::Desc,
            _ => SortOrder::Asc,
        }),
        tag: policy.tag.clone(),
        allow: policy.allow.clone(),
        ignore: policy.ignore.clone(),
        pattern: policy.pattern.clone(),
        extract: policy.extract.clone(),
        min_age: None,
    }
}
