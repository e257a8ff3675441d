//! One comment per pull request that kedge keeps up to date: found by a
//! marker in its body, edited in place, added when there is none.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::transport::{Call, next_link};
use crate::{ForgeError, GitHub, Operation};

/// What [`GitHub::upsert_comment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentAction {
    /// There was no comment with the marker; one was added.
    Created,
    /// kedge's comment was edited to the new body.
    Updated,
    /// kedge's comment already said this; nothing was sent.
    Unchanged,
}

/// A comment as `GET /repos/{o}/{r}/issues/{n}/comments` lists it.
#[derive(Deserialize)]
struct IssueComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

/// Pages of comments read at most (100 each).
const MAX_COMMENT_PAGES: usize = 20;

impl GitHub {
    /// Makes pull request `number` carry one comment containing `marker`
    /// (an HTML comment such as `<!-- kedge:diff -->`, invisible on GitHub)
    /// with `body`, which must contain the marker: edits the earlier one in
    /// place, or adds one.
    #[tracing::instrument(skip_all, fields(repo = %self.transport.repo, number))]
    pub async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentAction, ForgeError> {
        debug_assert!(body.contains(marker), "the body must carry its marker");
        let existing = self.find_comment(number, marker).await?;
        let payload = json!({ "body": body });
        let (method, target, action) = match existing {
            Some(comment) if comment.body.as_deref() == Some(body) => {
                return Ok(CommentAction::Unchanged);
            }
            Some(comment) => (
                Method::PATCH,
                self.repo_path(&format!("/issues/comments/{}", comment.id)),
                CommentAction::Updated,
            ),
            None => (
                Method::POST,
                self.repo_path(&format!("/issues/{number}/comments")),
                CommentAction::Created,
            ),
        };
        let call = Call {
            operation: Operation::Comment,
            number: Some(number),
            method,
            target,
            body: Some(&payload),
        };
        self.request(&call).await?;
        tracing::info!(?action, "pull request comment");
        Ok(action)
    }

    async fn find_comment(
        &self,
        number: u64,
        marker: &str,
    ) -> Result<Option<IssueComment>, ForgeError> {
        let mut target = self.repo_path(&format!("/issues/{number}/comments?per_page=100"));
        for _ in 0..MAX_COMMENT_PAGES {
            let call = Call {
                operation: Operation::ListComments,
                number: Some(number),
                method: Method::GET,
                target,
                body: None,
            };
            let answer = self.request(&call).await?;
            let page: Vec<IssueComment> = self.transport.json(&call, &answer)?;
            if let Some(found) = page
                .into_iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
            {
                return Ok(Some(found));
            }
            match next_link(&answer.headers) {
                Some(next) if self.transport.is_same_origin(&next) => target = next,
                _ => break,
            }
        }
        Ok(None)
    }
}
