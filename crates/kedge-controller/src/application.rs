//! `Application`: a path of a Git repository, rendered and synced into one
//! namespace.

use std::time::Duration;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ApplicationStatus, Error, parse_duration};

/// What an Application syncs, where, and how.
// Each printer column repeats `type_ = "string"`: kube-derive's syntax, not a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[kube(
    group = "kedge.dev",
    version = "v1alpha1",
    kind = "Application",
    doc = "A path of a Git repository that kedge renders (plain YAML, Kustomize or Helm) and keeps applied in one namespace.",
    namespaced,
    status = "ApplicationStatus",
    shortname = "kapp",
    category = "kedge",
    printcolumn(
        name = "Revision",
        type_ = "string",
        json_path = ".status.lastSyncedRevision"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Synced")].status"#
    ),
    printcolumn(
        name = "Healthy",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Healthy")].status"#
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        priority = 1,
        json_path = r#".status.conditions[?(@.type=="Ready")].reason"#
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// Where the manifests come from.
    pub source: ApplicationSource,
    /// Where they are applied.
    pub destination: Destination,
    /// When and how kedge syncs.
    #[serde(default)]
    pub sync_policy: SyncPolicy,
    /// Fields kedge neither compares nor overwrites (Argo CD's shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<IgnoreDifferences>,
    /// Applications in the same namespace that must be healthy before this
    /// one syncs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// `spec.source`: a path at a revision of a Git repository.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// The repository (`https://…` or `ssh://…`).
    #[serde(rename = "repoURL")]
    #[schemars(length(min = 1))]
    pub repo_url: String,
    /// A branch, a tag or a commit SHA.
    #[serde(default = "default_target_revision")]
    #[schemars(length(min = 1))]
    pub target_revision: String,
    /// The directory in the repository, relative to its root.
    #[serde(default = "default_path")]
    pub path: String,
    /// How the directory becomes manifests.
    #[serde(default)]
    pub render: Render,
}

fn default_target_revision() -> String {
    "main".to_owned()
}

fn default_path() -> String {
    ".".to_owned()
}

impl ApplicationSource {
    /// Whether any of `changed_paths` (repository-relative files, as a
    /// push lists them) lies in this source's path or is one of its Helm
    /// values files. Files the render reads from elsewhere (a Kustomize base
    /// beside the path, a chart dependency) are not seen: the answer orders
    /// refreshes, it never decides whether one happens.
    pub fn reads_any_of(&self, changed_paths: &[String]) -> bool {
        let path = normal_path(&self.path);
        if path.is_empty() {
            return !changed_paths.is_empty();
        }
        let values_files: Vec<String> = self
            .render
            .helm
            .iter()
            .flat_map(|helm| &helm.value_files)
            .map(|file| normal_path(&format!("{path}/{file}")))
            .collect();
        changed_paths.iter().any(|changed| {
            let changed = normal_path(changed);
            changed
                .strip_prefix(&path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                || values_files.contains(&changed)
        })
    }
}

/// `path` with `.` and empty parts dropped and `..` applied, `/`-joined:
/// `./apps//web/../api/` is `apps/api`, `.` is empty.
fn normal_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// `spec.source.render`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Render {
    /// `plain` (the YAML files as they are), `kustomize` or `helm`.
    #[serde(default, rename = "type")]
    pub render_type: RenderType,
    /// Helm settings (type `helm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmRender>,
}

/// How a directory becomes manifests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RenderType {
    /// The directory's YAML files as they are.
    #[default]
    Plain,
    /// `kustomize build` of the directory.
    Kustomize,
    /// `helm template` of the chart in the directory.
    Helm,
}

/// `spec.source.render.helm`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRender {
    /// Values files, relative to the chart, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    /// Values given inline, applied after the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::free_form_object")]
    pub values: Option<serde_json::Map<String, serde_json::Value>>,
    /// The release name; the Application's name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
}

/// `spec.destination`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// The namespace objects without one are applied to.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
}

/// `spec.syncPolicy`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync on every change; when false, kedge only reports the difference.
    #[serde(default = "default_true")]
    pub automated: bool,
    /// Delete objects kedge applied before that are no longer in Git.
    #[serde(default)]
    pub prune: bool,
    /// Undo changes made in the cluster outside Git.
    #[serde(default)]
    pub self_heal: bool,
    /// Create the destination namespace when it does not exist.
    #[serde(default)]
    pub create_namespace: bool,
    /// How a failed sync is retried.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// How often the repository is checked and the cluster compared with it.
    #[serde(default = "default_interval")]
    #[schemars(schema_with = "crate::schema::duration")]
    pub interval: String,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self {
            automated: true,
            prune: false,
            self_heal: false,
            create_namespace: false,
            retry: RetryPolicy::default(),
            interval: default_interval(),
        }
    }
}

impl SyncPolicy {
    /// [`SyncPolicy::interval`] read as a duration.
    pub fn interval(&self) -> Result<Duration, Error> {
        parse_duration("syncPolicy.interval", &self.interval)
    }
}

fn default_true() -> bool {
    true
}

fn default_interval() -> String {
    "3m".to_owned()
}

/// `spec.syncPolicy.retry`: exponential backoff between failed syncs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Retries after a failed sync before the Application is `Stalled`.
    #[serde(default = "default_retry_limit")]
    #[schemars(range(min = 0))]
    pub limit: u32,
    /// The wait before the first retry.
    #[serde(default = "default_backoff_duration")]
    #[schemars(schema_with = "crate::schema::duration")]
    pub duration: String,
    /// What each wait is multiplied by for the next one.
    #[serde(default = "default_backoff_factor")]
    #[schemars(range(min = 1))]
    pub factor: u32,
    /// The longest wait.
    #[serde(default = "default_backoff_max")]
    #[schemars(schema_with = "crate::schema::duration")]
    pub max_duration: String,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            limit: default_retry_limit(),
            duration: default_backoff_duration(),
            factor: default_backoff_factor(),
            max_duration: default_backoff_max(),
        }
    }
}

fn default_retry_limit() -> u32 {
    5
}

fn default_backoff_duration() -> String {
    "5s".to_owned()
}

fn default_backoff_factor() -> u32 {
    2
}

fn default_backoff_max() -> String {
    "3m".to_owned()
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (1 for the first), or `None`
    /// when the retries are used up.
    pub fn delay(&self, attempt: u32) -> Result<Option<Duration>, Error> {
        if attempt == 0 || attempt > self.limit {
            return Ok(None);
        }
        let first = parse_duration("syncPolicy.retry.duration", &self.duration)?;
        let max = parse_duration("syncPolicy.retry.maxDuration", &self.max_duration)?;
        let factor = self.factor.max(1);
        let mut delay = first;
        for _ in 1..attempt {
            delay = delay.saturating_mul(factor);
            if delay >= max {
                break;
            }
        }
        Ok(Some(delay.min(max)))
    }
}

/// One `spec.ignoreDifferences` rule, in the shape Argo CD users already
/// write. The sync engine owns its meaning (kedge reads the rules with
/// `ApplicationSpec::ignore_rules`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreDifferences {
    /// API group (`apps`); empty for the core group, `*` for any.
    #[serde(default)]
    pub group: String,
    /// Kind (`Deployment`), `*` for any.
    #[schemars(length(min = 1))]
    pub kind: String,
    /// Only this object, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects in this namespace, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 pointers to the ignored fields (`/spec/replicas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// Fields owned by these field managers (`kube-controller-manager`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

impl ApplicationSpec {
    /// The `ignoreDifferences` rules, validated by the sync engine (a bad
    /// pointer or a rule that ignores nothing is an error naming the rule).
    pub fn ignore_rules(&self) -> Result<kedge_sync::ignore::IgnoreRules, Error> {
        let rules = self
            .ignore_differences
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                serde_json::to_value(rule)
                    .and_then(serde_json::from_value)
                    .map_err(|source| Error::IgnoreDifferencesShape { index, source })
            })
            .collect::<Result<Vec<kedge_sync::ignore::IgnoreDifferences>, Error>>()?;
        kedge_sync::ignore::IgnoreRules::new(rules)
            .map_err(|source| Error::IgnoreDifferences { source })
    }
}
