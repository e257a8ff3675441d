//! Answers to libgit2's credential questions for one [`Remote`], shared by
//! fetch, push and [`ls_remote`](crate::ls_remote).

use std::cell::Cell;

use git2::{Cred, CredentialType, ErrorCode, RemoteCallbacks};

use crate::redact::redact_url;
use crate::{GitAuth, GitError, Remote};

/// What the credentials callback did during one fetch, push or listing.
#[derive(Default)]
pub(crate) struct CredentialState {
    answered: Cell<u32>,
    refused: Cell<bool>,
}

/// Callbacks that answer with `remote`'s credentials, once: libgit2 asks
/// again after a refusal, and answering twice would loop forever.
pub(crate) fn credential_callbacks<'a>(
    remote: &'a Remote,
    attempts: &'a CredentialState,
) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |_url, username_from_url, allowed| {
        // SSH first asks which user to log in as; that is not a credential.
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(username_from_url.unwrap_or("git"));
        }
        attempts.answered.set(attempts.answered.get() + 1);
        let answer = if attempts.answered.get() > 1 {
            Err(git2::Error::from_str("credentials were refused"))
        } else {
            credential(&remote.auth, username_from_url, allowed)
        };
        if answer.is_err() {
            attempts.refused.set(true);
        }
        answer
    });
    callbacks
}

fn credential(
    auth: &GitAuth,
    username_from_url: Option<&str>,
    allowed: CredentialType,
) -> Result<Cred, git2::Error> {
    match auth {
        GitAuth::UserPass { username, password }
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) =>
        {
            Cred::userpass_plaintext(username, password)
        }
        GitAuth::SshKey {
            private_key,
            passphrase,
        } => Cred::ssh_key(
            username_from_url.unwrap_or("git"),
            None,
            private_key,
            passphrase.as_deref(),
        ),
        _ => Err(git2::Error::from_str("no credentials configured")),
    }
}

/// The authentication failure behind `source`, if it is one: only a refusal
/// counts, not a timeout after a good login.
pub(crate) fn auth_error(
    remote: &Remote,
    source: &git2::Error,
    attempts: &CredentialState,
) -> Option<GitError> {
    if source.code() != ErrorCode::Auth && !attempts.refused.get() {
        return None;
    }
    let detail = match &remote.auth {
        GitAuth::None => "no credentials configured".to_owned(),
        GitAuth::UserPass { username, .. } => {
            format!("user {username:?} and its password or token were refused")
        }
        GitAuth::SshKey { private_key, .. } => {
            format!("SSH key {} was refused", private_key.display())
        }
    };
    Some(GitError::Auth {
        url: redact_url(&remote.url),
        detail,
    })
}
