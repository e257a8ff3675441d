//! Runs every tag-policy vector collected from Flux (image-reflector-controller),
//! argocd-image-updater and Keel against kedge's public API.
//!
//! The vectors live in `shared/fixtures/tag-policies/*.jsonl` (format in
//! `shared/fixtures/README.md`, section tag-policies). Set `KEDGE_FIXTURES` to
//! the fixtures directory to run from elsewhere; by default it is found next
//! to the repository clone.
//!
//! Each peer's configuration is translated into a [`PolicySpec`] the way a
//! user moving to kedge would write it (argocd globs become anchored regexes,
//! keel's `minor` policy becomes a `>=current <next-major` range, ...).
//! Rows where kedge deliberately behaves differently are listed in
//! [`DIFFERS`] with the reason; for those the test checks kedge's own
//! documented behaviour instead, and asserts that the list matches exactly
//! the rows it was applied to.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kedge_policy::{
    NoMatch, Order, PolicyError, PolicySpec, RegexField, Selected, StrategySpec, TagPolicy,
};
use serde_json::Value;

/// Rows not held to the peer's expectation, with why kedge differs.
const DIFFERS: &[(&str, &str)] = &[
    (
        "fluxcd-image-reflector-controller-044",
        "numerical: Flux fails the whole policy when any tag is not a number; kedge drops such \
         tags (counted in removed_by_strategy) so one stray `latest` tag cannot block updates. \
         Checked instead: kedge selects \"0\" and reports 2 tags removed by the strategy",
    ),
    (
        "argocd-image-updater-027",
        "allow: argocd treats an invalid `regexp:` expression as 'match nothing' and carries on; \
         kedge rejects the policy when it is built (PolicyError::InvalidRegex, field allow) so the \
         typo is reported instead of silently freezing the image. Checked instead: that error",
    ),
];

/// A regex that matches no tag: argocd allow-tags expressions that are neither
/// `any` nor `regexp:` (its `MatchFuncNone`).
const MATCH_NOTHING: &str = r"[^\s\S]";

use kedge_testkit::fixtures_dir;

fn load(file: &str) -> Vec<Value> {
    let path = fixtures_dir().join("tag-policies").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (set KEDGE_FIXTURES)", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
        .collect()
}

fn text<'r>(row: &'r Value, field: &str) -> Option<&'r str> {
    row.get(field).and_then(Value::as_str)
}

fn strings<'r>(row: &'r Value, field: &str) -> Vec<&'r str> {
    row.get(field)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Which peer a row comes from, deciding how its fields are translated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Flux,
    Argocd,
    Keel,
}

/// Runs every row of one file; returns the failures and the ids checked
/// against [`DIFFERS`] instead of the peer.
fn run_file(file: &str, peer: Peer) -> (Vec<String>, BTreeSet<String>) {
    let mut failures = Vec::new();
    let mut differing = BTreeSet::new();
    for row in load(file) {
        let id = text(&row, "id").expect("every row has an id").to_owned();
        let outcome = match DIFFERS.iter().find(|(listed, _)| *listed == id) {
            Some(_) => {
                differing.insert(id.clone());
                check_difference(&id, &row, peer)
            }
            None => run_row(&row, peer),
        };
        if let Err(message) = outcome {
            failures.push(format!("{id}: {message}"));
        }
    }
    (failures, differing)
}

fn assert_file(file: &str, peer: Peer, prefix: &str, expected_rows: usize) {
    assert_eq!(load(file).len(), expected_rows, "{file} row count");
    let (failures, differing) = run_file(file, peer);
    let listed: BTreeSet<String> = DIFFERS
        .iter()
        .filter(|(id, _)| id.starts_with(prefix))
        .map(|(id, _)| (*id).to_owned())
        .collect();
    for (id, reason) in DIFFERS.iter().filter(|(id, _)| id.starts_with(prefix)) {
        println!("not held to the peer's expectation: {id}: {reason}");
    }
    assert_eq!(
        differing, listed,
        "DIFFERS must name exactly the rows it is applied to"
    );
    assert!(
        failures.is_empty(),
        "failing vectors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn flux_vectors() {
    assert_file(
        "fluxcd-image-reflector-controller.jsonl",
        Peer::Flux,
        "fluxcd-",
        64,
    );
}

#[test]
fn argocd_vectors() {
    assert_file("argocd-image-updater.jsonl", Peer::Argocd, "argocd-", 39);
}

#[test]
fn keel_vectors() {
    assert_file("keel-hq-keel.jsonl", Peer::Keel, "keel-", 29);
}

#[test]
fn differs_list_names_existing_rows_only() {
    let files = [
        "fluxcd-image-reflector-controller.jsonl",
        "argocd-image-updater.jsonl",
        "keel-hq-keel.jsonl",
    ];
    let ids: BTreeSet<String> = files
        .iter()
        .flat_map(|file| load(file))
        .filter_map(|row| text(&row, "id").map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 132);
    for (id, _) in DIFFERS {
        assert!(ids.contains(*id), "{id} is listed but not a vector");
    }
}

fn run_row(row: &Value, peer: Peer) -> Result<(), String> {
    match text(row, "kind").unwrap_or_default() {
        "validate" => run_validate(row, peer),
        "select" => run_select(row, peer),
        "filter" => run_filter(row, peer),
        "sort" => run_sort(row, peer),
        "allow-match" | "ignore-match" => run_match(row, peer),
        "should-update" => run_should_update(row),
        "strategy-names" => run_strategy_names(row),
        other => Err(format!("unknown kind {other:?}")),
    }
}

/// Translates a peer strategy name (and argocd's annotation aliases) into kedge's.
fn strategy_for(name: &str, row: &Value) -> Result<Option<StrategySpec>, PolicyError> {
    let order = || match text(row, "order").unwrap_or_default() {
        "" => Ok(Order::default()),
        written => written.parse::<Order>(),
    };
    Ok(Some(match name {
        "semver" => StrategySpec::Semver {
            // argocd: no constraint means any version.
            constraint: text(row, "constraint").unwrap_or("*").to_owned(),
            prereleases: false,
            loose: false,
        },
        "alphabetical" | "name" => StrategySpec::Alphabetical { order: order()? },
        "numerical" => StrategySpec::Numerical { order: order()? },
        "newest-build" | "latest" => StrategySpec::NewestBuild,
        "digest" => StrategySpec::Digest {
            tag: text(row, "constraint").unwrap_or("latest").to_owned(),
        },
        _ => return Ok(None),
    }))
}

/// Builds the policy a user of `peer` would write for this row.
fn policy_for(row: &Value, peer: Peer) -> Result<TagPolicy, PolicyError> {
    // Rows without a strategy exercise filters only: alphabetical keeps every tag.
    let name = text(row, "strategy").unwrap_or("alphabetical");
    let strategy = strategy_for(name, row)?.expect("vector strategies are known");
    let allow = text(row, "allow");
    let spec = PolicySpec {
        allow: match peer {
            Peer::Argocd => allow.and_then(argocd_allow),
            _ => allow.map(str::to_owned),
        },
        ignore: match peer {
            Peer::Argocd => strings(row, "ignore")
                .into_iter()
                .map(glob_to_regex)
                .collect(),
            _ => strings(row, "ignore")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        },
        pattern: text(row, "pattern").map(str::to_owned),
        extract: text(row, "extract").map(str::to_owned),
        ..PolicySpec::new(strategy)
    };
    TagPolicy::new(spec)
}

/// argocd `allow-tags`: `any` (any case) admits all, `regexp:<RE2>` (prefix in
/// any case) is a regex, anything else admits nothing.
fn argocd_allow(expression: &str) -> Option<String> {
    if expression.eq_ignore_ascii_case("any") {
        return None;
    }
    match expression.split_at_checked(7) {
        Some((prefix, regex)) if prefix.eq_ignore_ascii_case("regexp:") => Some(regex.to_owned()),
        _ => Some(MATCH_NOTHING.to_owned()),
    }
}

/// A shell glob (`*`, `?`) as the anchored regex a kedge user would write.
fn glob_to_regex(glob: &str) -> String {
    let mut regex = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            other => regex.push_str(&regex_escape(other)),
        }
    }
    regex.push('$');
    regex
}

fn regex_escape(c: char) -> String {
    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
        c.to_string()
    } else {
        format!("\\{c}")
    }
}

/// Build times from `tag_dates_unix` (parallel to `tags`).
fn build_times(row: &Value) -> HashMap<String, SystemTime> {
    let dates = row.get("tag_dates_unix").and_then(Value::as_array);
    strings(row, "tags")
        .into_iter()
        .zip(dates.into_iter().flatten())
        .filter_map(|(tag, date)| {
            let seconds = date.as_u64()?;
            Some((tag.to_owned(), UNIX_EPOCH + Duration::from_secs(seconds)))
        })
        .collect()
}

fn select<'t>(
    policy: &TagPolicy,
    tags: &[&'t str],
    times: &HashMap<String, SystemTime>,
) -> Result<Selected<'t>, NoMatch> {
    let build_time = |tag: &str| times.get(tag).copied();
    policy.select_from(
        tags.iter().copied(),
        &build_time,
        UNIX_EPOCH + Duration::from_secs(1 << 32),
    )
}

fn run_validate(row: &Value, peer: Peer) -> Result<(), String> {
    let built = policy_for(row, peer);
    match (text(row, "outcome"), &built) {
        (Some("valid"), Ok(_)) | (Some("error"), Err(_)) => Ok(()),
        (outcome, _) => Err(format!("expected {outcome:?}, kedge gave {built:?}")),
    }
}

fn run_select(row: &Value, peer: Peer) -> Result<(), String> {
    let tags = strings(row, "tags");
    let outcome = text(row, "outcome");
    let policy = match (policy_for(row, peer), outcome) {
        (Ok(policy), _) => policy,
        // A spec the peer rejects: kedge rejects it when the policy is built.
        (Err(_), Some("error")) => return Ok(()),
        (Err(error), _) => return Err(format!("policy rejected: {error}")),
    };
    let chosen = select(&policy, &tags, &build_times(row));
    match (outcome, &chosen) {
        (Some("tag"), Ok(selected)) if Some(selected.tag) == text(row, "expected") => Ok(()),
        // argocd "none" (skip, no error) and the peers' "no latest version"
        // errors are both kedge's NoMatch.
        (Some("none" | "error"), Err(_)) => Ok(()),
        _ => Err(format!(
            "expected {outcome:?} {:?}, kedge gave {chosen:?}",
            text(row, "expected")
        )),
    }
}

fn run_filter(row: &Value, peer: Peer) -> Result<(), String> {
    let policy = policy_for(row, peer).map_err(|e| format!("policy rejected: {e}"))?;
    let filtered = policy.filter(strings(row, "tags"));
    // Flux keys its result by extracted value, so equal values collapse.
    let values: BTreeSet<&str> = filtered.ranked_values().map(|(_, value)| value).collect();
    let expected: BTreeSet<&str> = strings(row, "expected_items").into_iter().collect();
    (values == expected)
        .then_some(())
        .ok_or_else(|| format!("expected items {expected:?}, kedge kept {values:?}"))
}

/// Sort rows: selecting repeatedly and removing the winner yields the full
/// order, newest first; it must be the reverse of the peer's ascending order.
fn run_sort(row: &Value, peer: Peer) -> Result<(), String> {
    let policy = policy_for(row, peer).map_err(|e| format!("policy rejected: {e}"))?;
    let times = build_times(row);
    let mut remaining = strings(row, "tags");
    let mut newest_first = Vec::new();
    while let Ok(selected) = select(&policy, &remaining, &times) {
        newest_first.push(selected.tag);
        let index = remaining.iter().position(|tag| *tag == selected.tag);
        remaining.remove(index.expect("the selected tag was given"));
    }
    let mut expected = strings(row, "expected_order");
    expected.reverse();
    (newest_first == expected)
        .then_some(())
        .ok_or_else(|| format!("expected newest-first {expected:?}, kedge gave {newest_first:?}"))
}

/// `allow-match`: the tag survives; `ignore-match`: the tag is removed.
fn run_match(row: &Value, peer: Peer) -> Result<(), String> {
    let policy = policy_for(row, peer).map_err(|e| format!("policy rejected: {e}"))?;
    let filtered = policy.filter(strings(row, "tags"));
    let matched = match text(row, "kind") {
        Some("ignore-match") => filtered.report.removed_by_ignore == 1,
        _ => filtered.len() == 1,
    };
    let expected = row.get("expected_match").and_then(Value::as_bool);
    (Some(matched) == expected)
        .then_some(())
        .ok_or_else(|| format!("expected match {expected:?}, kedge matched {matched}"))
}

/// Keel's pairwise "should current be updated to candidate": kedge selects
/// among `[current, candidate]` and an update happens when it picks the
/// candidate and it differs from current.
fn run_should_update(row: &Value) -> Result<(), String> {
    let current = text(row, "current").expect("keel rows have current");
    let candidate = text(row, "candidate").expect("keel rows have candidate");
    let keel_policy = text(row, "keel_policy").expect("keel rows have keel_policy");
    let spec = keel_spec(keel_policy, current, row)?;
    let policy = TagPolicy::new(spec.clone()).map_err(|e| format!("{spec:?} rejected: {e}"))?;
    let filtered = policy.filter([current, candidate]);
    let chosen = policy.select(&filtered, &|_| None, UNIX_EPOCH);
    let updates = chosen
        .as_ref()
        .is_ok_and(|selected| selected.tag == candidate && candidate != current);
    let holds = match text(row, "outcome") {
        Some("bool") => Some(updates) == row.get("expected_match").and_then(Value::as_bool),
        // Keel errors on a candidate it cannot parse: kedge filters it out.
        Some("error") => !updates && filtered.report.removed_by_strategy >= 1,
        _ => false,
    };
    holds.then_some(()).ok_or_else(|| {
        format!("{spec:?} on [{current}, {candidate}] gave {chosen:?}, update={updates}")
    })
}

/// The kedge spec equivalent to a keel policy for a workload at `current`.
fn keel_spec(keel_policy: &str, current: &str, row: &Value) -> Result<PolicySpec, String> {
    if let Some(glob) = keel_policy.strip_prefix("glob:") {
        return Ok(PolicySpec {
            allow: Some(glob_to_regex(glob)),
            ..PolicySpec::new(StrategySpec::Alphabetical { order: Order::Asc })
        });
    }
    let core = current.trim_start_matches('v');
    let (numbers, prerelease) = core.split_once('-').unwrap_or((core, ""));
    let mut parts = numbers
        .split('.')
        .map(|n| n.parse::<u64>().map_err(|e| e.to_string()));
    let major = parts.next().ok_or("no major")??;
    let minor = parts.next().transpose()?.unwrap_or(0);
    let constraint = match keel_policy {
        "all" | "major" => format!(">={current}"),
        "minor" => format!(">={current}, <{}", major + 1),
        "patch" => format!(">={current}, <{major}.{}", minor + 1),
        other => return Err(format!("unknown keel policy {other:?}")),
    };
    // Keel's prerelease matching keeps candidates with the same suffix: in
    // kedge, an allow regex picks the variant.
    let same_prerelease = row.get("prerelease_match").and_then(Value::as_bool) == Some(true);
    let allow = same_prerelease.then(|| {
        let suffix: String = prerelease.chars().map(regex_escape).collect();
        let dash = if suffix.is_empty() { "" } else { "-" };
        format!(r"^v?\d+(\.\d+){{1,2}}{dash}{suffix}$")
    });
    Ok(PolicySpec {
        allow,
        ..PolicySpec::new(StrategySpec::Semver {
            constraint,
            prereleases: true,
            loose: false,
        })
    })
}

/// argocd strategy names: each known name maps to a kedge strategy of the same
/// name whose need for build times matches argocd's `needs_metadata`.
fn run_strategy_names(row: &Value) -> Result<(), String> {
    let properties = row
        .get("strategy_properties")
        .and_then(Value::as_object)
        .ok_or("no strategy_properties")?;
    for name in strings(row, "strategy_strings") {
        let spec = strategy_for(name, row).map_err(|e| e.to_string())?;
        let Some(spec) = spec else {
            if properties.contains_key(name) {
                return Err(format!("{name} is an argocd strategy kedge lacks"));
            }
            continue;
        };
        let needs_metadata = properties[name]["needs_metadata"].as_bool();
        let policy = TagPolicy::new(PolicySpec::new(spec.clone())).map_err(|e| e.to_string())?;
        if spec.name() != name || Some(policy.needs_build_time()) != needs_metadata {
            return Err(format!(
                "{name}: kedge {:?} needs_build_time={}",
                spec.name(),
                policy.needs_build_time()
            ));
        }
    }
    Ok(())
}

/// kedge's own behaviour on the rows listed in [`DIFFERS`].
fn check_difference(id: &str, row: &Value, peer: Peer) -> Result<(), String> {
    match id {
        "fluxcd-image-reflector-controller-044" => {
            let policy = policy_for(row, peer).map_err(|e| e.to_string())?;
            let chosen = select(&policy, &strings(row, "tags"), &HashMap::new());
            match chosen {
                Ok(selected) if selected.tag == "0" && selected.report.removed_by_strategy == 2 => {
                    Ok(())
                }
                other => Err(format!("expected \"0\" with 2 removed, got {other:?}")),
            }
        }
        "argocd-image-updater-027" => match policy_for(row, peer) {
            Err(PolicyError::InvalidRegex {
                field: RegexField::Allow,
                ..
            }) => Ok(()),
            other => Err(format!("expected InvalidRegex in allow, got {other:?}")),
        },
        _ => Err("listed in DIFFERS without a check".to_owned()),
    }
}
