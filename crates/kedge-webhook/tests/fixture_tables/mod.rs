//! Expectations for the fixture walk in `fixtures.rs`: files without a
//! `cases.jsonl` line, and the files kedge does not handle, with reasons.

use std::collections::BTreeMap;

/// What a GitHub payload should parse to.
#[derive(Debug)]
pub enum GitHub {
    Ping,
    Push(&'static str, &'static str),
    Package(&'static str, Option<&'static str>, Option<&'static str>),
    /// An opened or updated pull request: repository, number, base branch,
    /// base commit, head commit.
    PullRequest(&'static str, u64, &'static str, &'static str, &'static str),
    Ignored,
    /// The delivery has no `X-GitHub-Event` header: the server answers 400.
    NoEventHeader,
}

/// What a registry payload should parse to.
#[derive(Debug)]
pub enum Registry {
    /// `(image, tag, digest)` in order.
    Events(&'static [(&'static str, Option<&'static str>, Option<&'static str>)]),
    /// Well-formed, but reports no push.
    Nothing,
    /// Refused: malformed or missing what kedge needs.
    Error,
}

/// Files without a `cases.jsonl` line: expectations from the sidecar comments
/// and the upstream tests, with kedge's own choices noted where they differ.
pub fn github_expectations() -> BTreeMap<&'static str, GitHub> {
    use GitHub::*;
    let octokit = "github/octokit__webhooks/payload-examples/api.github.com";
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut map = BTreeMap::from([
        // argo-cd's trimmed sample: owner.login wins over the `namespace` field.
        (
            "github/argoproj__argo-cd/util/webhook/testdata/ghcr-package-event.json",
            Package(
                "ghcr.io/nitishfy/guestbook",
                Some("5.5.9"),
                Some("sha256:abc123"),
            ),
        ),
        (
            "github/argoproj__argo-cd/util/webhook/testdata/github-commit-event.json",
            Push("jessesuen/test-repo", "master"),
        ),
        (
            "github/argoproj__argo-cd/util/webhook/testdata/github-ping-event.json",
            Ping,
        ),
        (
            "github/argoproj__argo-cd/util/webhook/testdata/github-tag-event.json",
            Ignored,
        ),
        (
            "github/fluxcd__notification-controller/cel-filtering-a-github-receiver.json",
            NoEventHeader,
        ),
        (
            "github/go-playground__webhooks/testdata/github/create.json",
            Ignored,
        ),
        (
            "github/go-playground__webhooks/testdata/github/delete.json",
            Ignored,
        ),
        (
            "github/go-playground__webhooks/testdata/github/ping.json",
            Ping,
        ),
        (
            "github/go-playground__webhooks/testdata/github/pull-request.json",
            PullRequest(
                "baxterthehacker/public-repo",
                1,
                "master",
                "9049f1265b7d61be4a8904a9a27120d2064dab3b",
                "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            ),
        ),
        (
            "github/go-playground__webhooks/testdata/github/push.json",
            Push("binkkatal/sample_app", "master"),
        ),
        // keel accepts action `create`; GitHub documents `published` and `updated` only.
        (
            "github/keel-hq__keel/github-package-create-ghcr.json",
            Ignored,
        ),
        // keel expects ghcr.io/DingGGu/UtaiteBOX (the old docker.pkg.github.com layout);
        // on GHCR a package is owner/package, lower case.
        (
            "github/keel-hq__keel/github-registry_package-published.json",
            Package("ghcr.io/dingggu/server", Some("1.2.3"), None),
        ),
    ]);
    let digest_only = Package(
        "ghcr.io/codertocat/hello-world",
        None,
        Some("sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b"),
    );
    let octokit_files = [
        ("create/payload.json", Ignored),
        ("delete/payload.json", Ignored),
        ("package/published.docker.payload.json", digest_only),
        (
            "registry_package/published.docker.payload.json",
            Package(
                "ghcr.io/codertocat/hello-world",
                None,
                Some("sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b"),
            ),
        ),
        ("ping/payload.json", Ping),
        ("ping/with-organization.payload.json", Ping),
        ("pull_request/closed.payload.json", Ignored),
        ("pull_request/labeled.payload.json", Ignored),
        (
            "pull_request/opened.payload.json",
            PullRequest(
                "Codertocat/Hello-World",
                2,
                "master",
                "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
                "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            ),
        ),
        (
            "pull_request/synchronize.payload.json",
            PullRequest(
                "Codertocat/Hello-World",
                2,
                "master",
                "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
                "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            ),
        ),
        ("push/payload.json", Ignored),
        (
            "push/with-new-branch.payload.json",
            Push("Codertocat/Hello-World", "master"),
        ),
        (
            "push/with-no-username-committer.payload.json",
            Push("Codertocat/Hello-World", "master"),
        ),
        ("push/with-organization.payload.json", Ignored),
        ("release/published.payload.json", Ignored),
        ("workflow_run/completed.payload.json", Ignored),
    ];
    for (file, expect) in octokit_files {
        map.insert(leak(format!("{octokit}/{file}")), expect);
    }
    map
}

pub fn registry_expectations() -> BTreeMap<&'static str, Registry> {
    use Registry::*;
    BTreeMap::from([
        // Flux's trimmed sample has no request.host, and the walk configures no registry.
        (
            "acr/fluxcd__notification-controller/cel-filtering-an-acr-receiver.json",
            Error,
        ),
        (
            "acr/keel-hq__keel/acr-push.json",
            Events(&[(
                "myregistry.azurecr.io/hello-world",
                Some("v1"),
                Some("sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d"),
            )]),
        ),
        // A docs fragment (`target` alone), not an envelope.
        (
            "distribution/distribution__distribution/docs-example-delete-target-subset.json",
            Error,
        ),
        // The manifest is pushed by digest only (no tag); the two blob pushes are dropped.
        (
            "distribution/distribution__distribution/docs-example-full-envelope-push.json",
            Events(&[(
                "registrycluster.local/library/test",
                None,
                Some("sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf"),
            )]),
        ),
        (
            "distribution/distribution__distribution/docs-example-pull-event.json",
            Nothing,
        ),
        (
            "distribution/distribution__distribution/event_test-envelope-golden.json",
            Events(&[(
                "registrycluster.local/library/test",
                None,
                Some("sha256:0123456789abcdef0"),
            )]),
        ),
        // Flux puts `org/repo:tag` in push_data.tag and names no repository.
        (
            "dockerhub/fluxcd__notification-controller/cel-filtering-a-docker-hub-receiver.json",
            Error,
        ),
        (
            "dockerhub/go-playground__webhooks/testdata/docker/docker_hub_build_notice.json",
            Events(&[("docker.io/svendowideit/testhook", Some("latest"), None)]),
        ),
        (
            "dockerhub/keel-hq__keel/dockerhub-push.json",
            Events(&[("docker.io/karolisr/keel", Some("0.1.7"), None)]),
        ),
        // Flux's generic receiver body (free-form, filtered by CEL) has no `image`.
        (
            "generic/fluxcd__notification-controller/resources-filtered-with-cel-expressions.json",
            Error,
        ),
        // keel takes the tag from resource_url (1.2.3); Harbor's own `tag` field says latest.
        (
            "harbor/keel-hq__keel/harbor-PUSH_ARTIFACT.json",
            Events(&[(
                "quay.io/mynamespace/repository",
                Some("latest"),
                Some("sha256:b4758aaed11c155a476b9857e1178f157759c99cb04c907a04993f5481eff848"),
            )]),
        ),
        (
            "harbor/keel-hq__keel/harbor-pushImage-legacy.json",
            Events(&[(
                "harbor.mydomain.com/library/ai-rag",
                Some("1.2.3"),
                Some("sha256:b4758aaed11c155a476b9857e1178f157759c99cb04c907a04993f5481eff848"),
            )]),
        ),
        // resource_url without a host, and no registry configured on the receiver.
        (
            "harbor/keel-hq__keel/harbor-pushImage-malformed-resource_url.json",
            Error,
        ),
        // Repository-path access: <platform host>/<repo_key>/<image_name>.
        (
            "jfrog/keel-hq__keel/jfrog-docker-pushed.json",
            Events(&[(
                "example.jfrog.io/docker-remote-cache/library/ubuntu",
                Some("latest"),
                Some("sha256:35c4a2c15539c6c1e4e5fa4e554dac323ad0107d8eb5c582d6ff386b383b7dce"),
            )]),
        ),
        // Flux's samples carry `docker_url` but no `repository`.
        (
            "quay/fluxcd__notification-controller/cel-filtering-a-quay-receiver.json",
            Error,
        ),
        (
            "quay/fluxcd__notification-controller/quay-receiver.json",
            Error,
        ),
        (
            "quay/keel-hq__keel/quay-repository-push.json",
            Events(&[("quay.io/mynamespace/repository", Some("1.2.3"), None)]),
        ),
    ])
}

/// Files kedge does not handle, and why. Asserted exactly.
pub const NOT_APPLICABLE: &[(&str, &str)] = &[
    (
        "aliyun-acr/",
        "Alibaba Cloud ACR is not one of kedge serve's registry sources (distribution, gitlab, dockerhub, harbor, quay, acr, jfrog, generic)",
    ),
    (
        "bitbucket/fluxcd__notification-controller/cel-filtering-a-bitbucket-receiver.json",
        "Bitbucket repository event: kedge serve takes git events from GitHub only (its X-Hub-Signature-256 is still verified)",
    ),
    (
        "cdevents/fluxcd__notification-controller/cdevents-receiver.json",
        "CDEvents (cd.change.merged) is not a registry or GitHub payload",
    ),
    (
        "cloudevents/",
        "CloudEvents (ECR via EventBridge, generic) is not one of kedge serve's registry sources",
    ),
    (
        "gcr-pubsub/",
        "Google Pub/Sub push for GCR/Artifact Registry needs the Pub/Sub envelope and Google OIDC auth; not a kedge serve source",
    ),
    (
        "gitlab/",
        "GitLab repository hooks (push, tag push, merge request): kedge serve takes git events from GitHub only; GitLab's registry notifies through the distribution envelope (the gitlab source)",
    ),
    (
        "harbor/fluxcd__notification-controller/cel-filtering-a-harbor-receiver-does-not-read-body.json",
        "Harbor 1.x `event_type`/`events[]` notification, older than both supported generations and without a registry host",
    ),
    (
        "native/keel-hq__keel/native-webhook.json",
        "keel's native {name, tag} format; kedge's generic receiver reads {image, tag, digest} and is HMAC-signed",
    ),
    (
        "nexus/fluxcd__notification-controller/cel-filtering-a-nexus-receiver.json",
        "Nexus npm asset event, not a container image push",
    ),
];

/// Every file judged not applicable, in path order: the walk asserts it found exactly these.
pub const EXPECTED_NOT_APPLICABLE: &[&str] = &[
    "aliyun-acr/argoproj-labs__argocd-image-updater/pkg/webhook/aliyun_acr_test/TestAliyunACRWebhook_Parse/full-payload-from-user-example.json",
    "aliyun-acr/argoproj-labs__argocd-image-updater/pkg/webhook/aliyun_acr_test/TestAliyunACRWebhook_Parse/invalid-json.txt",
    "aliyun-acr/argoproj-labs__argocd-image-updater/pkg/webhook/aliyun_acr_test/TestAliyunACRWebhook_Parse/missing-region-without-query-parameter.json",
    "aliyun-acr/argoproj-labs__argocd-image-updater/pkg/webhook/aliyun_acr_test/TestAliyunACRWebhook_Parse/missing-tag.json",
    "aliyun-acr/argoproj-labs__argocd-image-updater/pkg/webhook/aliyun_acr_test/TestAliyunACRWebhook_Parse/priority-query-parameter.json",
    "aliyun-acr/argoproj-labs__argocd-image-updater/pkg/webhook/aliyun_acr_test/TestAliyunACRWebhook_Parse/priority-region-based.json",
    "bitbucket/fluxcd__notification-controller/cel-filtering-a-bitbucket-receiver.json",
    "cdevents/fluxcd__notification-controller/cdevents-receiver.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_ECR/ecr-event-with-namespace-in-repository-name.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_ECR/ecr-event-with-subject-fallback.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_ECR/missing-repository-name.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_ECR/missing-tag.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_ECR/valid-ecr-push-event.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_Generic/event-with-source-url-extraction.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_Generic/generic-container-push-event.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_Generic/generic-image-event-with-alternate-field-names.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_Generic/missing-specversion.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_Generic/missing-type.json",
    "cloudevents/argoproj-labs__argocd-image-updater/pkg/webhook/cloudevents_test/TestCloudEventsWebhook_Parse_Generic/unsupported-event-type.json",
    "gcr-pubsub/fluxcd__notification-controller/cel-filtering-a-gcr-receiver.json",
    "gcr-pubsub/keel-hq__keel/pubsub-message-data-1.json",
    "gcr-pubsub/keel-hq__keel/pubsub-message-data-2.json",
    "gitlab/argoproj__argo-cd/util/webhook/testdata/gitlab-event.json",
    "gitlab/go-playground__webhooks/testdata/gitlab/merge-request-event.json",
    "gitlab/go-playground__webhooks/testdata/gitlab/push-event.json",
    "gitlab/go-playground__webhooks/testdata/gitlab/tag-event.json",
    "harbor/fluxcd__notification-controller/cel-filtering-a-harbor-receiver-does-not-read-body.json",
    "native/keel-hq__keel/native-webhook.json",
    "nexus/fluxcd__notification-controller/cel-filtering-a-nexus-receiver.json",
];
