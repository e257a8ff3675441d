//! The test server's in-memory repository: pull requests, their labels and
//! comments, issued installation tokens, recorded requests and scripted answers,
//! and the JSON shapes GitHub documents for them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{RateLimitAnswer, RecordedRequest, TestAuth};

/// An answer played instead of the real one.
#[derive(Debug, Clone)]
pub(super) enum Scripted {
    /// A rate limit.
    RateLimit(RateLimitAnswer),
    /// A bare error status, like a proxy's 502.
    Status(u16),
}

/// One pull request as the server keeps it.
#[derive(Debug, Clone)]
pub(super) struct StoredPullRequest {
    pub(super) number: u64,
    pub(super) title: String,
    pub(super) body: Option<String>,
    /// Owner of the head repository: the repository's owner, or a fork's.
    pub(super) head_owner: String,
    pub(super) head_ref: String,
    pub(super) base_ref: String,
    pub(super) open: bool,
    pub(super) draft: bool,
    pub(super) labels: Vec<String>,
    pub(super) comments: Vec<StoredComment>,
    pub(super) created_at: Timestamp,
    pub(super) updated_at: Timestamp,
    pub(super) closed_at: Option<Timestamp>,
}

/// A comment on a pull request.
#[derive(Debug, Clone)]
pub(super) struct StoredComment {
    pub(super) id: u64,
    pub(super) body: String,
}

/// An installation token the server handed out.
#[derive(Debug, Clone)]
pub(super) struct IssuedToken {
    pub(super) token: String,
    pub(super) expires_at: Timestamp,
}

/// Everything the server knows; behind one mutex, never held across an await.
pub(super) struct State {
    pub(super) owner: String,
    pub(super) repo: String,
    pub(super) auth: TestAuth,
    /// `http://127.0.0.1:PORT`: the web root, for `html_url`s.
    pub(super) base_url: String,
    /// Path of the REST API below the web root: empty, or `/api/v3` like GitHub Enterprise Server.
    pub(super) api_prefix: String,
    pub(super) max_page_size: usize,
    pub(super) pull_requests: Vec<StoredPullRequest>,
    pub(super) issued: Vec<IssuedToken>,
    pub(super) token_lifetime: Duration,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) scripted: VecDeque<Scripted>,
    pub(super) next_id: u64,
    pub(super) started: Instant,
}

impl State {
    pub(super) fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// The REST API root: `base_url` + `api_prefix`.
    pub(super) fn api_base(&self) -> String {
        format!("{}{}", self.base_url, self.api_prefix)
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The next free pull request number (GitHub shares them with issues).
    pub(super) fn next_number(&self) -> u64 {
        self.pull_requests
            .iter()
            .map(|p| p.number)
            .max()
            .unwrap_or(0)
            + 1
    }

    pub(super) fn find_mut(&mut self, number: u64) -> Option<&mut StoredPullRequest> {
        self.pull_requests.iter_mut().find(|p| p.number == number)
    }

    fn user(&self) -> Value {
        let login = match self.auth {
            TestAuth::Token(_) => "kedge-bot",
            TestAuth::App { .. } => "kedge[bot]",
        };
        json!({
            "login": login,
            "id": 1,
            "node_id": "MDQ6VXNlcjE=",
            "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
            "site_admin": false,
            "html_url": format!("{}/{login}", self.base_url),
        })
    }

    fn repository(&self, owner: &str) -> Value {
        json!({
            "id": if owner == self.owner { 1 } else { 2 },
            "node_id": "MDEwOlJlcG9zaXRvcnkx",
            "name": self.repo,
            "full_name": format!("{owner}/{}", self.repo),
            "private": false,
            "fork": owner != self.owner,
            "owner": { "login": owner, "id": 2, "type": "Organization" },
            "html_url": format!("{}/{owner}/{}", self.base_url, self.repo),
            "url": format!("{}/repos/{owner}/{}", self.api_base(), self.repo),
            "default_branch": "main",
        })
    }

    fn branch(&self, owner: &str, name: &str) -> Value {
        json!({
            "label": format!("{owner}:{name}"),
            "ref": name,
            "sha": "0000000000000000000000000000000000000000",
            "user": { "login": owner, "id": 2, "type": "Organization" },
            "repo": self.repository(owner),
        })
    }

    /// A label object as `GET /repos/{o}/{r}/labels/{name}` shows it.
    pub(super) fn label(&self, name: &str) -> Value {
        json!({
            "id": name.len() as u64 + 100,
            "node_id": "MDU6TGFiZWwx",
            "url": format!("{}/repos/{}/labels/{name}", self.api_base(), self.full_name()),
            "name": name,
            "description": null,
            "color": "ededed",
            "default": false,
        })
    }

    /// The documented pull request object.
    pub(super) fn pull_request_json(&self, pr: &StoredPullRequest) -> Value {
        let api = format!("{}/repos/{}", self.api_base(), self.full_name());
        let html = format!("{}/{}", self.base_url, self.full_name());
        json!({
            "url": format!("{api}/pulls/{}", pr.number),
            "id": 1000 + pr.number,
            "node_id": format!("PR_{}", pr.number),
            "html_url": format!("{html}/pull/{}", pr.number),
            "diff_url": format!("{html}/pull/{}.diff", pr.number),
            "patch_url": format!("{html}/pull/{}.patch", pr.number),
            "issue_url": format!("{api}/issues/{}", pr.number),
            "comments_url": format!("{api}/issues/{}/comments", pr.number),
            "number": pr.number,
            "state": if pr.open { "open" } else { "closed" },
            "locked": false,
            "title": pr.title,
            "user": self.user(),
            "body": pr.body,
            "labels": pr.labels.iter().map(|l| self.label(l)).collect::<Vec<_>>(),
            "milestone": null,
            "created_at": pr.created_at.to_string(),
            "updated_at": pr.updated_at.to_string(),
            "closed_at": pr.closed_at.map(|t| t.to_string()),
            "merged_at": null,
            "merge_commit_sha": null,
            "assignee": null,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "draft": pr.draft,
            "head": self.branch(&pr.head_owner, &pr.head_ref),
            "base": self.branch(&self.owner, &pr.base_ref),
            "author_association": "CONTRIBUTOR",
            "auto_merge": null,
            "merged": false,
            "comments": pr.comments.len(),
        })
    }

    /// The documented issue comment object.
    /// A new comment's id.
    pub(super) fn new_comment_id(&mut self) -> u64 {
        self.next_id()
    }

    pub(super) fn comment_json(&self, number: u64, id: u64, body: &str) -> Value {
        let api = format!("{}/repos/{}", self.api_base(), self.full_name());
        let now = Timestamp::now().to_string();
        json!({
            "id": id,
            "node_id": format!("IC_{id}"),
            "url": format!("{api}/issues/comments/{id}"),
            "html_url": format!("{}/{}/pull/{number}#issuecomment-{id}", self.base_url, self.full_name()),
            "body": body,
            "user": self.user(),
            "created_at": now,
            "updated_at": now,
            "issue_url": format!("{api}/issues/{number}"),
            "author_association": "CONTRIBUTOR",
        })
    }

    /// Removes expired tokens from consideration and checks `token`.
    pub(super) fn token_is_valid(&self, token: &str) -> bool {
        match &self.auth {
            TestAuth::Token(expected) => token == expected,
            TestAuth::App { .. } => {
                let now = Timestamp::now();
                self.issued
                    .iter()
                    .any(|t| t.token == token && t.expires_at > now)
            }
        }
    }
}

/// GitHub's error body: `{"message", "documentation_url"}`.
pub(super) fn error_body(message: &str) -> Value {
    json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    })
}

/// GitHub's 422 body with one `errors` entry.
pub(super) fn validation_body(error: Value) -> Value {
    json!({
        "message": "Validation Failed",
        "errors": [error],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
    })
}
