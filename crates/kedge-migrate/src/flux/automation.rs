//! `ImageUpdateAutomation` and its `GitRepository` as kedge's `git`,
//! `writeBack` and targets.

use super::{Object, Objects};
use crate::ImportOptions;
use crate::group::{Repo, repo_path};
use crate::model::{Author, Git, PullRequest, WriteBack, WriteBackMode};
use crate::report::Report;
use crate::tags::github_forge;

/// Where `policy`'s image is written: one repository and targets per
/// automation that selects it (or `--git-url` when none is given).
pub(super) fn destinations(
    policy: &Object<'_>,
    image: &str,
    objects: &Objects<'_>,
    options: &ImportOptions,
    report: &mut Report,
) -> Vec<(Repo, Vec<String>)> {
    let marked = marked_files(policy, image, objects, report);
    let selecting: Vec<&Object<'_>> = objects
        .automations
        .iter()
        .filter(|automation| selects(automation, policy))
        .collect();
    if selecting.is_empty() {
        let Some(url) = &options.git_url else {
            report.not_mapped(
                &policy.at,
                format!(
                    "no ImageUpdateAutomation among the given files selects ImagePolicy {}: pass \
                     it (and its GitRepository), or --git-url and --path",
                    policy.name
                ),
            );
            return Vec::new();
        };
        let repo = Repo {
            git: Git {
                url: url.clone(),
                branch: options.branch.clone(),
                author: None,
            },
            write_back: WriteBack::default(),
            forge: None,
        };
        let targets = if options.paths.is_empty() {
            marked
        } else {
            options.paths.clone()
        };
        if targets.is_empty() {
            report.not_mapped(
                &policy.at,
                "no target: pass --path or the manifests with its markers",
            );
            return Vec::new();
        }
        return vec![(repo, targets)];
    }
    selecting
        .into_iter()
        .filter_map(|automation| {
            let repo = repo(automation, objects, options, report)?;
            let path = automation.document.root.path("spec.update.path");
            let path = repo_path(".", path.and_then(|p| p.as_str()).unwrap_or("."))?;
            if marked.is_empty() {
                return Some((repo, vec![path]));
            }
            let targets = marked_under(&marked, &path, automation, policy, report);
            (!targets.is_empty()).then_some((repo, targets))
        })
        .collect()
}

/// The marked files under the automation's `update.path`: Flux leaves markers
/// elsewhere alone, and so does the import (reported).
fn marked_under(
    marked: &[String],
    path: &str,
    automation: &Object<'_>,
    policy: &Object<'_>,
    report: &mut Report,
) -> Vec<String> {
    let under = |file: &str| path == "." || file.starts_with(&format!("{path}/"));
    let (inside, outside): (Vec<String>, Vec<String>) =
        marked.iter().cloned().partition(|file| under(file));
    if !outside.is_empty() {
        let line = (automation.document.root.path("spec.update.path"))
            .map_or(automation.at.line, |node| node.line);
        report.note(
            &automation.at.child(line, "spec.update.path"),
            format!(
                "{} with markers for ImagePolicy {} lie outside {path}: Flux leaves them, and so \
                 does the import",
                outside.join(", "),
                policy.name
            ),
        );
    }
    inside
}

/// The given files with markers for `policy` (whose image is `image`), as
/// repository paths.
fn marked_files(
    policy: &Object<'_>,
    image: &str,
    objects: &Objects<'_>,
    report: &mut Report,
) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for marker in objects
        .markers
        .iter()
        .filter(|m| policy.is(&m.namespace, &m.policy))
    {
        if marker.field == "name" {
            report.note(
                &marker.at,
                "kedge finds the image by name and never renames it: the name stays as written",
            );
        }
        if marker.field.is_empty() && !same_image(&marker.value, image) {
            report.note(
                &marker.at,
                format!(
                    "{:?} is not {image}, the image of ImagePolicy {}: Flux writes the policy's \
                     image here, kedge finds references by image name and leaves this one",
                    marker.value, policy.name
                ),
            );
            continue;
        }
        let path = marker.at.file.to_string_lossy();
        match repo_path(".", &path).filter(|_| !path.starts_with('/')) {
            Some(path) if !files.contains(&path) => {
                report.note(
                    &marker.at,
                    "kedge rewrites every reference to the policy's image in this file, marked \
                     or not",
                );
                files.push(path);
            }
            Some(_) => {}
            None => report.not_mapped(
                &marker.at,
                "name the manifest by its path in the repository (run the import from the \
                 repository's root) to make it a target",
            ),
        }
    }
    files
}

/// Whether the reference `value` names `image` (tag and digest aside; Docker
/// Hub's `docker.io/library/` spelled or not).
fn same_image(value: &str, image: &str) -> bool {
    let name = |reference: &str| {
        let reference = reference.split('@').next().unwrap_or_default();
        let slash = reference.rfind('/').map_or(0, |i| i + 1);
        let name = match reference[slash..].find(':') {
            Some(colon) => &reference[..slash + colon],
            None => reference,
        };
        let name = name
            .trim_start_matches("index.docker.io/")
            .trim_start_matches("docker.io/");
        name.strip_prefix("library/").unwrap_or(name).to_owned()
    };
    name(value) == name(image)
}

/// Whether `automation` selects `policy`: same namespace, labels matching `policySelector`.
fn selects(automation: &Object<'_>, policy: &Object<'_>) -> bool {
    let same_namespace = automation.namespace.is_empty()
        || policy.namespace.is_empty()
        || automation.namespace == policy.namespace;
    let labels: Vec<(String, String)> = policy
        .document
        .root
        .path("metadata.labels")
        .map(crate::yaml::Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let selector = automation.document.root.path("spec.policySelector");
    same_namespace && crate::argocd::labels_match(selector, &labels)
}

/// The repository and write-back of `automation`.
fn repo(
    automation: &Object<'_>,
    objects: &Objects<'_>,
    options: &ImportOptions,
    report: &mut Report,
) -> Option<Repo> {
    let root = &automation.document.root;
    let source = root.path("spec.sourceRef");
    let name = source.and_then(|s| s.str("name")).unwrap_or_default();
    let namespace = source
        .and_then(|s| s.str("namespace"))
        .unwrap_or(&automation.namespace);
    let git_repository = objects
        .git_repositories
        .iter()
        .find(|g| g.is(namespace, name));
    let url = git_repository
        .and_then(|g| g.document.root.path("spec.url"))
        .and_then(|u| u.as_str())
        .map(str::to_owned)
        .or_else(|| options.git_url.clone());
    let Some(url) = url else {
        report.not_mapped(
            &automation.at("spec.sourceRef"),
            format!("GitRepository {name} is not among the given files: pass it, or --git-url"),
        );
        return None;
    };
    let branch_at = |node: Option<&crate::yaml::Node>, path: &str| {
        node.and_then(|n| n.path(path))
            .and_then(|b| b.as_str())
            .map(str::to_owned)
    };
    let checkout = branch_at(Some(root), "spec.git.checkout.ref.branch")
        .or_else(|| branch_at(git_repository.map(|g| &g.document.root), "spec.ref.branch"))
        .or_else(|| options.branch.clone());
    let push = branch_at(Some(root), "spec.git.push.branch");
    let author = root.path("spec.git.commit.author").map(|a| Author {
        name: a.str("name").unwrap_or("kedge").to_owned(),
        email: a.str("email").unwrap_or("kedge@localhost").to_owned(),
    });
    let commit_message = root
        .path("spec.git.commit.messageTemplate")
        .and_then(|m| m.as_str())
        .filter(|m| !m.contains("{{") && !m.contains("{%"))
        .map(str::to_owned);
    let mut repo = Repo {
        git: Git {
            url,
            branch: checkout.clone().filter(|b| b != "main"),
            author,
        },
        write_back: WriteBack {
            commit_message,
            ..WriteBack::default()
        },
        forge: None,
    };
    if let Some(push) = push.filter(|p| Some(p) != checkout.as_ref()) {
        push_to_branch(
            &mut repo,
            push,
            &automation.at("spec.git.push.branch"),
            report,
        );
    }
    Some(repo)
}

/// Pushing to `push` rather than the checkout branch: a pull request on GitHub.
fn push_to_branch(repo: &mut Repo, push: String, at: &crate::report::At, report: &mut Report) {
    match github_forge(&repo.git.url) {
        Some(forge) => {
            repo.forge = Some(forge);
            repo.write_back.mode = WriteBackMode::PullRequest;
            repo.write_back.pull_request = PullRequest {
                branch: Some(push),
                labels: Vec::new(),
            };
            report.note(
                at,
                "kedge pushes this branch and also opens a pull request from it to the \
                 checkout branch",
            );
        }
        None => report.not_mapped(
            at,
            "kedge pushes to a branch other than the checkout branch only to open a GitHub \
             pull request, and this repository is not on github.com",
        ),
    }
}

/// Automation keys kedge has no equivalent for, with why.
const UNSUPPORTED: [(&str, &str); 7] = [
    ("spec.git.commit.signingKey", "kedge does not sign commits"),
    (
        "spec.git.push.refspec",
        "kedge pushes branches, not refspecs; for Gerrit-style review use writeBack.mode \
         pull-request on GitHub",
    ),
    ("spec.git.push.options", "kedge sends no push options"),
    (
        "spec.git.checkout.ref.tag",
        "kedge checks out a branch, not a tag",
    ),
    (
        "spec.git.checkout.ref.semver",
        "kedge checks out a branch, not a semver range of tags",
    ),
    (
        "spec.git.checkout.ref.commit",
        "kedge checks out a branch, not a commit",
    ),
    (
        "spec.git.checkout.ref.name",
        "kedge checks out a branch by name (ref.branch)",
    ),
];

/// Reports the automation's settings kedge.yaml cannot say, once per automation.
pub(super) fn report_unused(automation: &Object<'_>, objects: &Objects<'_>, report: &mut Report) {
    let root = &automation.document.root;
    if !objects
        .policies
        .iter()
        .any(|policy| selects(automation, policy))
    {
        report.not_mapped(
            &automation.at("spec"),
            format!(
                "ImageUpdateAutomation {} selects no ImagePolicy among the given files: pass them",
                automation.name
            ),
        );
    }
    for (path, reason) in UNSUPPORTED {
        if root.path(path).is_some() {
            report.not_mapped(&automation.at(path), reason);
        }
    }
    if let Some(template) = root
        .path("spec.git.commit.messageTemplate")
        .and_then(|m| m.as_str())
        && (template.contains("{{") || template.contains("{%"))
    {
        report.not_mapped(
            &automation.at("spec.git.commit.messageTemplate"),
            "a Go template: kedge's commitMessage is Jinja over updates[] (alias, image, oldTag, \
             newTag, files); rewrite it by hand, or keep kedge's default",
        );
    }
    if let Some(strategy) = root.path("spec.update.strategy").and_then(|s| s.as_str())
        && strategy != "Setters"
    {
        report.not_mapped(
            &automation.at("spec.update.strategy"),
            format!("{strategy:?} is not Setters"),
        );
    }
    if root.path("spec.suspend").and_then(|s| s.as_str()) == Some("true") {
        report.not_mapped(
            &automation.at("spec.suspend"),
            "the automation is suspended: run kedge only once it should resume",
        );
    }
    if let Some(kind) = root.path("spec.sourceRef.kind").and_then(|k| k.as_str())
        && kind != "GitRepository"
    {
        report.not_mapped(
            &automation.at("spec.sourceRef.kind"),
            format!("{kind} is not a GitRepository"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::same_image;

    #[test]
    fn marked_values_compare_by_image_name() {
        assert!(same_image("ghcr.io/org/app:4.0.6", "ghcr.io/org/app"));
        assert!(same_image(
            "localhost:5000/app:1@sha256:ab",
            "localhost:5000/app"
        ));
        assert!(same_image("nginx:1.25", "docker.io/library/nginx"));
        assert!(!same_image("image:v1.0.0", "index.repo.fake/updated"));
        assert!(!same_image("ghcr.io/org/app-canary:1", "ghcr.io/org/app"));
    }
}
