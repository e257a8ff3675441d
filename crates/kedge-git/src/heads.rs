//! [`ls_remote`]: what a remote's branches and tags point at, without a
//! clone, in one round trip (`git ls-remote`).

use std::collections::BTreeMap;

use git2::Direction;

use crate::credentials::{CredentialState, auth_error, credential_callbacks};
use crate::error::LibgitError;
use crate::network::ensure_network_timeouts;
use crate::redact::redact_url;
use crate::{CommitId, GitError, Remote};

/// Every ref the remote advertises (`refs/heads/main`, `refs/tags/v1`,
/// `HEAD`), with the commit it points at; annotated tags map to the commit
/// they tag when the remote says so (`refs/tags/v1^{}`).
pub fn ls_remote(remote: &Remote) -> Result<BTreeMap<String, CommitId>, GitError> {
    ensure_network_timeouts()?;
    let list_error = |source| GitError::ListRefs {
        url: redact_url(&remote.url),
        source: LibgitError::new(source),
    };
    let attempts = CredentialState::default();
    let mut detached = git2::Remote::create_detached(remote.url.as_str()).map_err(list_error)?;
    let connection = detached
        .connect_auth(
            Direction::Fetch,
            Some(credential_callbacks(remote, &attempts)),
            None,
        )
        .map_err(|source| {
            auth_error(remote, &source, &attempts).unwrap_or_else(|| list_error(source))
        })?;
    let mut refs = BTreeMap::new();
    for head in connection.list().map_err(list_error)? {
        let name = head.name();
        // Branches, tags and HEAD name revisions; `refs/pull/*` and the like
        // (tens of thousands on a busy forge) do not.
        if !(name == "HEAD" || name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) {
            continue;
        }
        match name.strip_suffix("^{}") {
            Some(tag) => {
                refs.insert(tag.to_owned(), CommitId::from_oid(head.oid()));
            }
            None => {
                refs.entry(name.to_owned())
                    .or_insert_with(|| CommitId::from_oid(head.oid()));
            }
        }
    }
    Ok(refs)
}

/// The commit `revision` names among `refs`: a branch (`main`,
/// `refs/heads/main`), a tag (`v1.2.0`), or a full commit id, which is
/// returned as it is.
pub fn resolve_revision(refs: &BTreeMap<String, CommitId>, revision: &str) -> Option<CommitId> {
    if let Ok(commit) = revision.parse::<CommitId>() {
        return Some(commit);
    }
    [
        revision.to_owned(),
        format!("refs/heads/{revision}"),
        format!("refs/tags/{revision}"),
    ]
    .iter()
    .find_map(|name| refs.get(name).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(byte: u8) -> CommitId {
        CommitId::from_oid(git2::Oid::from_bytes(&[byte; 20]).expect("20 bytes"))
    }

    #[test]
    fn revisions_resolve_as_branch_then_tag_then_commit() {
        let refs = BTreeMap::from([
            ("HEAD".to_owned(), oid(1)),
            ("refs/heads/main".to_owned(), oid(1)),
            ("refs/heads/v1".to_owned(), oid(2)),
            ("refs/tags/v1".to_owned(), oid(3)),
            ("refs/tags/v2".to_owned(), oid(4)),
        ]);
        assert_eq!(resolve_revision(&refs, "main"), Some(oid(1)));
        assert_eq!(resolve_revision(&refs, "refs/heads/main"), Some(oid(1)));
        assert_eq!(
            resolve_revision(&refs, "v1"),
            Some(oid(2)),
            "a branch wins over a tag, as git does"
        );
        assert_eq!(resolve_revision(&refs, "v2"), Some(oid(4)));
        assert_eq!(resolve_revision(&refs, "nope"), None);
        let commit = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(resolve_revision(&refs, commit), commit.parse().ok());
    }
}
