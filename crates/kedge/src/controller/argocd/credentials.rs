//! AIU's Git write-back credentials, `git:secret:[<namespace>/]<name>`, as
//! the mapped spec's `git.auth`: the Secret in the object's own namespace
//! (AIU refuses any other, and so does kedge), read as AIU documents it
//! (`docs/basics/update-methods.md`): `sshPrivateKey`, else `username` and
//! `password`.

use k8s_openapi::api::core::v1::Secret;
use kedge_controller::{ImageUpdateSpec, SecretKeyRef};
use kube::ResourceExt;
use kube::api::DynamicObject;

use super::mapping::ANNOTATION_PREFIX;

/// The method value that names a Secret.
const SECRET_METHOD: &str = "git:secret:";

/// The Secret `object`'s write-back method names: `Ok(None)` when it names
/// none, `Err` (naming the key) when kedge will not read it.
pub(super) fn write_back_secret(object: &DynamicObject) -> Result<Option<String>, String> {
    let namespace = object.namespace().unwrap_or_default();
    let mut named: Vec<(String, String)> = Vec::new();
    let annotation = format!("{ANNOTATION_PREFIX}write-back-method");
    if let Some(method) = object.annotations().get(&annotation) {
        named.push((annotation.clone(), method.clone()));
    }
    if let Some(method) = object.data.pointer("/spec/writeBackConfig/method") {
        named.push(("spec.writeBackConfig.method".into(), text(method)));
    }
    let refs = (object.data.pointer("/spec/applicationRefs"))
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, entry) in refs.iter().enumerate() {
        if let Some(method) = entry.pointer("/writeBackConfig/method") {
            let key = format!("spec.applicationRefs[{i}].writeBackConfig.method");
            named.push((key, text(method)));
        }
    }
    let mut secrets: Vec<(String, String)> = Vec::new();
    for (key, method) in named {
        let Some(reference) = method.trim().strip_prefix(SECRET_METHOD) else {
            continue;
        };
        let name = match reference.split_once('/') {
            Some((other, _)) if other != namespace => {
                return Err(format!(
                    "{key}: {method:?} names a Secret in namespace {other}; kedge reads Secrets \
                     in the object's own namespace ({namespace}) only, as Argo CD Image Updater does"
                ));
            }
            Some((_, name)) => name,
            None => reference,
        };
        if !secrets.iter().any(|(_, known)| known == name) {
            secrets.push((key, name.to_owned()));
        }
    }
    match secrets.as_slice() {
        [] => Ok(None),
        [(_, name)] => Ok(Some(name.clone())),
        [(first, _), (second, _), ..] => Err(format!(
            "{first}, {second}: different Git credentials per Application are not taken over; \
             name one Secret"
        )),
    }
}

/// Whether a key kedge-migrate reports is the write-back method that
/// [`write_back_secret`] takes over.
pub(super) fn is_method_key(key: &str) -> bool {
    key.ends_with("write-back-method") || key.ends_with("writeBackConfig.method")
}

/// Sets `spec.git.auth` from the Secret `name` (`secret`, when it exists):
/// its `sshPrivateKey`, else its `password` as the token with its
/// `username`. A Secret that does not exist is still named, so the run
/// reports `SecretNotFound` until it is created.
pub(super) fn set_git_auth(spec: &mut ImageUpdateSpec, name: &str, secret: Option<&Secret>) {
    let data = secret.and_then(|secret| secret.data.as_ref());
    let key = |key: &str| SecretKeyRef {
        name: name.to_owned(),
        key: key.to_owned(),
    };
    let auth = &mut spec.git.auth;
    if data.is_some_and(|data| data.contains_key("sshPrivateKey")) {
        auth.ssh_key_secret_ref = Some(key("sshPrivateKey"));
        return;
    }
    auth.token_secret_ref = Some(key("password"));
    auth.username = (data.and_then(|data| data.get("username")))
        .and_then(|value| String::from_utf8(value.0.clone()).ok())
        .map(|username| username.trim_end_matches(['\n', '\r']).to_owned());
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: serde_json::Value) -> DynamicObject {
        serde_json::from_value(value).expect("an object")
    }

    #[test]
    fn a_secret_in_the_objects_namespace_is_taken_and_another_namespace_refused() {
        let annotated = |method: &str| {
            object(serde_json::json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": "web", "namespace": "argocd", "annotations": {
                    "argocd-image-updater.argoproj.io/write-back-method": method}},
            }))
        };
        for method in ["git:secret:git-creds", "git:secret:argocd/git-creds"] {
            let secret = write_back_secret(&annotated(method));
            assert_eq!(secret, Ok(Some("git-creds".to_owned())), "{method}");
        }
        assert_eq!(write_back_secret(&annotated("git")), Ok(None));
        let refused = write_back_secret(&annotated("git:secret:team-b/git-creds"))
            .expect_err("another namespace");
        assert!(
            refused.starts_with("argocd-image-updater.argoproj.io/write-back-method: "),
            "{refused}"
        );
    }

    #[test]
    fn an_image_updater_names_its_secret_at_any_level() {
        let updater = object(serde_json::json!({
            "apiVersion": "argocd-image-updater.argoproj.io/v1alpha1", "kind": "ImageUpdater",
            "metadata": {"name": "u", "namespace": "argocd"},
            "spec": {"applicationRefs": [
                {"namePattern": "*", "writeBackConfig": {"method": "git:secret:git-creds"}}]},
        }));
        assert_eq!(
            write_back_secret(&updater),
            Ok(Some("git-creds".to_owned()))
        );
    }

    #[test]
    fn user_credentials_become_a_token_with_its_user_and_a_key_wins() {
        let mut spec: ImageUpdateSpec = serde_json::from_value(serde_json::json!({
            "git": {"url": "https://git.example/m.git"},
            "images": [{"alias": "a", "image": "r/a", "targets": ["x"]}],
        }))
        .expect("a spec");
        let secret = |keys: &[(&str, &str)]| Secret {
            data: Some(
                (keys.iter())
                    .map(|(k, v)| {
                        (
                            (*k).to_owned(),
                            k8s_openapi::ByteString(v.as_bytes().to_vec()),
                        )
                    })
                    .collect(),
            ),
            ..Secret::default()
        };
        let user = secret(&[("username", "bot\n"), ("password", "pat")]);
        set_git_auth(&mut spec, "git-creds", Some(&user));
        assert_eq!(spec.git.auth.username.as_deref(), Some("bot"));
        assert_eq!(
            spec.git
                .auth
                .token_secret_ref
                .as_ref()
                .map(|r| r.key.as_str()),
            Some("password")
        );
        let mut spec_ssh = spec.clone();
        spec_ssh.git.auth = Default::default();
        set_git_auth(
            &mut spec_ssh,
            "git-creds",
            Some(&secret(&[("sshPrivateKey", "k")])),
        );
        assert_eq!(
            spec_ssh.git.auth.ssh_key_secret_ref.map(|r| r.key),
            Some("sshPrivateKey".to_owned())
        );
    }
}
