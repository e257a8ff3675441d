//! Where an Argo CD `Application`'s image updates go: its `spec.source` and
//! the write-back settings, as kedge's `git`, `writeBack`, `forge` and targets.

use super::settings::{Setting, WriteBackSettings};
use crate::ImportOptions;
use crate::group::{Repo, repo_path};
use crate::model::{Git, PullRequest, WriteBack, WriteBackMode};
use crate::report::{At, Report};
use crate::tags::github_forge;
use crate::yaml::Document;

/// An Argo CD `Application` from the input.
#[derive(Debug, Clone)]
pub(super) struct Application {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Vec<(String, String)>,
    /// The document.
    pub document: Document,
    /// The document's root, for findings.
    pub at: At,
    /// Index of its file among the inputs (for `--path`).
    pub file_index: usize,
}

/// The repository, write-back and targets of an application.
#[derive(Debug)]
pub(super) struct Destination {
    /// `git`, `writeBack`, `forge`.
    pub repo: Repo,
    /// Repository paths to rewrite.
    pub targets: Vec<String>,
    /// Whether the source is a Helm chart.
    pub helm: bool,
}

/// Resolves where `app`'s updates go; `None` (reported) when the files do not say.
pub(super) fn destination(
    app: &Application,
    write_back: &WriteBackSettings,
    options: &ImportOptions,
    report: &mut Report,
) -> Option<Destination> {
    let source = app.document.root.path("spec.source");
    let source_at = app
        .at
        .child(source.map_or(app.at.line, |s| s.line), "spec.source");
    if source.is_none() && app.document.root.path("spec.sources").is_some() {
        report.not_mapped(
            &app.at.child(app.at.line, "spec.sources"),
            "a multi-source Application: name the source with --git-url and --path",
        );
    }
    method(app, write_back.method.as_ref(), report);
    let source_str = |key: &str| source.and_then(|s| s.str(key)).filter(|v| !v.is_empty());
    // A chart from a Helm repository is not in Git: only --git-url can say where.
    let git_source = source_str("repoURL").filter(|_| source_str("chart").is_none());
    let url = write_back
        .repository
        .as_ref()
        .map(|r| r.value().to_owned())
        .or_else(|| git_source.map(str::to_owned))
        .or_else(|| options.git_url.clone());
    let Some(url) = url else {
        report.not_mapped(
            &source_at,
            format!(
                "Application {} has no Git source among the given files: pass its manifest, or \
                 --git-url and --path",
                app.name
            ),
        );
        return None;
    };
    let base = options
        .path_for(app.file_index)
        .or_else(|| source_str("path"))
        .map(str::to_owned);
    let Some(base) = base else {
        report.not_mapped(
            &source_at,
            format!(
                "Application {} names no path in its repository: pass --path",
                app.name
            ),
        );
        return None;
    };
    let helm = source.is_some_and(|s| s.get("helm").is_some())
        || write_back
            .target
            .as_ref()
            .is_some_and(|t| t.value().starts_with("helmvalues"));
    let targets = vec![target(app, &base, write_back.target.as_ref(), report)?];
    let revision = source_str("targetRevision");
    let (mut git, pull_request) = branches(app, url, revision, write_back, options, report)?;
    git.branch = git.branch.filter(|b| b != "main");
    let repo = repo(git, pull_request, report);
    Some(Destination {
        repo,
        targets,
        helm,
    })
}

/// `git` with the write-back a separate write branch asks for: a pull request on GitHub.
fn repo(git: Git, pull_request: PullRequestBranch, report: &mut Report) -> Repo {
    let mut repo = Repo {
        forge: None,
        write_back: WriteBack::default(),
        git,
    };
    let Some((branch, labels, at)) = pull_request else {
        return repo;
    };
    match github_forge(&repo.git.url) {
        Some(forge) => {
            repo.forge = Some(forge);
            repo.write_back.mode = WriteBackMode::PullRequest;
            repo.write_back.pull_request = PullRequest { branch, labels };
            report.note(
                &at,
                "kedge pushes this branch and opens a pull request from it; set \
                 forge.github.tokenEnv (or git.auth) to a token that may do both",
            );
        }
        None => report.not_mapped(
            &at,
            format!(
                "kedge pushes to a branch other than the base only to open a pull request, \
                 and opens them on GitHub only; {} is not on github.com",
                repo.git.url
            ),
        ),
    }
    repo
}

/// Reports the write-back method, which kedge always replaces with a Git commit.
fn method(app: &Application, method: Option<&Setting>, report: &mut Report) {
    let Some(method) = method else {
        report.note(
            &app.at.child(app.at.line, "write-back-method"),
            "not set, so Argo CD Image Updater changes the Application in the cluster (argocd); \
             kedge commits to Git instead",
        );
        return;
    };
    match method.value() {
        "argocd" => report.not_mapped(
            &method.at,
            "argocd is not applicable: it changes the Application in the cluster, while kedge \
             writes to Git; the import commits to the Application's source instead",
        ),
        "git" | "git:repocreds" => report.note(
            &method.at,
            "kedge does not read Argo CD's repository credentials: set git.auth (tokenEnv or \
             sshKeyFile)",
        ),
        value if value.starts_with("git:secret:") => report.not_mapped(
            &method.at,
            format!(
                "kedge reads Git credentials from git.auth, not from a Secret: put the password \
                 of {} in an environment variable named by git.auth.tokenEnv (or its SSH key in \
                 git.auth.sshKeyFile)",
                &value["git:secret:".len()..]
            ),
        ),
        value => report.not_mapped(
            &method.at,
            format!("{value:?} is not a write-back method (argocd, git, git:<credentials>)"),
        ),
    }
}

/// The one target path: the source path, or what `write-back-target` names.
fn target(
    app: &Application,
    base: &str,
    target: Option<&Setting>,
    report: &mut Report,
) -> Option<String> {
    let leaves = |at: &At, report: &mut Report| {
        report.not_mapped(at, "the path leaves the repository");
        None
    };
    let Some(target) = target else {
        let path = repo_path(base, "")?;
        report.note(
            &app.at.child(app.at.line, "write-back-target"),
            format!(
                "Argo CD Image Updater writes .argocd-source-{}.yaml; kedge edits the manifests \
                 under {path} instead (delete that file once kedge has taken over)",
                app.name
            ),
        );
        return Some(path);
    };
    let value = target.value();
    if value.contains("{{") {
        report.not_mapped(
            &target.at,
            "a templated target (for ApplicationSets) names a different path per Application: \
             import each Application with its own --path",
        );
        return None;
    }
    let (kind, path) = value.split_once(':').unwrap_or((value, ""));
    match kind {
        "kustomization" | "helmvalues" => match repo_path(base, path) {
            Some(path) => Some(path),
            None => leaves(&target.at, report),
        },
        _ => {
            report.not_mapped(
                &target.at,
                format!("{value:?} is neither kustomization[:path] nor helmvalues[:path]"),
            );
            None
        }
    }
}

/// A pull request branch with labels, where configured.
type PullRequestBranch = Option<(Option<String>, Vec<String>, At)>;

/// `git` (URL and base branch) and, when changes go to another branch, that
/// branch as a pull request.
fn branches(
    app: &Application,
    url: String,
    revision: Option<&str>,
    write_back: &WriteBackSettings,
    options: &ImportOptions,
    report: &mut Report,
) -> Option<(Git, PullRequestBranch)> {
    let (base, target) = match &write_back.branch {
        Some(branch) => match branch.value().split_once(':') {
            Some((base, target)) => (Some(base).filter(|b| !b.is_empty()), Some((target, branch))),
            None => (Some(branch.value()), None),
        },
        None => (None, None),
    };
    let base = base
        .or(revision.filter(|r| *r != "HEAD"))
        .or(options.branch.as_deref())
        .map(str::to_owned);
    if base.is_none() {
        report.note(
            &app.at.child(app.at.line, "spec.source.targetRevision"),
            "HEAD is the repository's default branch, which kedge.yaml names: main is assumed \
             (--branch to change it)",
        );
    }
    let git = Git {
        url,
        branch: base,
        author: None,
    };
    let mut pull_request = None;
    if let Some((template, setting)) = target {
        match branch_template(template, &app.name) {
            Ok(branch) => pull_request = Some((Some(branch), Vec::new(), setting.at.clone())),
            Err(reason) => {
                report.not_mapped(&setting.at, reason);
                return None;
            }
        }
    }
    if let Some(pr) = &write_back.pull_request {
        if pr.forge != "github" {
            report.not_mapped(
                &pr.at,
                format!("kedge opens pull requests on GitHub only, not {}", pr.forge),
            );
        } else {
            let branch = pull_request.take().and_then(|(branch, _, _)| branch);
            pull_request = Some((branch, pr.labels.clone(), pr.at.clone()));
        }
    }
    Some((git, pull_request))
}

/// AIU's Go template for the write branch as a kedge (Jinja) template.
fn branch_template(template: &str, app: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| format!("{template:?}: unclosed {{{{"))?;
        let action = rest[start + 2..start + end].trim().trim_matches('-').trim();
        let jinja = match action {
            "range .Images" => "{% for u in updates %}".to_owned(),
            "end" => "{% endfor %}".to_owned(),
            ".Name" => "{{ u.image }}".to_owned(),
            ".Alias" => "{{ u.alias }}".to_owned(),
            ".NewTag" => "{{ u.newTag }}".to_owned(),
            ".OldTag" => "{{ u.oldTag }}".to_owned(),
            ".AppName" => app.to_owned(),
            other => {
                return Err(format!(
                    "{{{{{other}}}}} in the branch template has no kedge equivalent (kedge \
                     offers the alias, image and old and new tag of each update); write the \
                     branch as writeBack.pullRequest.branch by hand"
                ));
            }
        };
        out.push_str(&jinja);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::branch_template;

    #[test]
    fn documented_branch_templates_translate_or_say_why_not() {
        assert_eq!(
            branch_template(
                "image-updater{{range .Images}}-{{.Name}}-{{.NewTag}}{{end}}",
                "app"
            )
            .as_deref(),
            Ok("image-updater{% for u in updates %}-{{ u.image }}-{{ u.newTag }}{% endfor %}")
        );
        let sha = branch_template("image-updater-{{.SHA256}}", "app").expect_err("no SHA256");
        assert!(sha.contains(".SHA256"), "{sha}");
    }
}
