//! Commit ids and branch names as kedge's API carries them: no libgit2
//! type crosses it.

use std::fmt;
use std::str::FromStr;

use git2::Oid;

/// A commit id: written and read as 40 hexadecimal digits, as git prints
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(Oid);

impl CommitId {
    pub(crate) fn from_oid(oid: Oid) -> Self {
        Self(oid)
    }

    pub(crate) fn oid(self) -> Oid {
        self.0
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A text that is not a full commit id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a commit id (40 hexadecimal digits)")]
pub struct InvalidCommitId {
    /// The text as given.
    pub text: String,
}

impl FromStr for CommitId {
    type Err = InvalidCommitId;

    /// Exactly 40 hexadecimal digits, in either case: an abbreviated id is
    /// refused, not padded.
    fn from_str(text: &str) -> Result<Self, InvalidCommitId> {
        let invalid = || InvalidCommitId {
            text: text.to_owned(),
        };
        if text.len() != 40 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        Oid::from_str(text).map(Self).map_err(|_| invalid())
    }
}

/// Whether `branch` may name a branch (`refs/heads/<branch>` is a valid
/// reference name, as git checks it: no `..`, no spaces, no trailing `.lock`).
pub fn is_valid_branch_name(branch: &str) -> bool {
    git2::Reference::is_valid_name(&format!("refs/heads/{branch}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_ids_parse_and_they_print_as_read() {
        let id = "0123456789abcdef0123456789ABCDEF01234567";
        let parsed: CommitId = id.parse().expect("a full id");
        assert_eq!(parsed.to_string(), id.to_ascii_lowercase());
        for bad in [
            "",
            "abc",
            "0123456789abcdef",
            &format!("{id}0"),
            &id.replace('0', "g"),
        ] {
            let error = bad.parse::<CommitId>().expect_err(bad);
            assert!(
                error.to_string().contains("40 hexadecimal digits"),
                "{error}"
            );
        }
    }

    #[test]
    fn branch_names_are_checked_as_git_checks_them() {
        for good in ["main", "kedge/update-web", "release-1.2"] {
            assert!(is_valid_branch_name(good), "{good}");
        }
        for bad in ["", "a..b", "has space", "x.lock", "a/", "a@{b"] {
            assert!(!is_valid_branch_name(bad), "{bad}");
        }
    }
}
