//! Comparing renders and showing the result.

use kedge_render::{RenderedObject, Source};
use serde_json::json;

use super::*;
use crate::compare::{Side, compare};

fn object(value: serde_json::Value) -> RenderedObject {
    let serde_json::Value::Object(object) = value else {
        panic!("not an object: {value}");
    };
    RenderedObject {
        object,
        source: Source {
            file: "app.yaml".into(),
            line: Some(1),
        },
    }
}

fn deployment(image: &str) -> RenderedObject {
    object(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}
    }))
}

fn config_map(name: &str, data: &str) -> RenderedObject {
    object(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"text": data}}),
    )
}

fn diff(before: &[RenderedObject], after: &[RenderedObject]) -> RevisionDiff {
    let changes = compare(
        &Side {
            name: "main",
            objects: before,
        },
        &Side {
            name: "pr",
            objects: after,
        },
    )
    .unwrap();
    let revision = |name: &str, commit: &str| Revision {
        name: name.into(),
        commit: commit.into(),
    };
    RevisionDiff {
        path: "apps/web".into(),
        from: revision("main", "0123456789abcdef0123456789abcdef01234567"),
        to: revision("pr", "fedcba9876543210fedcba9876543210fedcba98"),
        changes,
    }
}

#[test]
fn a_changed_image_is_one_changed_object_with_its_lines() {
    let result = diff(&[deployment("web:1.0")], &[deployment("web:1.1")]);
    assert_eq!(
        result.summary().to_string(),
        "1 object changed, 0 added, 0 removed"
    );
    let text = result.to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "--- a/apps/Deployment shop/web (main)",
            "+++ b/apps/Deployment shop/web (pr)",
            "@@ -8,4 +8,4 @@",
            "     spec:",
            "       containers:",
            "       - name: web",
            "-        image: web:1.0",
            "+        image: web:1.1",
        ]
    );
}

#[test]
fn unchanged_objects_are_left_out_and_the_rest_ordered_by_key() {
    let same = config_map("same", "x");
    let result = diff(
        &[
            config_map("zeta", "old"),
            same.clone(),
            config_map("gone", "x"),
        ],
        &[same, config_map("new", "x"), config_map("zeta", "new")],
    );
    let listed: Vec<_> = result
        .changes
        .iter()
        .map(|c| (c.key.name.as_str(), c.change))
        .collect();
    assert_eq!(
        listed,
        [
            ("gone", Change::Removed),
            ("new", Change::Added),
            ("zeta", Change::Changed)
        ]
    );
    assert!(
        result.changes[0]
            .diff
            .starts_with("--- a/ConfigMap gone (main)\n+++ /dev/null\n")
    );
    assert!(
        result.changes[1]
            .diff
            .starts_with("--- /dev/null\n+++ b/ConfigMap new (pr)\n")
    );
    assert_eq!(
        result.summary().to_string(),
        "1 object changed, 1 added, 1 removed"
    );
    assert!(diff(&[config_map("a", "x")], &[config_map("a", "x")]).is_empty());
}

#[test]
fn markdown_has_the_summary_and_one_diff_block_an_object() {
    let result = diff(
        &[config_map("a", "old")],
        &[config_map("a", "new"), config_map("b", "x")],
    );
    let body = result.to_markdown(GITHUB_COMMENT_LIMIT);
    assert!(
        body.starts_with("### kedge: rendered changes in `apps/web`\n\n`main` (0123456789ab) → `pr` (fedcba987654): **1 object changed, 1 added, 0 removed**\n"),
        "{body}"
    );
    assert!(
        body.contains("\n#### `ConfigMap a` (changed)\n\n```diff\n--- a/ConfigMap a (main)\n"),
        "{body}"
    );
    assert!(body.contains("-  text: old\n+  text: new\n```\n"), "{body}");
    assert!(body.contains("#### `ConfigMap b` (added)"), "{body}");
    assert!(!body.contains("not shown"));
}

#[test]
fn markdown_stays_within_the_limit_and_says_what_it_left_out() {
    let before: Vec<_> = (0..200)
        .map(|i| config_map(&format!("cm-{i:03}"), &"old ".repeat(100)))
        .collect();
    let after: Vec<_> = (0..200)
        .map(|i| config_map(&format!("cm-{i:03}"), &"new ".repeat(100)))
        .collect();
    let result = diff(&before, &after);
    let body = result.to_markdown(GITHUB_COMMENT_LIMIT);
    assert!(
        body.chars().count() <= GITHUB_COMMENT_LIMIT,
        "{}",
        body.len()
    );
    let shown = body.matches("```diff\n").count();
    assert!(shown > 10 && shown < 200, "{shown}");
    assert!(
        body.ends_with(&format!("_The diff of {} more objects is not shown: the comment would be too long. Run `kedge diff --revision` locally to see it._\n", 200 - shown)),
        "{}",
        &body[body.len() - 300..]
    );
    assert!(body.contains("**200 objects changed, 0 added, 0 removed**"));
}

#[test]
fn backticks_in_a_manifest_cannot_close_the_code_block() {
    let result = diff(&[], &[config_map("docs", "```sh\nmake\n```")]);
    let body = result.to_markdown(GITHUB_COMMENT_LIMIT);
    assert!(body.contains("\n````diff\n"), "{body}");
    assert!(body.ends_with("\n````\n"), "{body}");
}

#[test]
fn the_result_serializes_for_programs() {
    let result = diff(&[config_map("a", "x")], &[]);
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["from"]["name"], "main");
    assert_eq!(json["changes"][0]["change"], "removed");
    assert_eq!(json["changes"][0]["key"]["kind"], "ConfigMap");
    assert_eq!(json["path"], "apps/web");
}
