//! Why an import could not run at all.

use std::path::PathBuf;

/// Input that is not the configuration of the tool being imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The file is not YAML.
    #[error("{}:{line}: not YAML: {message}", file.display())]
    Yaml {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// The file holds none of the objects the tool reads.
    #[error("{}: {found} is not {tool} configuration (expected {expected})", file.display())]
    NotThisTool {
        /// The file.
        file: PathBuf,
        /// The tool's command-line name.
        tool: &'static str,
        /// What the file holds: `Deployment (apps/v1)`, or `no YAML documents`.
        found: String,
        /// What the tool's files hold.
        expected: &'static str,
    },
    /// The tool changes the cluster directly, so the files cannot say which repository to write.
    #[error("{tool} changes the cluster, not Git: name the manifest repository with --git-url")]
    GitUrlRequired {
        /// The tool's command-line name.
        tool: &'static str,
    },
    /// The mapped configuration could not be written as YAML.
    #[error("writing kedge.yaml")]
    Emit {
        /// The serializer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The error for a file none of whose documents `tool` reads.
pub(crate) fn not_this_tool(
    file: &crate::report::File,
    tool: crate::Tool,
    expected: &'static str,
) -> MigrateError {
    let mut kinds: Vec<String> = file.documents.iter().map(|d| d.describe()).collect();
    kinds.dedup();
    let found = if kinds.is_empty() {
        "no YAML documents".to_owned()
    } else {
        kinds.join(", ")
    };
    MigrateError::NotThisTool {
        file: file.path.clone(),
        tool: tool.name(),
        found,
        expected,
    }
}
