//! Which API resource serves each rendered object, and where it lives:
//! discovery once per sync maps apiVersion/kind to a resource and its scope.

use kedge_render::{RenderedObject, Source};
use kedge_sync::{Object, ObjectKey};
use kube::Client;
use kube::api::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope, verbs};
use serde_json::Value;

use crate::KubeError;

/// The resource types a cluster serves.
pub(crate) struct Resources {
    discovery: Discovery,
}

/// An API resource type and its scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ResourceType {
    /// The resource.
    pub resource: ApiResource,
    /// Whether its objects live in a namespace.
    pub namespaced: bool,
}

impl ResourceType {
    /// `deployments.apps/v1`, for messages.
    pub fn describe(&self) -> String {
        let resource = &self.resource;
        if resource.group.is_empty() {
            format!("{}/{}", resource.plural, resource.version)
        } else {
            format!(
                "{}.{}/{}",
                resource.plural, resource.group, resource.version
            )
        }
    }
}

/// A rendered object resolved against discovery, ready to be applied.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its identity, namespace filled in.
    pub key: ObjectKey,
    /// The resource type serving it.
    pub kind: ResourceType,
    /// The object as rendered, namespace filled in.
    pub object: Object,
    /// The file it came from.
    pub source: Source,
}

impl Resources {
    /// Runs discovery: the aggregated API (two requests) where the server
    /// has it, the per-group walk otherwise.
    pub async fn discover(client: &Client) -> Result<Self, KubeError> {
        let discovery = match Discovery::new(client.clone()).run_aggregated().await {
            Ok(discovery) => discovery,
            Err(error) => {
                tracing::debug!(%error, "aggregated discovery unavailable, walking groups");
                Discovery::new(client.clone())
                    .run()
                    .await
                    .map_err(KubeError::Discovery)?
            }
        };
        Ok(Self { discovery })
    }

    /// The resource type of `apiVersion`/`kind`, if the cluster serves it.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        self.discovery
            .resolve_gvk(&gvk)
            .map(|(resource, capabilities)| ResourceType {
                resource,
                namespaced: capabilities.scope == Scope::Namespaced,
            })
    }

    /// Every resource type that can be listed and deleted (events aside),
    /// at its preferred version: where prune looks for what left Git.
    pub fn prunable(&self) -> Vec<ResourceType> {
        let mut types = Vec::new();
        for group in self.discovery.groups() {
            for (resource, capabilities) in group.recommended_resources() {
                let usable = [verbs::LIST, verbs::DELETE]
                    .iter()
                    .all(|verb| capabilities.supports_operation(verb));
                if usable && resource.kind != "Event" {
                    types.push(ResourceType {
                        resource,
                        namespaced: capabilities.scope == Scope::Namespaced,
                    });
                }
            }
        }
        types
    }

    /// Resolves one rendered object: `Ok(None)` when the cluster does not
    /// serve its kind (yet).
    pub fn resolve(
        &self,
        rendered: &RenderedObject,
        destination: &str,
    ) -> Result<Option<Target>, KubeError> {
        if rendered.name().is_empty() {
            return Err(KubeError::Unnamed {
                source_file: Box::new(rendered.source.clone()),
                kind: rendered.kind().to_owned(),
            });
        }
        let Some(kind) = self.lookup(rendered.api_version(), rendered.kind()) else {
            return Ok(None);
        };
        let mut object = rendered.object.clone();
        match (kind.namespaced, rendered.namespace()) {
            (true, None) => set_namespace(&mut object, destination),
            (false, Some(_)) => {
                return Err(KubeError::NamespaceOnClusterScoped {
                    object: located(rendered),
                    kind: rendered.kind().to_owned(),
                });
            }
            _ => {}
        }
        Ok(Some(Target {
            key: kedge_sync::object_key(&object),
            kind,
            object,
            source: rendered.source.clone(),
        }))
    }
}

/// Resolves every object; one the cluster does not serve is `None` if a CRD
/// of the same render defines it (it is resolved after that CRD is
/// established), and an error naming it and its file otherwise.
pub(crate) fn resolve_all(
    resources: &Resources,
    rendered: &[RenderedObject],
    destination: &str,
) -> Result<Vec<Option<Target>>, KubeError> {
    let mut targets = Vec::with_capacity(rendered.len());
    for object in rendered {
        let target = resources.resolve(object, destination)?;
        if target.is_none() && !defined_by_crd_in(rendered, object) {
            return Err(KubeError::UnknownKind {
                object: located(object),
                api_version: object.api_version().to_owned(),
                kind: object.kind().to_owned(),
            });
        }
        targets.push(target);
    }
    Ok(targets)
}

/// Whether a CustomResourceDefinition among `rendered` defines `object`'s kind.
pub(crate) fn defined_by_crd_in(rendered: &[RenderedObject], object: &RenderedObject) -> bool {
    let group = object
        .api_version()
        .rsplit_once('/')
        .map_or("", |(group, _)| group);
    rendered.iter().any(|crd| {
        crd.kind() == "CustomResourceDefinition"
            && crd.api_version().starts_with("apiextensions.k8s.io/")
            && crd.object.get("spec").is_some_and(|spec| {
                spec.get("group").and_then(Value::as_str) == Some(group)
                    && spec.pointer("/names/kind").and_then(Value::as_str) == Some(object.kind())
            })
    })
}

fn located(object: &RenderedObject) -> Box<crate::error::Located> {
    Box::new(crate::error::Located {
        key: object.key(),
        source_file: object.source.clone(),
    })
}

fn set_namespace(object: &mut Object, namespace: &str) {
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Object::new()));
    if let Value::Object(metadata) = metadata {
        metadata.insert("namespace".into(), namespace.into());
    }
}
