//! The mapping from an ImageUpdate and its Secrets to a configuration, over
//! the example users start from and the ways a spec or a Secret goes wrong.

use std::path::{Path, PathBuf};

use kedge_controller::{ImageUpdate, ImageUpdateSpec};
use kedge_git::GitAuth;
use kedge_registry::{Credentials, RegistrySettings};

use super::*;
use crate::config::{Pin, Strategy, WriteBackMode};

fn example() -> ImageUpdateSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/examples/imageupdate.yaml");
    let text = std::fs::read_to_string(&path).expect("the example is readable");
    let resource: ImageUpdate = serde_saphyr::from_str(&text).expect("the example reads");
    resource.spec
}

/// Every Secret and key the example names.
fn example_secrets() -> SecretValues {
    let mut secrets = SecretValues::new();
    secrets.insert("manifests-git", [text("token", "ghp_example\n")]);
    secrets.insert(
        "ghcr",
        [text("username", "robot"), text("password", "s3cret")],
    );
    secrets
}

fn text(key: &str, value: &str) -> (String, Vec<u8>) {
    (key.to_owned(), value.as_bytes().to_vec())
}

fn secret_dir() -> PathBuf {
    PathBuf::from("/cache/imageupdates/team/manifests/secrets")
}

fn spec(yaml: &str) -> ImageUpdateSpec {
    serde_saphyr::from_str(yaml).expect("a spec")
}

const MINIMAL: &str = "git: {url: https://github.com/acme/manifests.git}\n\
                       images:\n  - {alias: web, image: ghcr.io/acme/web, targets: [apps/web]}\n";

#[test]
fn the_example_maps_to_the_configuration_kedge_yaml_would_give() {
    let settings = update_settings(&example(), &example_secrets(), &secret_dir()).unwrap();
    let config = &settings.config;
    assert_eq!(config.git.url, "https://github.com/acme/manifests.git");
    assert_eq!(config.git.author.email, "kedge@acme.example");
    assert_eq!(config.write_back.mode, WriteBackMode::PullRequest);
    assert_eq!(
        config.write_back.pull_request.branch,
        "kedge/{{ image.alias }}"
    );
    assert_eq!(config.write_back.pull_request.labels, ["dependencies"]);
    // Templates the spec leaves out are kedge.yaml's defaults.
    assert!(
        config
            .write_back
            .commit_message
            .contains("updates[0].alias")
    );
    let image = &config.images[0];
    assert_eq!(image.alias, "web");
    assert_eq!(image.targets, ["deploy/web/values.yaml"]);
    assert_eq!(image.pin, Pin::TagAndDigest);
    assert_eq!(image.platform.as_deref(), Some("linux/amd64"));
    let policy = image.policy.as_ref().unwrap();
    assert_eq!(policy.strategy, Strategy::Semver);
    assert_eq!(policy.constraint.as_deref(), Some(">=1.0.0 <2.0.0"));

    // The token's trailing line break (kubectl --from-file) is not part of it.
    match &settings.git_auth {
        GitAuth::UserPass { username, password } => {
            assert_eq!(
                (username.as_str(), password.as_str()),
                ("x-access-token", "ghp_example")
            );
        }
        other => panic!("expected a token, got {other:?}"),
    }
    let forge = settings.forge.as_ref().unwrap();
    assert_eq!(
        (forge.owner.as_str(), forge.repo.as_str()),
        ("acme", "manifests")
    );
    assert_eq!(forge.api_url, kedge_forge::DEFAULT_API_URL);
    assert_eq!(
        settings.registry.credentials.lookup("ghcr.io").unwrap(),
        Credentials::Basic {
            username: "robot".into(),
            password: "s3cret".into()
        }
    );
    assert!(settings.files.is_empty(), "{:?}", settings.files);
    // Tokens and passwords never reach a log line.
    let shown = format!("{settings:?} {:?}", example_secrets());
    assert!(
        !shown.contains("ghp_example") && !shown.contains("s3cret"),
        "{shown}"
    );
}

#[test]
fn only_the_registries_the_spec_names_have_credentials() {
    // Not the controller's own ~/.docker/config.json: a tenant's resource
    // must not borrow the controller's registry logins.
    let settings = update_settings(&spec(MINIMAL), &SecretValues::new(), &secret_dir()).unwrap();
    assert_eq!(
        settings.registry.credentials.lookup("docker.io").unwrap(),
        Credentials::Anonymous
    );
    assert!(matches!(settings.git_auth, GitAuth::None));
    assert!(settings.forge.is_none());
}

#[test]
fn a_missing_secret_names_the_field_and_the_secret() {
    let mut secrets = example_secrets();
    secrets.insert("ghcr", [text("username", "robot")]);
    let error = update_settings(&example(), &secrets, &secret_dir()).unwrap_err();
    assert!(error.is_missing_secret());
    assert_eq!(
        error.to_string(),
        "spec.registries[0].credentials.passwordSecretRef: Secret \"ghcr\" has no key \"password\""
    );

    let mut secrets = SecretValues::new();
    secrets.insert("ghcr", [text("username", "u"), text("password", "p")]);
    let error = update_settings(&example(), &secrets, &secret_dir()).unwrap_err();
    assert_eq!(error.field(), Some("spec.git.auth.tokenSecretRef"));
    assert_eq!(
        error.to_string(),
        "spec.git.auth.tokenSecretRef: Secret \"manifests-git\" not found in the ImageUpdate's namespace"
    );
}

#[test]
fn a_bad_policy_names_the_image_and_the_policy_field() {
    let yaml = "git: {url: https://github.com/acme/manifests.git}\nimages:\n  \
                - {alias: web, image: ghcr.io/acme/web, targets: [apps/web]}\n  \
                - {alias: api, image: ghcr.io/acme/api, targets: [apps/api], policy: {constraint: '>=banana'}}\n";
    let error = update_settings(&spec(yaml), &SecretValues::new(), &secret_dir()).unwrap_err();
    assert!(!error.is_missing_secret());
    assert_eq!(error.field(), Some("spec.images[1].policy.constraint"));
    assert!(error.to_string().contains("banana"), "{error}");
}

#[test]
fn edge_cases_name_their_field() {
    let cases = [
        (
            "images:\n  - {alias: web, image: ghcr.io/Acme/web, targets: [apps]}\n",
            "spec.images[0].image",
        ),
        (
            "images:\n  - {alias: web, image: ghcr.io/acme/web, targets: [../outside]}\n",
            "spec.images[0].targets",
        ),
        (
            "images:\n  - {alias: web, image: ghcr.io/acme/web, targets: [apps]}\n  - {alias: web, image: ghcr.io/acme/api, targets: [apps]}\n",
            "spec.images[1].alias",
        ),
        (
            "images:\n  - {alias: web, image: ghcr.io/acme/web, targets: [apps], platform: 'linux/'}\n",
            "spec.images[0].platform",
        ),
        (
            "registries: [{prefix: ghcr.io, discoveryDeadline: 0s}]\nimages:\n  - {alias: web, image: ghcr.io/acme/web, targets: [apps]}\n",
            "spec.registries[0].discoveryDeadline",
        ),
    ];
    for (tail, field) in cases {
        let yaml = format!("git: {{url: https://github.com/acme/manifests.git}}\n{tail}");
        let error = update_settings(&spec(&yaml), &SecretValues::new(), &secret_dir()).unwrap_err();
        assert_eq!(error.field(), Some(field), "{error}");
    }
}

#[test]
fn the_resources_own_checks_come_first() {
    let yaml = format!("{MINIMAL}writeBack: {{mode: pull-request}}\n");
    let error = update_settings(&spec(&yaml), &SecretValues::new(), &secret_dir()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "spec.writeBack.mode is pull-request but no forge is configured"
    );
    let yaml = format!("{MINIMAL}interval: soon\n");
    let error = update_settings(&spec(&yaml), &SecretValues::new(), &secret_dir()).unwrap_err();
    assert!(
        error.to_string().starts_with("spec.interval: \"soon\""),
        "{error}"
    );
}

#[test]
fn an_ssh_key_and_a_ca_bundle_become_files_under_the_resources_directory() {
    let yaml = "git:\n  url: ssh://git@github.com/acme/manifests.git\n  \
                auth: {sshKeySecretRef: {name: deploy-key, key: identity}}\n\
                registries:\n  - {prefix: registry.internal, caSecretRef: {name: ca, key: ca.crt}}\n\
                images:\n  - {alias: web, image: registry.internal/web, targets: [apps]}\n";
    let mut secrets = SecretValues::new();
    secrets.insert(
        "deploy-key",
        [text("identity", "-----BEGIN OPENSSH PRIVATE KEY-----\n")],
    );
    secrets.insert("ca", [text("ca.crt", "-----BEGIN CERTIFICATE-----\n")]);
    let settings = update_settings(&spec(yaml), &secrets, &secret_dir()).unwrap();

    let key_path = secret_dir().join("git-ssh-key");
    assert_eq!(
        settings.config.git.auth.ssh_key_file.as_ref(),
        Some(&key_path)
    );
    let ca_path = secret_dir().join("registry-0-ca.pem");
    assert_eq!(
        settings.config.registries[0].ca_file.as_ref(),
        Some(&ca_path)
    );
    let (prefix, registry): &(String, RegistrySettings) = &settings.registry.registries[0];
    assert_eq!(prefix, "registry.internal");
    assert_eq!(registry.ca_file.as_ref(), Some(&ca_path));
    let written: Vec<(&Path, &[u8])> = (settings.files.iter())
        .map(|file| (file.path.as_path(), file.contents.as_slice()))
        .collect();
    assert_eq!(
        written,
        [
            (
                key_path.as_path(),
                b"-----BEGIN OPENSSH PRIVATE KEY-----\n".as_slice()
            ),
            (
                ca_path.as_path(),
                b"-----BEGIN CERTIFICATE-----\n".as_slice()
            ),
        ]
    );
    // Values never reach a log line.
    assert!(!format!("{settings:?} {secrets:?}").contains("BEGIN"));
}

#[test]
fn a_pull_secret_gives_its_logins_and_a_broken_one_names_its_secret() {
    let yaml = format!(
        "{MINIMAL}registries:\n  - {{prefix: ghcr.io, pullSecretRef: {{name: pull, key: .dockerconfigjson}}}}\n"
    );
    let mut secrets = SecretValues::new();
    let config = r#"{"auths":{"ghcr.io":{"username":"bot","password":"pat"}}}"#;
    secrets.insert("pull", [text(".dockerconfigjson", config)]);
    let settings = update_settings(&spec(&yaml), &secrets, &secret_dir()).unwrap();
    assert_eq!(
        settings.registry.credentials.lookup("ghcr.io").unwrap(),
        Credentials::Basic {
            username: "bot".into(),
            password: "pat".into()
        }
    );

    secrets.insert("pull", [text(".dockerconfigjson", "{not json")]);
    let error = update_settings(&spec(&yaml), &secrets, &secret_dir()).unwrap_err();
    assert_eq!(error.field(), Some("spec.registries[0].pullSecretRef"));
    assert!(
        error
            .to_string()
            .contains("Secret pull key .dockerconfigjson"),
        "{error}"
    );
}

#[test]
fn a_token_that_is_not_text_is_refused_by_name() {
    let yaml = MINIMAL.replace(
        "git: {url: https://github.com/acme/manifests.git}",
        "git: {url: https://github.com/acme/manifests.git, auth: {tokenSecretRef: {name: git, key: token}}}",
    );
    let mut secrets = SecretValues::new();
    secrets.insert("git", [("token".to_owned(), vec![0xff, 0xfe])]);
    let error = update_settings(&spec(&yaml), &secrets, &secret_dir()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "spec.git.auth.tokenSecretRef: key \"token\" of Secret \"git\" is not UTF-8 text"
    );
}

#[test]
fn a_secret_read_from_the_api_server_keeps_its_data() {
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "manifests-git"},
        "data": {"token": "Z2hwX2V4YW1wbGU="},
    }))
    .unwrap();
    let mut secrets = example_secrets();
    secrets.insert("manifests-git", []);
    secrets.insert_secret(&secret);
    let settings = update_settings(&example(), &secrets, &secret_dir()).unwrap();
    assert!(matches!(
        settings.git_auth,
        GitAuth::UserPass { ref password, .. } if password == "ghp_example"
    ));
}
