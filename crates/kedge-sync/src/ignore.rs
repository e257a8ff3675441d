//! `ignoreDifferences`: fields sync neither compares nor fights over.
//!
//! Contract: the shape is Argo CD's (`group`, `kind`, `name`, `namespace`,
//! `jsonPointers`, `managedFieldsManagers`), so Argo users keep theirs; rules
//! are validated once ([`IgnoreRules::new`]) and an invalid pointer is an
//! error naming the rule. Argo CD's `jqPathExpressions` is refused when the
//! rule is read, with a message saying what to use instead.
//!
//! Diff honours the rules in [`crate::compare::compare`]; sync applies
//! [`crate::compare::without_ignored`], so it never fights over them.

use serde::Deserializer;

use crate::ObjectKey;

/// One rule as written in an Application or on the command line.
///
/// `group` and `kind` may be `*` (any).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct IgnoreDifferences {
    /// API group (`apps`); empty or absent for the core group.
    #[serde(default)]
    pub group: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Only this object, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects in this namespace, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 pointers (`/spec/replicas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// Fields owned by these field managers (`kube-controller-manager`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
    /// Argo CD's jq expressions: always refused when read.
    #[serde(
        default,
        skip_serializing,
        deserialize_with = "refuse_jq_path_expressions"
    )]
    jq_path_expressions: Refused,
}

/// A field kedge reads only to refuse it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Refused;

/// The message for Argo CD's `jqPathExpressions`, which kedge does not run.
const JQ_UNSUPPORTED: &str = "jqPathExpressions is not supported by kedge; \
     write the fields as jsonPointers (RFC 6901, e.g. /spec/replicas) \
     or name their owner in managedFieldsManagers";

fn refuse_jq_path_expressions<'de, D: Deserializer<'de>>(_: D) -> Result<Refused, D::Error> {
    Err(serde::de::Error::custom(JQ_UNSUPPORTED))
}

impl IgnoreDifferences {
    /// A rule for every object of a kind (`group` empty for the core
    /// group), ignoring nothing until pointers or managers are added.
    pub fn for_kind(group: impl Into<String>, kind: impl Into<String>) -> Self {
        IgnoreDifferences {
            group: group.into(),
            kind: kind.into(),
            ..IgnoreDifferences::default()
        }
    }

    /// True when the rule applies to the object `key`.
    pub fn applies_to(&self, key: &ObjectKey) -> bool {
        let wildcard_or = |rule: &str, value: &str| rule == "*" || rule == value;
        wildcard_or(&self.group, &key.group)
            && wildcard_or(&self.kind, &key.kind)
            && self.name.as_ref().is_none_or(|name| *name == key.name)
            && self
                .namespace
                .as_ref()
                .is_none_or(|namespace| key.namespace.as_ref() == Some(namespace))
    }
}

/// A rule with its pointers read.
#[derive(Debug, Clone)]
struct Rule {
    spec: IgnoreDifferences,
    pointers: Vec<Vec<String>>,
}

/// A validated set of rules.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

/// A rule that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IgnoreError {
    /// A JSON pointer that does not start with `/` or has a bad escape.
    #[error("ignoreDifferences[{index}] ({kind}): invalid JSON pointer {pointer:?}: {reason}")]
    Pointer {
        /// The rule's position.
        index: usize,
        /// The rule's kind.
        kind: String,
        /// The pointer as written.
        pointer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A rule with neither pointers nor managers, which would ignore nothing.
    #[error(
        "ignoreDifferences[{index}] ({kind}): ignores nothing; give jsonPointers or managedFieldsManagers"
    )]
    Empty {
        /// The rule's position.
        index: usize,
        /// The rule's kind.
        kind: String,
    },
}

impl IgnoreRules {
    /// Validates rules.
    pub fn new(rules: Vec<IgnoreDifferences>) -> Result<Self, IgnoreError> {
        let rules = rules
            .into_iter()
            .enumerate()
            .map(|(index, spec)| {
                if spec.json_pointers.is_empty() && spec.managed_fields_managers.is_empty() {
                    return Err(IgnoreError::Empty {
                        index,
                        kind: spec.kind,
                    });
                }
                let pointers = spec
                    .json_pointers
                    .iter()
                    .map(|pointer| {
                        parse_pointer(pointer).map_err(|reason| IgnoreError::Pointer {
                            index,
                            kind: spec.kind.clone(),
                            pointer: pointer.clone(),
                            reason: reason.to_owned(),
                        })
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Rule { spec, pointers })
            })
            .collect::<Result<_, _>>()?;
        Ok(IgnoreRules { rules })
    }

    /// The rules that apply to an object.
    pub fn matching<'a>(
        &'a self,
        key: &'a ObjectKey,
    ) -> impl Iterator<Item = &'a IgnoreDifferences> + 'a {
        self.matching_rules(key).map(|rule| &rule.spec)
    }

    /// The pointers, as unescaped reference tokens, of the rules that apply
    /// to an object.
    pub(crate) fn pointers(&self, key: &ObjectKey) -> Vec<Vec<String>> {
        self.matching_rules(key)
            .flat_map(|rule| rule.pointers.iter().cloned())
            .collect()
    }

    /// The field managers named by the rules that apply to an object.
    pub(crate) fn managers<'a>(&'a self, key: &'a ObjectKey) -> Vec<&'a str> {
        self.matching_rules(key)
            .flat_map(|rule| rule.spec.managed_fields_managers.iter().map(String::as_str))
            .collect()
    }

    fn matching_rules<'a>(&'a self, key: &'a ObjectKey) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules
            .iter()
            .filter(move |rule| rule.spec.applies_to(key))
    }
}

/// Reads an RFC 6901 pointer into its reference tokens (`~1` is `/`, `~0`
/// is `~`); the error says what is wrong.
pub(crate) fn parse_pointer(pointer: &str) -> Result<Vec<String>, &'static str> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(if pointer.is_empty() {
            "the empty pointer names the whole object; ignore fields, not objects"
        } else {
            "it must start with '/'"
        });
    };
    rest.split('/').map(unescape_token).collect()
}

fn unescape_token(token: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => return Err("'~' must be followed by '0' (for '~') or '1' (for '/')"),
        }
    }
    Ok(out)
}

/// Writes reference tokens as an RFC 6901 pointer.
pub(crate) fn pointer_from_tokens(tokens: &[String]) -> String {
    tokens.iter().fold(String::new(), |mut pointer, token| {
        pointer.push('/');
        pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
        pointer
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            group: group.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    fn rules_from_yaml(yaml: &str) -> Vec<IgnoreDifferences> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn reads_argo_cd_rules() {
        let rules = rules_from_yaml(
            "- group: apps\n  kind: Deployment\n  jsonPointers: [/spec/replicas]\n\
             - kind: Service\n  name: web\n  namespace: shop\n  managedFieldsManagers: [kube-controller-manager]\n",
        );
        assert_eq!(rules[0].group, "apps");
        assert_eq!(rules[0].json_pointers, ["/spec/replicas"]);
        assert_eq!(rules[1].group, "");
        assert_eq!(
            rules[1].managed_fields_managers,
            ["kube-controller-manager"]
        );
        let rules = IgnoreRules::new(rules).unwrap();
        let web = key("", "Service", Some("shop"), "web");
        assert_eq!(rules.matching(&web).count(), 1);
        assert_eq!(rules.managers(&web), ["kube-controller-manager"]);
        assert!(rules.pointers(&web).is_empty());
        let deployment = key("apps", "Deployment", Some("any"), "x");
        assert_eq!(
            rules.pointers(&deployment),
            [vec!["spec".to_owned(), "replicas".to_owned()]]
        );
    }

    #[test]
    fn jq_path_expressions_are_refused_with_what_to_use_instead() {
        let yaml = "- kind: Deployment\n  jqPathExpressions: ['.spec.replicas']\n";
        let error = serde_saphyr::from_str::<Vec<IgnoreDifferences>>(yaml).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("jqPathExpressions is not supported"),
            "{message}"
        );
        assert!(message.contains("jsonPointers"), "{message}");
        let json = serde_json::json!({"kind": "Deployment", "jqPathExpressions": [".a"]});
        let error = serde_json::from_value::<IgnoreDifferences>(json).unwrap_err();
        assert!(
            error.to_string().contains("managedFieldsManagers"),
            "{error}"
        );
    }

    #[test]
    fn other_unknown_fields_are_refused() {
        let error =
            serde_saphyr::from_str::<IgnoreDifferences>("kind: Deployment\njsonPointer: [/a]\n")
                .unwrap_err();
        assert!(error.to_string().contains("jsonPointer"), "{error}");
    }

    #[test]
    fn a_rule_matches_by_group_kind_name_and_namespace() {
        let mut rule = IgnoreDifferences::for_kind("apps", "Deployment");
        rule.name = Some("web".to_owned());
        rule.namespace = Some("shop".to_owned());
        assert!(rule.applies_to(&key("apps", "Deployment", Some("shop"), "web")));
        assert!(!rule.applies_to(&key("apps", "Deployment", Some("shop"), "api")));
        assert!(!rule.applies_to(&key("apps", "Deployment", Some("prod"), "web")));
        assert!(!rule.applies_to(&key("apps", "Deployment", None, "web")));
        assert!(!rule.applies_to(&key("apps", "StatefulSet", Some("shop"), "web")));
        assert!(!rule.applies_to(&key("", "Deployment", Some("shop"), "web")));
        let any = IgnoreDifferences::for_kind("*", "*");
        assert!(any.applies_to(&key("", "ConfigMap", None, "c")));
    }

    #[test]
    fn pointers_are_validated_with_the_rule_named() {
        let mut rule = IgnoreDifferences::for_kind("apps", "Deployment");
        rule.json_pointers = vec!["/spec/replicas".to_owned(), "spec/paused".to_owned()];
        let error = IgnoreRules::new(vec![IgnoreDifferences::for_kind("", "Pod"), rule.clone()])
            .unwrap_err();
        assert!(
            matches!(error, IgnoreError::Empty { index: 0, .. }),
            "{error}"
        );
        let error = IgnoreRules::new(vec![rule]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "ignoreDifferences[0] (Deployment): invalid JSON pointer \"spec/paused\": it must start with '/'"
        );
    }

    #[test]
    fn pointer_escapes_follow_rfc_6901() {
        let tokens = parse_pointer("/metadata/annotations/kedge.dev~1sync-wave/a~0b").unwrap();
        assert_eq!(
            tokens,
            ["metadata", "annotations", "kedge.dev/sync-wave", "a~b"]
        );
        assert_eq!(
            pointer_from_tokens(&tokens),
            "/metadata/annotations/kedge.dev~1sync-wave/a~0b"
        );
        assert_eq!(parse_pointer("/a/").unwrap(), ["a", ""]);
        assert!(parse_pointer("/a~2").is_err());
        assert!(parse_pointer("/a~").is_err());
        assert!(parse_pointer("").is_err());
    }
}
