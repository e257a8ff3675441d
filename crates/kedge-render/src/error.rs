//! What can go wrong while rendering, each naming the file, document or tool.

use std::path::PathBuf;

/// A render that produced nothing: no object of a failed render is applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A document is not valid YAML (or JSON).
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file, or the tool's output named after the tool.
        file: PathBuf,
        /// The line (1-based) in that file.
        line: u64,
        /// What the parser said.
        message: String,
    },
    /// A document parsed but is not a Kubernetes object.
    #[error("{file}:{line}: not a Kubernetes object: {reason}")]
    NotAnObject {
        /// The file (or template) the document came from.
        file: PathBuf,
        /// The line (1-based) where the document starts.
        line: u64,
        /// What is missing or wrong (`kind`, `apiVersion`, `metadata.name`).
        reason: String,
    },
    /// Two documents describe the same object.
    #[error("{key} is defined twice: {first} and {second}")]
    Duplicate {
        /// The object's identity.
        key: String,
        /// Where it is first defined.
        first: String,
        /// Where it is defined again.
        second: String,
    },
    /// The render tool could not be started.
    #[error("running {tool} for {path}: {source}")]
    ToolMissing {
        /// The command line's program.
        tool: String,
        /// The path being rendered.
        path: PathBuf,
        /// The underlying error (usually: not found on `PATH`).
        #[source]
        source: std::io::Error,
    },
    /// The render tool failed.
    #[error("{tool} failed for {path} ({status}):\n{stderr}")]
    ToolFailed {
        /// The command that ran.
        tool: String,
        /// The path being rendered.
        path: PathBuf,
        /// How it exited.
        status: std::process::ExitStatus,
        /// What it wrote to standard error.
        stderr: String,
    },
}
