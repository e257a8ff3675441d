//! What an import could not map, or mapped with a difference, located in the
//! source file.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::yaml::Document;

/// One key of the source configuration, with what the import did about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The source file.
    pub file: PathBuf,
    /// 1-based line (0 when the whole file is meant).
    pub line: u64,
    /// The key: an annotation name or a field path such as `spec.policy.semver.range`.
    pub key: String,
    /// Why it was not mapped, or how kedge differs.
    pub reason: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}: {}", self.file.display(), self.key, self.reason),
            line => write!(
                f,
                "{}:{line}: {}: {}",
                self.file.display(),
                self.key,
                self.reason
            ),
        }
    }
}

/// A parsed input file.
#[derive(Debug)]
pub(crate) struct File {
    /// The path as the user named it.
    pub path: PathBuf,
    /// Its text (Flux markers are comments, read from the text).
    pub text: String,
    /// Its documents.
    pub documents: Vec<Document>,
}

/// Where a key sits: file, line and key path.
#[derive(Debug, Clone)]
pub(crate) struct At {
    /// The file.
    pub file: PathBuf,
    /// The line.
    pub line: u64,
    /// The key.
    pub key: String,
}

impl At {
    /// `key` on `line` of `file`.
    pub fn new(file: &Path, line: u64, key: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            key: key.into(),
        }
    }

    /// The same place with a longer key (`spec` → `spec.images`).
    pub fn child(&self, line: u64, key: &str) -> Self {
        let key = match (self.key.is_empty(), key.starts_with('[')) {
            (true, _) => key.to_owned(),
            (false, true) => format!("{}{key}", self.key),
            (false, false) => format!("{}.{key}", self.key),
        };
        Self {
            file: self.file.clone(),
            line,
            key,
        }
    }

    fn finding(&self, reason: String) -> Finding {
        Finding {
            file: self.file.clone(),
            line: self.line,
            key: self.key.clone(),
            reason,
        }
    }
}

/// The findings gathered while mapping.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Keys kedge cannot honour.
    pub not_mapped: Vec<Finding>,
    /// Keys mapped with a difference.
    pub notes: Vec<Finding>,
}

impl Report {
    /// Records a key that could not be mapped.
    pub fn not_mapped(&mut self, at: &At, reason: impl Into<String>) {
        let finding = at.finding(reason.into());
        if !self.not_mapped.contains(&finding) {
            self.not_mapped.push(finding);
        }
    }

    /// Records a key that maps with a difference worth knowing.
    pub fn note(&mut self, at: &At, reason: impl Into<String>) {
        let finding = at.finding(reason.into());
        if !self.notes.contains(&finding) {
            self.notes.push(finding);
        }
    }
}
