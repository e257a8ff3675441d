//! Keys the fixtures do not exercise, each mapped as the tools' docs define
//! them, and every result read back by kedge's own loader.

use std::path::Path;

use kedge_migrate::{Import, ImportOptions, Source, Strategy, Tool, WriteBackMode, import};

fn imported(tool: Tool, text: &str, options: &ImportOptions) -> Import {
    let imported = import(tool, &[Source::new("input.yaml", text)], options).expect("imports");
    for config in &imported.configs {
        let yaml = config.to_yaml().expect("serialises");
        kedge::config::Config::parse(Path::new("kedge.yaml"), &yaml)
            .unwrap_or_else(|e| panic!("kedge reads the import: {e}\n{yaml}"));
    }
    imported
}

fn reasons(import: &Import) -> String {
    import
        .not_mapped
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

const AIU_APP: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: argoproj/argocd=ghcr.io/argoproj/argocd:~2.9, dex=ghcr.io/dexidp/dex, other=quay.io/org/other
    argocd-image-updater.argoproj.io/update-strategy: latest
    argocd-image-updater.argoproj.io/argoproj_argocd.update-strategy: semver
    argocd-image-updater.argoproj.io/argoproj_argocd.allow-tags: regexp:^v2\.
    argocd-image-updater.argoproj.io/argoproj_argocd.ignore-tags: "*-rc*, v2.9.?"
    argocd-image-updater.argoproj.io/dex.update-strategy: name
    argocd-image-updater.argoproj.io/dex.helm.image-name: dex.image.repository
    argocd-image-updater.argoproj.io/dex.helm.image-tag: dex.image.tag
    argocd-image-updater.argoproj.io/other.helm.image-name: other.repo
    argocd-image-updater.argoproj.io/other.helm.image-tag: other.version
    argocd-image-updater.argoproj.io/other.pull-secret: pullsecret:argocd/regcred
    argocd-image-updater.argoproj.io/write-back-method: git
    argocd-image-updater.argoproj.io/write-back-target: helmvalues:../values.yaml
    argocd-image-updater.argoproj.io/git-branch: main:image-updater{{range .Images}}-{{.Name}}-{{.NewTag}}{{end}}
spec:
  source:
    repoURL: https://github.com/org/manifests.git
    path: charts/argocd
    targetRevision: main
    helm: {valueFiles: [values.yaml]}
"#;

#[test]
fn argocd_aliases_strategies_filters_helm_names_and_write_branch() {
    let imported = imported(Tool::ArgoCdImageUpdater, AIU_APP, &ImportOptions::default());
    let config = &imported.configs[0];
    // git-branch base:target pushes a templated branch: a pull request on GitHub.
    assert_eq!(config.write_back.mode, WriteBackMode::PullRequest);
    assert_eq!(
        config.write_back.pull_request.branch.as_deref(),
        Some("image-updater{% for u in updates %}-{{ u.image }}-{{ u.newTag }}{% endfor %}")
    );
    assert_eq!(
        config.forge.as_ref().map(|f| f.github.repo.as_str()),
        Some("manifests")
    );
    // An alias with `/` is written `_` in annotation keys.
    let argocd = &config.images[0];
    assert_eq!(argocd.alias, "argoproj/argocd");
    assert_eq!(argocd.targets, ["charts/values.yaml"]);
    let policy = argocd.policy.as_ref().expect("policy");
    assert_eq!(policy.strategy, Strategy::Semver);
    assert_eq!(policy.constraint.as_deref(), Some("~2.9"));
    assert_eq!(policy.allow.as_deref(), Some(r"^v2\."));
    assert_eq!(policy.ignore, [r"^[^/]*\-rc[^/]*$", r"^v2\.9\.[^/]$"]);
    // Legacy `name` is alphabetical; the app-wide `latest` is newest-build.
    let strategy = |i: usize| config.images[i].policy.as_ref().map(|p| p.strategy);
    assert_eq!(strategy(1), Some(Strategy::Alphabetical));
    assert_eq!(strategy(2), Some(Strategy::NewestBuild));
    // dex.image.{repository,tag} is a block kedge finds; other.{repo,version} is not.
    let reasons = reasons(&imported);
    assert!(!reasons.contains("dex.image"), "{reasons}");
    assert!(
        reasons.contains("other.repo and other.version is not one"),
        "{reasons}"
    );
    assert!(reasons.contains("save Secret argocd/regcred"), "{reasons}");
}

#[test]
fn argocd_sha256_branch_template_is_reported_not_guessed() {
    let text = AIU_APP.replace(
        "main:image-updater{{range .Images}}-{{.Name}}-{{.NewTag}}{{end}}",
        "main:image-updater-{{.SHA256}}",
    );
    let imported = imported(Tool::ArgoCdImageUpdater, &text, &ImportOptions::default());
    assert!(imported.configs.is_empty());
    let line = imported
        .not_mapped
        .iter()
        .find(|f| f.key.ends_with("git-branch"))
        .expect("git-branch reported");
    assert_eq!(line.line, 19);
    assert!(line.reason.contains("{{.SHA256}}"), "{line}");
}

const KEEL: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    keel.sh/policy: patch
    keel.sh/trigger: poll
    keel.sh/pollSchedule: "@every 10m"
    keel.sh/approvals: "2"
spec:
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/org/web:v1.2.3
      - name: rc
        image: ghcr.io/org/rc:1.0.0-rc.1
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cache
  labels:
    keel.sh/policy: force
    keel.sh/match-tag: "true"
spec:
  template:
    spec:
      containers:
      - name: cache
        image: redis:latest
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  annotations:
    keel.sh/policy: glob:build-*
    keel.sh/trigger: poll
    keel.sh/pollSchedule: "0 * * * *"
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: report
            image: ghcr.io/org/report:build-1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frozen
  annotations:
    keel.sh/policy: never
spec:
  template:
    spec:
      containers:
      - name: frozen
        image: ghcr.io/org/frozen:1.0.0
"#;

#[test]
fn keel_policies_relative_to_the_current_tag() {
    let options =
        ImportOptions::with_git("https://github.com/org/manifests.git", vec!["k8s".into()]);
    let imported = imported(Tool::Keel, KEEL, &options);
    let images = &imported.configs[0].images;
    let aliases: Vec<&str> = images.iter().map(|i| i.alias.as_str()).collect();
    assert_eq!(
        aliases,
        ["web", "rc", "cache", "report"],
        "never is left out"
    );
    let policy = |i: usize| images[i].policy.clone().expect("policy");
    assert_eq!(policy(0).constraint.as_deref(), Some(">=1.2.3 <1.3.0"));
    assert_eq!(images[0].poll_interval.as_deref(), Some("10m"));
    // A pre-release follows pre-releases with the same label (matchPreRelease).
    assert_eq!(policy(1).allow.as_deref(), Some("-rc([.-]|$)"));
    assert!(policy(1).prereleases);
    // force + matchTag (legacy spelling, as a label): the digest of the same tag.
    assert_eq!(policy(2).strategy, Strategy::Digest);
    assert_eq!(policy(2).tag.as_deref(), Some("latest"));
    assert_eq!(policy(3).allow.as_deref(), Some(r"^build\-[^/]*$"));
    assert_eq!(images[3].targets, ["k8s"]);
    let reasons = reasons(&imported);
    assert!(
        reasons.contains("input.yaml:9: keel.sh/approvals: kedge has no approval gate"),
        "{reasons}"
    );
    assert!(
        reasons.contains("\"0 * * * *\" is a cron schedule"),
        "{reasons}"
    );
}

const FLUX: &str = r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec:
  url: ssh://git@github.com/org/fleet
  ref: {branch: main}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec:
  image: ghcr.io/org/app
  interval: 1m0s
  exclusionList: ["^.*\\.sig$", "^dev-"]
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: app, namespace: flux-system, labels: {team: a}}
spec:
  imageRepositoryRef: {name: app}
  filterTags:
    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'
    extract: '$ts'
  policy:
    numerical: {order: asc}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: other, namespace: flux-system, labels: {team: b}}
spec:
  imageRepositoryRef: {name: app}
  policy:
    semver: {range: ">=1.0.0"}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: fleet, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: fleet}
  git:
    checkout: {ref: {branch: main}}
    push: {branch: image-updates}
    commit:
      author: {name: flux, email: flux@example.com}
      messageTemplate: "Automated image update"
  update: {path: ./clusters/prod, strategy: Setters}
  policySelector:
    matchLabels: {team: a}
"#;

#[test]
fn flux_numerical_extract_push_branch_and_policy_selector() {
    let imported = imported(Tool::Flux, FLUX, &ImportOptions::default());
    let config = &imported.configs[0];
    assert_eq!(config.git.url, "ssh://git@github.com/org/fleet");
    assert_eq!(config.write_back.mode, WriteBackMode::PullRequest);
    assert_eq!(
        config.write_back.pull_request.branch.as_deref(),
        Some("image-updates")
    );
    assert_eq!(
        config.write_back.commit_message.as_deref(),
        Some("Automated image update")
    );
    assert_eq!(
        config.images.len(),
        1,
        "policySelector team: a selects one policy"
    );
    let image = &config.images[0];
    assert_eq!(image.targets, ["clusters/prod"]);
    assert_eq!(image.poll_interval.as_deref(), Some("1m"));
    let policy = image.policy.as_ref().expect("policy");
    assert_eq!(policy.strategy, Strategy::Numerical);
    assert_eq!(policy.extract.as_deref(), Some("$ts"));
    assert_eq!(policy.ignore, [r"^.*\.sig$", "^dev-"]);
    let reasons = reasons(&imported);
    assert!(
        reasons
            .contains("no ImageUpdateAutomation among the given files selects ImagePolicy other"),
        "{reasons}"
    );
}
