//! Keel's update settings (`policy`, `trigger`, `pollSchedule`, `matchTag`,
//! `matchPreRelease` and the rest) as a kedge policy for one image.

use crate::model::{Image, Pin, Policy, Strategy};
use crate::report::{At, Report};
use crate::tags;

/// One Keel setting's value and where it was written.
#[derive(Debug, Clone)]
pub(super) struct KeelSetting {
    /// The value.
    pub value: String,
    /// Where.
    pub at: At,
}

/// The settings of one workload or values file, by their Keel names
/// (`policy`, `trigger`, …) without the `keel.sh/` prefix.
#[derive(Debug, Default)]
pub(super) struct KeelSettings {
    /// Every setting in the order written.
    pub settings: Vec<(String, KeelSetting)>,
}

impl KeelSettings {
    /// The setting named `name`.
    pub fn get(&self, name: &str) -> Option<&KeelSetting> {
        self.settings
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, setting)| setting)
    }

    /// Reports what kedge.yaml cannot say; called once per workload or file.
    pub fn report_unmapped(&self, report: &mut Report) {
        for (key, setting) in &self.settings {
            let reason = match key.as_str() {
                "policy" | "trigger" | "pollSchedule" | "matchTag" | "match-tag"
                | "matchPreRelease" | "digest" | "images" => continue,
                "approvals" | "approvalDeadline" => {
                    "kedge has no approval gate: use writeBack.mode pull-request and require \
                     reviews on the branch"
                }
                "notify" | "notificationChannels" => {
                    "kedge sends no chat notifications: its commits or pull requests are the record"
                }
                "imagePullSecret" => {
                    "kedge reads a dockerconfigjson Secret from a file: save the Secret and set \
                     registries[].pullSecret"
                }
                "releaseNotes" => "kedge.yaml has no release-notes link",
                "initContainers" | "imageVolumes" => {
                    if setting.value == "true" {
                        continue;
                    }
                    "kedge always rewrites init containers and image volumes that reference the \
                     image"
                }
                _ => "not a setting Keel documents",
            };
            report.not_mapped(&setting.at, reason);
        }
    }
}

/// The `images[]` entry for `name` currently at `tag`, as `settings` say;
/// `None` (reported) for `never` and for what cannot be expressed.
pub(super) fn image(
    alias: &str,
    name: &str,
    tag: Option<&str>,
    settings: &KeelSettings,
    at: &At,
    report: &mut Report,
) -> Option<Image> {
    let Some(policy_setting) = settings.get("policy") else {
        report.not_mapped(at, "no keel.sh/policy, so Keel does not update this image");
        return None;
    };
    let (policy, pin) = policy(policy_setting, tag, settings, report)?;
    if let Err(reason) = policy.check() {
        report.not_mapped(
            &policy_setting.at,
            format!("kedge would refuse this policy: {reason}"),
        );
        return None;
    }
    Some(Image {
        alias: alias.to_owned(),
        image: name.to_owned(),
        policy: Some(policy),
        targets: Vec::new(),
        pin,
        platform: None,
        poll_interval: poll_interval(settings, report),
    })
}

fn policy(
    setting: &KeelSetting,
    tag: Option<&str>,
    settings: &KeelSettings,
    report: &mut Report,
) -> Option<(Policy, Pin)> {
    let match_tag = settings
        .get("matchTag")
        .or_else(|| settings.get("match-tag"))
        .filter(|m| m.value == "true");
    let value = setting.value.as_str();
    if let Some(match_tag) = match_tag
        && value != "force"
    {
        report.note(
            &match_tag.at,
            "Keel applies matchTag to the force policy only",
        );
    }
    let mut policy = match value {
        "force" if match_tag.is_some() => {
            let mut policy = Policy::new(Strategy::Digest);
            policy.tag = Some(tag.unwrap_or("latest").to_owned());
            return Some((policy, Pin::TagAndDigest));
        }
        "force" => Policy::new(Strategy::NewestBuild),
        "all" | "major" => Policy::new(Strategy::Semver),
        "minor" | "patch" => relative_range(setting, tag, report)?,
        "never" => {
            report.note(
                &setting.at,
                "never: Keel leaves the image alone, so kedge.yaml leaves it out",
            );
            return None;
        }
        other => matching(setting, other, report)?,
    };
    if policy.strategy == Strategy::Semver {
        pre_releases(&mut policy, tag, settings);
    }
    Some((policy, Pin::Tag))
}

/// `minor` or `patch`: semver within the current major or minor version.
fn relative_range(setting: &KeelSetting, tag: Option<&str>, report: &mut Report) -> Option<Policy> {
    let Some((major, minor, patch)) = tag.and_then(version) else {
        report.not_mapped(
            &setting.at,
            format!(
                "{} is relative to the current version, and {:?} is not one",
                setting.value,
                tag.unwrap_or("(no tag)")
            ),
        );
        return None;
    };
    let upper = match setting.value.as_str() {
        "minor" => format!("{}.0.0", major + 1),
        _ => format!("{major}.{}.0", minor + 1),
    };
    Some(Policy {
        constraint: Some(format!(">={major}.{minor}.{patch} <{upper}")),
        ..Policy::new(Strategy::Semver)
    })
}

/// `glob:` or `regexp:`: the newest build among matching tags.
fn matching(setting: &KeelSetting, value: &str, report: &mut Report) -> Option<Policy> {
    let allow = match value.strip_prefix("glob:") {
        Some(glob) => tags::glob_to_regex(glob),
        None => value.strip_prefix("regexp:").map(str::to_owned),
    };
    let Some(allow) = allow else {
        report.not_mapped(&setting.at, format!("{value:?} is not a Keel policy"));
        return None;
    };
    Some(Policy {
        allow: Some(allow),
        ..Policy::new(Strategy::NewestBuild)
    })
}

/// Keel's `matchPreRelease` (on by default): a release moves to releases
/// only, a pre-release to pre-releases with the same label.
fn pre_releases(policy: &mut Policy, tag: Option<&str>, settings: &KeelSettings) {
    if settings
        .get("matchPreRelease")
        .is_some_and(|m| m.value == "false")
    {
        policy.prereleases = true;
        return;
    }
    let label = tag
        .and_then(|tag| tag.split_once('-'))
        .map(|(_, pre)| pre.split(['.', '-']).next().unwrap_or(pre))
        .filter(|label| !label.is_empty() && !label.chars().all(|c| c.is_ascii_digit()));
    if let Some(label) = label {
        policy.prereleases = true;
        policy.allow = Some(format!("-{}([.-]|$)", regex::escape(label)));
    }
}

/// `MAJOR.MINOR.PATCH` of a tag such as `v1.2.3` or `1.2`.
fn version(tag: &str) -> Option<(u64, u64, u64)> {
    let core = tag.strip_prefix('v').unwrap_or(tag);
    let core = core.split(['-', '+']).next()?;
    let mut numbers = core.split('.').map(|n| n.parse::<u64>().ok());
    let major = numbers.next()??;
    let minor = numbers.next().unwrap_or(Some(0))?;
    let patch = numbers.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

/// `pollSchedule` under `trigger: poll`, as kedge serve's `pollInterval`.
fn poll_interval(settings: &KeelSettings, report: &mut Report) -> Option<String> {
    let poll = settings.get("trigger").is_some_and(|t| t.value == "poll");
    let schedule = settings.get("pollSchedule");
    if !poll {
        if let Some(trigger) = settings.get("trigger") {
            report.note(
                &trigger.at,
                "Keel waits for registry webhooks; kedge serve takes them on serve.receivers (add \
                 one for your registry) and also polls every serve.pollInterval",
            );
        }
        return None;
    }
    let Some(schedule) = schedule else {
        // Keel's own default schedule.
        return Some("1m".to_owned());
    };
    let interval = tags::duration(&schedule.value);
    if interval.is_none() {
        report.not_mapped(
            &schedule.at,
            format!(
                "{:?} is a cron schedule; kedge serve polls at a fixed pollInterval (or run \
                 kedge update from cron)",
                schedule.value
            ),
        );
    }
    interval
}
