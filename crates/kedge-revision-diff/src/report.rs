//! The result of a revision diff and the ways it is shown: a plain unified
//! diff for a terminal, and a size-bounded Markdown body for a pull request
//! comment.

use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::compare::{Change, ObjectChange};

/// GitHub refuses comment bodies longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// A revision as the user named it and the commit it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Revision {
    /// As given: `main`, `HEAD~1`, a tag, a commit id.
    pub name: String,
    /// The full commit id.
    pub commit: String,
}

impl Revision {
    /// The first 12 hex digits of the commit.
    pub fn short_commit(&self) -> &str {
        self.commit.get(..12).unwrap_or(&self.commit)
    }
}

/// What changing the repository from one revision to another does to the
/// objects a path renders to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RevisionDiff {
    /// The rendered path, relative to the repository's root.
    pub path: PathBuf,
    /// The revision before (`A`; for `A...B`, their merge base).
    pub from: Revision,
    /// The revision after (`B`).
    pub to: Revision,
    /// The objects that differ, ordered by key.
    pub changes: Vec<ObjectChange>,
}

/// How many objects were changed, added and removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Objects in both revisions with different content.
    pub changed: usize,
    /// Objects only in the second revision.
    pub added: usize,
    /// Objects only in the first revision.
    pub removed: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let objects = |n: usize| if n == 1 { "object" } else { "objects" };
        write!(
            f,
            "{} {} changed, {} added, {} removed",
            self.changed,
            objects(self.changed),
            self.added,
            self.removed
        )
    }
}

impl RevisionDiff {
    /// Whether the two revisions render to the same objects.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Counts of changed, added and removed objects.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.change {
                Change::Changed => summary.changed += 1,
                Change::Added => summary.added += 1,
                Change::Removed => summary.removed += 1,
            }
        }
        summary
    }

    /// Every object's unified diff, one after another (empty when nothing
    /// differs), as `git diff` prints files.
    pub fn to_text(&self) -> String {
        self.changes.iter().map(|c| c.diff.as_str()).collect()
    }

    /// A Markdown body for a pull request comment: a heading, the summary
    /// line, and each object's diff in a `diff` code block, at most
    /// `max_chars` characters long. Diffs that do not fit are left out and
    /// a closing note says how many; pass [`GITHUB_COMMENT_LIMIT`] for GitHub.
    pub fn to_markdown(&self, max_chars: usize) -> String {
        let mut body = format!(
            "### kedge: rendered changes in `{}`\n\n`{}` ({}) → `{}` ({}): **{}**\n",
            self.path.display(),
            self.from.name,
            self.from.short_commit(),
            self.to.name,
            self.to.short_commit(),
            self.summary()
        );
        let mut used = body.chars().count();
        for (shown, change) in self.changes.iter().enumerate() {
            let block = markdown_block(change);
            let block_chars = block.chars().count();
            let left = self.changes.len() - shown;
            // Room for this block, and for the note should a later one not fit.
            let reserve = if left > 1 {
                truncation_note(left - 1).chars().count()
            } else {
                0
            };
            if used + block_chars + reserve > max_chars {
                body.push_str(&truncation_note(left));
                return body;
            }
            body.push_str(&block);
            used += block_chars;
        }
        body
    }
}

fn markdown_block(change: &ObjectChange) -> String {
    let verb = match change.change {
        Change::Changed => "changed",
        Change::Added => "added",
        Change::Removed => "removed",
    };
    let fence = fence_for(&change.diff);
    let mut block = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        block,
        "\n#### `{}` ({verb})\n\n{fence}diff\n{}",
        change.key, change.diff
    );
    if !change.diff.ends_with('\n') {
        block.push('\n');
    }
    let _ = writeln!(block, "{fence}");
    block
}

/// A code fence longer than any run of backticks in `text`, so a manifest
/// holding Markdown cannot close the block early.
fn fence_for(text: &str) -> String {
    let longest = text
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    "`".repeat(longest.max(2) + 1)
}

fn truncation_note(left_out: usize) -> String {
    let objects = if left_out == 1 { "object" } else { "objects" };
    format!(
        "\n_The diff of {left_out} more {objects} is not shown: the comment would be too long. Run `kedge diff --revision` locally to see it._\n"
    )
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
