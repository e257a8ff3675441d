//! Plain directories: every `*.yaml`, `*.yml` and `*.json` below the path, in
//! byte order of their relative paths, so a render is the same on every
//! machine.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::documents::{parse_document, push_value, split_documents};
use crate::error::RenderError;
use crate::object::{RenderedObject, Source};

/// Renders a plain directory (or one file).
pub(crate) fn render_plain(root: &Path) -> Result<Vec<RenderedObject>, RenderError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| RenderError::Io { path, source }
    };
    let mut files = Vec::new();
    if fs::metadata(root).map_err(io(root))?.is_file() {
        files.push(root.to_owned());
    } else {
        collect(root, &mut files)?;
    }
    files.sort();
    let base = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let mut out = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).map_err(io(&file))?;
        let relative = file.strip_prefix(base).unwrap_or(&file).to_owned();
        if is_kustomization(&relative) {
            continue;
        }
        if file.extension().is_some_and(|e| e == "json") {
            parse_json(&text, &relative, &mut out)?;
        } else {
            for document in split_documents(&text) {
                parse_document(&document, &relative, Some(document.first_line), &mut out)?;
            }
        }
    }
    Ok(out)
}

/// Manifest files below `dir`, skipping hidden entries (`.git`, `.github`)
/// and symbolic links, which could lead out of the repository or loop.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), RenderError> {
    let io = |source| RenderError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(io)?;
        let path = entry.path();
        if kind.is_dir() {
            collect(&path, files)?;
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Kustomize's own files describe a build, not cluster objects.
fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == "kustomization.yaml" || n == "kustomization.yml")
}

fn parse_json(text: &str, file: &Path, out: &mut Vec<RenderedObject>) -> Result<(), RenderError> {
    let value: Value = serde_json::from_str(text).map_err(|e| RenderError::Syntax {
        file: file.to_owned(),
        line: e.line() as u64,
        message: e.to_string(),
    })?;
    let source = Source {
        file: file.to_owned(),
        line: Some(1),
    };
    push_value(value, &source, 1, out)
}
