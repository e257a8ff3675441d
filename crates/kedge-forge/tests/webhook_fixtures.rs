//! Real pull request objects: the `pull_request` of GitHub webhook payloads in
//! the shared fixtures must read into [`PullRequest`].

use std::path::{Path, PathBuf};

use kedge_forge::PullRequest;

fn payloads(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            payloads(&path, found);
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
}

#[test]
fn webhook_pull_request_objects_parse() {
    let dir = kedge_testkit::fixtures_dir().join("webhooks/github");
    let mut files = Vec::new();
    payloads(&dir, &mut files);
    let mut parsed = Vec::new();
    for file in &files {
        let payload: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let Some(object) = payload.get("pull_request") else {
            continue;
        };
        let pr: PullRequest = serde_json::from_value(object.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(Some(pr.number), object["number"].as_u64());
        assert_eq!(Some(pr.url.as_str()), object["html_url"].as_str());
        assert_eq!(Some(pr.head.as_str()), object["head"]["ref"].as_str());
        assert_eq!(Some(pr.base.as_str()), object["base"]["ref"].as_str());
        assert_eq!(pr.open, object["state"] == "open");
        parsed.push((file.file_name().unwrap().to_string_lossy().into_owned(), pr));
    }
    // go-playground's pull-request.json and octokit's opened, synchronize, labeled, closed.
    assert!(
        parsed.len() >= 5,
        "pull request payloads found: {}",
        parsed.len()
    );

    let (_, opened) = parsed
        .iter()
        .find(|(name, _)| name == "opened.payload.json")
        .expect("octokit's opened payload");
    assert_eq!(opened.number, 2);
    assert_eq!(
        opened.url,
        "https://github.com/Codertocat/Hello-World/pull/2"
    );
    assert_eq!(
        (opened.head.as_str(), opened.base.as_str()),
        ("changes", "master")
    );
    assert_eq!(opened.title, "Update the README with new information.");
    assert!(opened.body.starts_with("This is a pretty simple change"));
    assert_eq!(opened.labels, vec!["bug"]);
    assert!(opened.open && !opened.draft);

    let (_, closed) = parsed
        .iter()
        .find(|(name, _)| name == "closed.payload.json")
        .expect("octokit's closed payload");
    assert!(!closed.open);
}
