//! Argo CD objects read as `DynamicObject`s, mapped by [`kedge_migrate`] to
//! the `ImageUpdate` specs kedge runs: pure, tested without a cluster.
//!
//! The objects are handed to the importer as the YAML `kubectl get -o yaml`
//! would print (name, labels, annotations and spec only), so the take-over
//! maps exactly what `kedge import argocd-image-updater` maps from files.

use kedge_controller::{ImageUpdateSpec, RegistrySpec};
use kedge_migrate::{Finding, ImportOptions, Source, Tool};
use kube::ResourceExt;
use kube::api::DynamicObject;

use super::super::image_update_spec;
use super::credentials;

/// The annotation that puts an Application under Argo CD Image Updater's
/// (v0.x) care; the take-over looks only at Applications that carry it.
pub const IMAGE_LIST_ANNOTATION: &str = "argocd-image-updater.argoproj.io/image-list";

/// The prefix of every Argo CD Image Updater annotation.
pub(super) const ANNOTATION_PREFIX: &str = "argocd-image-updater.argoproj.io/";

/// What one object (an annotated Application, or an ImageUpdater over one
/// Application) maps to.
#[derive(Debug, Default)]
pub(super) struct Mapping {
    /// The specs to run, one per manifest repository and branch.
    pub specs: Vec<ImageUpdateSpec>,
    /// Keys kedge cannot honour, each `KEY: why`, the key an annotation
    /// name or a field path.
    pub not_mapped: Vec<String>,
    /// The Secret of `git:secret:` write-back, for every spec's `git.auth`.
    pub git_secret: Option<String>,
}

impl Mapping {
    /// How many images the specs keep up to date.
    pub fn images(&self) -> usize {
        self.specs.iter().map(|spec| spec.images.len()).sum()
    }
}

/// Whether `app` carries the annotation that makes Argo CD Image Updater
/// (v0.x) update it.
pub(super) fn has_image_list(app: &DynamicObject) -> bool {
    app.annotations().contains_key(IMAGE_LIST_ANNOTATION)
}

/// Maps an Application's annotations.
pub(super) fn application(app: &DynamicObject, registries: &[RegistrySpec]) -> Mapping {
    let secret = credentials::write_back_secret(app);
    map(&[object_source(app)], &app.name_any(), registries, secret)
}

/// Maps what the ImageUpdater `updater` asks of `app`, one of the
/// Applications of its namespace; `None` when it does not select `app`.
/// `app` is given without its own annotations unless the updater reads
/// them (`useAnnotations: true`): annotated Applications are otherwise the
/// Application take-over's.
pub(super) fn image_updater(
    updater: &DynamicObject,
    app: &DynamicObject,
    registries: &[RegistrySpec],
) -> Option<Mapping> {
    let mut app = app.clone();
    if !uses_annotations(updater) {
        (app.annotations_mut()).retain(|key, _| !key.starts_with(ANNOTATION_PREFIX));
    }
    let name = format!("{}-{}", updater.name_any(), app.name_any());
    let secret = credentials::write_back_secret(updater);
    let mapping = map(
        &[object_source(updater), object_source(&app)],
        &name,
        registries,
        secret,
    );
    (!mapping.specs.is_empty()).then_some(mapping)
}

/// Whether an `applicationRefs[]` entry of `updater` reads annotations.
fn uses_annotations(updater: &DynamicObject) -> bool {
    (updater.data.pointer("/spec/applicationRefs"))
        .and_then(serde_json::Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|entry| entry.get("useAnnotations") == Some(&serde_json::Value::Bool(true)))
        })
}

/// Imports `sources` and turns each configuration into a spec named `name`
/// (in notes) that reaches `registries`; `secret` is what the write-back
/// method names ([`credentials::write_back_secret`]), which replaces the
/// importer's finding about that method.
fn map(
    sources: &[Source],
    name: &str,
    registries: &[RegistrySpec],
    secret: Result<Option<String>, String>,
) -> Mapping {
    let options = ImportOptions::default();
    let imported = match kedge_migrate::import(Tool::ArgoCdImageUpdater, sources, &options) {
        Ok(imported) => imported,
        Err(error) => {
            return Mapping {
                not_mapped: vec![error.to_string()],
                ..Mapping::default()
            };
        }
    };
    let mut notes = Vec::new();
    let specs = (imported.configs.iter())
        .map(|config| {
            let mut spec = image_update_spec(config, name, &mut notes);
            spec.registries = registries.to_vec();
            spec
        })
        .collect();
    for note in notes {
        tracing::info!(%note, "mapped with a difference");
    }
    let method_taken = !matches!(secret, Ok(None));
    let mut not_mapped: Vec<String> = (imported.not_mapped.iter())
        .filter(|finding| !(method_taken && credentials::is_method_key(&finding.key)))
        .map(finding_message)
        .collect();
    let git_secret = secret.unwrap_or_else(|refused| {
        not_mapped.push(refused);
        None
    });
    Mapping {
        specs,
        not_mapped,
        git_secret,
    }
}

/// `KEY: why`: the key is an annotation name or a field path; the file and
/// line of the importer mean nothing for an object read from the cluster.
fn finding_message(finding: &Finding) -> String {
    if finding.key.is_empty() {
        finding.reason.clone()
    } else {
        format!("{}: {}", finding.key, finding.reason)
    }
}

/// `object` as the importer reads it: kind, name, labels, annotations and
/// spec (never its status or managed fields), named by kind and name.
fn object_source(object: &DynamicObject) -> Source {
    let types = object.types.clone().unwrap_or_default();
    let document = serde_json::json!({
        "apiVersion": types.api_version,
        "kind": types.kind,
        "metadata": {
            "name": object.name_any(),
            "namespace": object.namespace(),
            "labels": object.labels(),
            "annotations": object.annotations(),
        },
        "spec": object.data.get("spec").cloned().unwrap_or_default(),
    });
    // JSON is YAML: the importer reads it as it reads a file.
    let path = format!("{} {}", types.kind, object.name_any());
    Source::new(path, document.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(relative: &str) -> Vec<DynamicObject> {
        let path = kedge_testkit::fixtures_dir()
            .join("migration/argoproj-labs__argocd-image-updater")
            .join(relative);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        text.split("\n---\n")
            .filter_map(|document| serde_saphyr::from_str::<serde_json::Value>(document).ok())
            .filter(|value| value["kind"] != "Namespace")
            .map(|value| serde_json::from_value(value).expect("an object"))
            .collect()
    }

    const SCENARIO_001: &str = "test/e2e/suite/001-simple-kustomize-app-semver/01-install.yaml";

    #[test]
    fn the_legacy_annotations_of_scenario_001_map_to_one_image_update() {
        let objects = fixture(&format!("_legacy-v0.18.0/{SCENARIO_001}"));
        let app = &objects[0];
        assert!(has_image_list(app));
        let mapping = application(app, &[]);
        assert_eq!(mapping.not_mapped, Vec::<String>::new());
        let [spec] = mapping.specs.as_slice() else {
            panic!("one spec: {mapping:?}");
        };
        assert_eq!(spec.git.url, "http://10.42.0.1:30002/testdata.git");
        assert_eq!(spec.images[0].image, "10.42.0.1:30000/test-image");
        assert_eq!(spec.images[0].targets, ["001-simple-kustomize-app"]);
        assert_eq!(mapping.images(), 1);
    }

    #[test]
    fn the_image_updater_of_scenario_001_selects_its_application_only() {
        let objects = fixture(SCENARIO_001);
        let (app, updater) = (&objects[0], &objects[1]);
        assert!(!has_image_list(app));
        let mapping = image_updater(updater, app, &[]).expect("selected");
        assert_eq!(mapping.specs[0].images[0].alias, "test");
        let mut other = app.clone();
        other.metadata.name = Some("another-app".into());
        assert!(image_updater(updater, &other, &[]).is_none());
    }

    #[test]
    fn an_annotation_kedge_cannot_honour_is_named() {
        let mut app = fixture(&format!("_legacy-v0.18.0/{SCENARIO_001}")).remove(0);
        app.annotations_mut().insert(
            "argocd-image-updater.argoproj.io/write-back-target".into(),
            "kustomization:{{ .app.path.path }}".into(),
        );
        let mapping = application(&app, &[]);
        assert!(
            (mapping.not_mapped.iter()).any(|message| message
                .starts_with("argocd-image-updater.argoproj.io/write-back-target: ")),
            "{mapping:?}"
        );
    }

    #[test]
    fn a_git_secret_in_the_applications_namespace_is_taken_over() {
        let mut app = fixture(&format!("_legacy-v0.18.0/{SCENARIO_001}")).remove(0);
        app.metadata.namespace = Some("argocd".into());
        let method = "argocd-image-updater.argoproj.io/write-back-method";
        app.annotations_mut()
            .insert(method.into(), "git:secret:argocd/git-creds".into());
        let mapping = application(&app, &[]);
        assert_eq!(mapping.git_secret.as_deref(), Some("git-creds"));
        assert_eq!(mapping.not_mapped, Vec::<String>::new());
        app.annotations_mut()
            .insert(method.into(), "git:secret:other/git-creds".into());
        let mapping = application(&app, &[]);
        assert_eq!(mapping.git_secret, None);
        assert!(mapping.not_mapped[0].starts_with(method), "{mapping:?}");
    }
}
