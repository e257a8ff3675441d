//! Flux image automation: each `ImagePolicy` with its `ImageRepository`
//! becomes an image; the `ImageUpdateAutomation` that selects it (and its
//! `GitRepository`) says where it is written; `$imagepolicy` markers in the
//! given manifests name the files to rewrite.

mod automation;

use std::sync::LazyLock;

use regex::Regex;

use crate::error::not_this_tool;
use crate::group::Mapped;
use crate::model::{Image, Pin, Policy, Strategy};
use crate::report::{At, File, Report};
use crate::yaml::Document;
use crate::{ImportOptions, MigrateError, Tool};

/// A Flux object of the input with where it is.
#[derive(Debug, Clone)]
pub(crate) struct Object<'a> {
    /// The document.
    pub document: &'a Document,
    /// Its root, for findings.
    pub at: At,
    /// `metadata.namespace`, empty when not written (it matches any).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl Object<'_> {
    /// Whether this object is `name` in `namespace` (an unwritten namespace matches any).
    fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name
            && (self.namespace.is_empty() || namespace.is_empty() || self.namespace == namespace)
    }

    /// The child key `path` (dotted, under the root) for findings.
    fn at(&self, path: &str) -> At {
        let line = self
            .document
            .root
            .path(path)
            .map_or(self.at.line, |n| n.line);
        self.at.child(line, path)
    }
}

/// A `# {"$imagepolicy": "NAMESPACE:POLICY[:FIELD]"}` marker in a manifest.
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    /// Where it is.
    pub at: At,
    /// The policy's namespace.
    pub namespace: String,
    /// The policy's name.
    pub policy: String,
    /// `name`, `tag`, `digest` or empty for the whole reference.
    pub field: String,
    /// The marked value as written (quotes dropped).
    pub value: String,
}

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"#\s*\{\s*"\$imagepolicy"\s*:\s*"([^"]*)"\s*\}"#).expect("valid marker regex")
});

/// The input sorted by kind.
#[derive(Debug, Default)]
pub(crate) struct Objects<'a> {
    pub git_repositories: Vec<Object<'a>>,
    pub image_repositories: Vec<Object<'a>>,
    pub policies: Vec<Object<'a>>,
    pub automations: Vec<Object<'a>>,
    pub markers: Vec<Marker>,
}

/// Maps every `ImagePolicy` in `files`.
pub(crate) fn import(
    files: &[File],
    options: &ImportOptions,
    report: &mut Report,
) -> Result<Vec<Mapped>, MigrateError> {
    let objects = collect(files)?;
    let mut mapped = Vec::new();
    for marker in &objects.markers {
        if !objects
            .policies
            .iter()
            .any(|p| p.is(&marker.namespace, &marker.policy))
        {
            report.not_mapped(
                &marker.at,
                format!(
                    "ImagePolicy {}:{} is not among the given files: pass it with its \
                     ImageRepository",
                    marker.namespace, marker.policy
                ),
            );
        }
    }
    for policy in &objects.policies {
        let Some(image) = image(policy, &objects, report) else {
            continue;
        };
        let found = automation::destinations(policy, &image.image, &objects, options, report);
        for (repo, targets) in found {
            mapped.push(Mapped {
                repo,
                image: Image {
                    targets,
                    ..image.clone()
                },
                owner: policy.namespace.clone(),
                at: policy.at("spec.policy"),
            });
        }
    }
    unused_repositories(&objects, report);
    for automation in &objects.automations {
        automation::report_unused(automation, &objects, report);
    }
    Ok(mapped)
}

/// Reports each ImageRepository no policy refers to.
fn unused_repositories(objects: &Objects<'_>, report: &mut Report) {
    for repository in &objects.image_repositories {
        let used = objects.policies.iter().any(|policy| {
            let reference = policy.document.root.path("spec.imageRepositoryRef");
            let name = reference.and_then(|r| r.str("name")).unwrap_or_default();
            let namespace = reference
                .and_then(|r| r.str("namespace"))
                .unwrap_or(&policy.namespace);
            repository.is(namespace, name)
        });
        if !used {
            report.not_mapped(
                &repository.at("spec.image"),
                format!(
                    "no ImagePolicy among the given files refers to ImageRepository {}: kedge \
                     needs the policy to choose tags; pass it too",
                    repository.name
                ),
            );
        }
    }
}

/// Sorts the documents of `files` by kind; a file with none is an error.
fn collect(files: &[File]) -> Result<Objects<'_>, MigrateError> {
    let mut objects = Objects::default();
    for file in files {
        let mut found = false;
        for document in &file.documents {
            let group = document
                .api_version()
                .and_then(|v| v.split_once('/'))
                .map(|(g, _)| g);
            let list = match (group, document.kind()) {
                (Some("source.toolkit.fluxcd.io"), Some("GitRepository")) => {
                    &mut objects.git_repositories
                }
                (Some("image.toolkit.fluxcd.io"), Some("ImageRepository")) => {
                    &mut objects.image_repositories
                }
                (Some("image.toolkit.fluxcd.io"), Some("ImagePolicy")) => &mut objects.policies,
                (Some("image.toolkit.fluxcd.io"), Some("ImageUpdateAutomation")) => {
                    &mut objects.automations
                }
                _ => continue,
            };
            found = true;
            list.push(Object {
                document,
                at: At::new(&file.path, document.root.line, ""),
                namespace: document.namespace().unwrap_or_default().to_owned(),
                name: document.name().unwrap_or_default().to_owned(),
            });
        }
        for (index, line) in file.text.lines().enumerate() {
            let Some(captures) = MARKER.captures(line) else {
                continue;
            };
            found = true;
            let reference = &captures[1];
            let mut parts = reference.splitn(3, ':');
            let (namespace, policy) = match (parts.next(), parts.next()) {
                (Some(ns), Some(policy)) => (ns, policy),
                (Some(policy), None) => ("", policy),
                _ => continue,
            };
            let before = line[..captures.get(0).map_or(0, |m| m.start())].trim();
            let value = before.split_once(": ").map_or("", |(_, value)| value);
            objects.markers.push(Marker {
                at: At::new(&file.path, index as u64 + 1, "$imagepolicy"),
                namespace: namespace.to_owned(),
                policy: policy.to_owned(),
                field: parts.next().unwrap_or_default().to_owned(),
                value: value.trim().trim_matches(['"', '\'']).to_owned(),
            });
        }
        if !found {
            return Err(not_this_tool(
                file,
                Tool::Flux,
                "GitRepository, ImageRepository, ImagePolicy, ImageUpdateAutomation, or \
                 manifests with $imagepolicy markers",
            ));
        }
    }
    Ok(objects)
}

/// The `images[]` entry of `policy`, targets still empty.
fn image(policy: &Object<'_>, objects: &Objects<'_>, report: &mut Report) -> Option<Image> {
    let spec = policy.document.root.get("spec")?;
    let reference = spec.get("imageRepositoryRef");
    let name = reference.and_then(|r| r.str("name")).unwrap_or_default();
    let namespace = reference
        .and_then(|r| r.str("namespace"))
        .unwrap_or(&policy.namespace);
    let Some(repository) = objects
        .image_repositories
        .iter()
        .find(|r| r.is(namespace, name))
    else {
        report.not_mapped(
            &policy.at("spec.imageRepositoryRef"),
            format!(
                "ImageRepository {namespace}{}{name} is not among the given files: pass it too",
                if namespace.is_empty() { "" } else { "/" }
            ),
        );
        return None;
    };
    let image_name = repository
        .document
        .root
        .path("spec.image")?
        .as_str()?
        .to_owned();
    if let Err(reason) = crate::tags::check_image_name(&image_name) {
        report.not_mapped(
            &repository.at("spec.image"),
            format!("not an image name: {reason}"),
        );
        return None;
    }
    let mut tag_policy = tag_policy(policy, report)?;
    tag_policy.ignore = exclusions(repository);
    if let Err(reason) = tag_policy.check() {
        report.not_mapped(
            &policy.at("spec.policy"),
            format!("kedge would refuse this policy: {reason}"),
        );
        return None;
    }
    repository_settings(repository, report);
    let pin = pin(policy, report);
    let poll_interval = repository
        .document
        .root
        .path("spec.interval")
        .and_then(|i| i.as_str())
        .and_then(crate::tags::duration);
    Some(Image {
        alias: policy.name.clone(),
        image: image_name,
        policy: Some(tag_policy),
        targets: Vec::new(),
        pin,
        platform: None,
        poll_interval,
    })
}

/// `digestReflectionPolicy` as what kedge pins.
fn pin(policy: &Object<'_>, report: &mut Report) -> Pin {
    let reflection = policy.document.root.path("spec.digestReflectionPolicy");
    match reflection.and_then(|r| r.as_str()) {
        Some("Always") => Pin::TagAndDigest,
        Some("IfNotPresent") => {
            report.note(
                &policy.at("spec.digestReflectionPolicy"),
                "kedge pins tag and digest and looks the digest up on every run, as Always does; \
                 IfNotPresent would keep the first digest seen for a tag",
            );
            Pin::TagAndDigest
        }
        _ => Pin::Tag,
    }
}

/// `spec.policy` and `spec.filterTags` as a kedge policy.
fn tag_policy(policy: &Object<'_>, report: &mut Report) -> Option<Policy> {
    let spec = policy.document.root.get("spec")?;
    let choice = spec.get("policy");
    let order = |key: &str| {
        choice
            .and_then(|c| c.path(&format!("{key}.order")))
            .and_then(|o| o.as_str())
            .map(str::to_owned)
    };
    let mut mapped = if let Some(semver) = choice.and_then(|c| c.get("semver")) {
        let mut mapped = Policy::new(Strategy::Semver);
        mapped.constraint = semver.str("range").map(str::to_owned);
        mapped
    } else if choice.and_then(|c| c.get("alphabetical")).is_some() {
        Policy {
            order: order("alphabetical"),
            ..Policy::new(Strategy::Alphabetical)
        }
    } else if choice.and_then(|c| c.get("numerical")).is_some() {
        Policy {
            order: order("numerical"),
            ..Policy::new(Strategy::Numerical)
        }
    } else {
        report.not_mapped(
            &policy.at("spec.policy"),
            "none of semver, alphabetical or numerical: Flux refuses such a policy",
        );
        return None;
    };
    if let Some(filter) = spec.get("filterTags") {
        mapped.pattern = filter.str("pattern").map(str::to_owned);
        mapped.extract = filter.str("extract").map(str::to_owned);
    }
    Some(mapped)
}

/// `exclusionList`, or Flux's default that drops signature tags.
fn exclusions(repository: &Object<'_>) -> Vec<String> {
    match repository.document.root.path("spec.exclusionList") {
        Some(list) => list
            .items()
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        None => vec![r"^.*\.sig$".to_owned()],
    }
}

/// Reports the ImageRepository settings kedge.yaml cannot say.
fn repository_settings(repository: &Object<'_>, report: &mut Report) {
    let Some(spec) = repository.document.root.get("spec") else {
        return;
    };
    let host = spec
        .str("image")
        .map(|image| {
            kedge_image::split_host(image)
                .0
                .unwrap_or("docker.io")
                .to_owned()
        })
        .unwrap_or_default();
    for (key, node) in spec.entries() {
        let at = repository.at(&format!("spec.{key}"));
        match key.as_str() {
            "image" | "interval" | "exclusionList" | "timeout" => {}
            "provider" if node.as_str() == Some("generic") => {}
            "provider" => report.not_mapped(
                &at,
                "kedge has no cloud workload identity: give the registry's credentials in \
                 ~/.docker/config.json or registries[].credentials",
            ),
            "secretRef" => report.not_mapped(
                &at,
                format!(
                    "kedge reads a dockerconfigjson Secret from a file: save Secret {} and add \
                     registries: [{{prefix: {host}, pullSecret: FILE}}]",
                    node.str("name").unwrap_or_default()
                ),
            ),
            "insecure" if node.as_str() == Some("true") => report.not_mapped(
                &at,
                format!("add registries: [{{prefix: {host}, insecure: true}}] to kedge.yaml"),
            ),
            "certSecretRef" => report.not_mapped(
                &at,
                format!("save the CA certificate to a file and add registries: [{{prefix: {host}, caFile: FILE}}]"),
            ),
            "accessFrom" => report.note(
                &at,
                "not applicable: kedge.yaml has no cross-namespace references to grant",
            ),
            "suspend" if node.as_str() == Some("true") => report.not_mapped(
                &at,
                "the repository is suspended: leave the image out of kedge.yaml until it is resumed",
            ),
            "suspend" | "insecure" => {}
            _ => report.not_mapped(&at, "kedge.yaml has no equivalent of this setting"),
        }
    }
}
