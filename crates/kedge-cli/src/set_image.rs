//! `kedge set-image`: rewrite image references in manifest files.
//!
//! Parses `PATH... NAME=NEWREF...` into typed updates, calls [`kedge_rewrite::rewrite_tree`] and
//! reports per changed file. Exit status: 0 when it ran (changed or not), 1 when any file could
//! not be processed (then nothing is written, or, should a rename fail after others succeeded,
//! the output lists exactly the files written), 2 for usage errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kedge_rewrite::{ChangedFile, Mode, Options, RewriteError, TreeOutcome, Update};
use serde_json::json;

use crate::{OutputFormat, UsageError};

/// Arguments of `kedge set-image`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kedge set-image deploy/ nginx=nginx:1.27\n  kedge set-image k8s/ ghcr.io/org/app=ghcr.io/org/app:v2@sha256:... --dry-run\n  kedge set-image values.yaml bitnami/redis=*:7.4 -o json"
)]
pub struct SetImageArgs {
    /// Files or directories (walked recursively), then one or more `NAME=NEWREF`: NAME is an
    /// image name without tag, NEWREF the full new reference (`*` keeps a part: `NAME=*:1.2`).
    /// The `NAME=NEWREF` pairs may be left out when `--setter` is given.
    #[arg(value_name = "PATH... NAME=NEWREF", required = true, num_args = 1..)]
    pub args: Vec<String>,

    /// Print a unified diff of what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Also rewrite values marked `# {"$imagepolicy": "NAMESPACE:POLICY"}` (Flux setters) to
    /// follow REF; repeatable.
    #[arg(long, value_name = "NAMESPACE:POLICY=REF")]
    pub setter: Vec<String>,

    /// Add an `images:` entry to kustomizations that have none for the image.
    #[arg(long)]
    pub add_missing: bool,

    /// Extra keys holding images besides `image` (a key name matches at any depth, a dotted
    /// path from a document's root); repeatable.
    #[arg(long, value_name = "KEY")]
    pub image_key: Vec<String>,

    /// Extra image fields of Kubernetes objects (custom resources with their own image
    /// fields): a dotted path from the object's root, list levels left out, optionally
    /// limited to a kind (`Prometheus:spec.image`); repeatable. In objects only `image` of
    /// container entries is rewritten without it.
    #[arg(long, value_name = "[KIND:]PATH")]
    pub object_image_path: Vec<String>,
}

/// The validated form of the arguments.
struct Request {
    paths: Vec<PathBuf>,
    updates: Vec<Update>,
    options: Options,
}

fn validate(args: &SetImageArgs) -> Result<Request, UsageError> {
    let first_update = args
        .args
        .iter()
        // A path may contain `=` (`env=prod/`): what exists on disk is a path.
        .rposition(|a| !a.contains('=') || std::path::Path::new(a).exists())
        .map_or(0, |i| i + 1);
    let (paths, specs) = args.args.split_at(first_update);
    if paths.is_empty() {
        return Err(UsageError(
            "give at least one PATH before NAME=NEWREF".into(),
        ));
    }
    if specs.is_empty() && args.setter.is_empty() {
        return Err(UsageError(
            "give at least one NAME=NEWREF after the paths".into(),
        ));
    }
    let mut updates = Vec::new();
    for spec in specs {
        updates.push(Update::parse(spec).map_err(|e| UsageError(e.to_string()))?);
    }
    for spec in &args.setter {
        let (policy, latest) = spec.split_once('=').ok_or_else(|| {
            UsageError(format!("--setter `{spec}`: expected NAMESPACE:POLICY=REF"))
        })?;
        updates.push(Update::setter(policy, latest).map_err(|e| UsageError(e.to_string()))?);
    }
    let mut options = Options {
        add_kustomize_entries: args.add_missing,
        ..Options::default()
    };
    options.image_keys.extend(args.image_key.iter().cloned());
    options.object_image_paths = args.object_image_path.clone();
    Ok(Request {
        paths: paths.iter().map(PathBuf::from).collect(),
        updates,
        options,
    })
}

/// Runs `kedge set-image`.
pub fn run(args: &SetImageArgs) -> anyhow::Result<ExitCode> {
    let request = validate(args)?;
    for path in &request.paths {
        if !path.exists() {
            return Err(
                UsageError(format!("{}: no such file or directory", path.display())).into(),
            );
        }
    }
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    // Diffs are printed as files are read: no file's contents are kept. After a failed write
    // (the reader went away) the walk goes on quietly and the failure is returned at its end.
    let show_diff = args.dry_run && args.output == OutputFormat::Text;
    let mut diffs = crate::buffered_stdout();
    let mut diff_failure = None;
    let result = kedge_rewrite::rewrite_tree_each(
        &request.paths,
        &request.updates,
        &request.options,
        mode,
        |file| {
            if show_diff && diff_failure.is_none() {
                diff_failure = print_diff(&mut diffs, file).err();
            }
        },
    );
    if let Some(error) = diff_failure {
        return Err(error.into());
    }
    diffs.flush()?;
    drop(diffs);
    match result {
        Ok(outcome) => {
            match args.output {
                OutputFormat::Text => {
                    print_text(&outcome, args.dry_run)?;
                    print_skipped(&outcome);
                }
                OutputFormat::Json => print_json(&outcome, args.dry_run)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            match args.output {
                OutputFormat::Text => eprint!("{}", failure_text(&error)),
                OutputFormat::Json => println!("{}", failure_json(&error)),
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The files written before a failure (only a failed rename after others leaves any).
fn written_before(error: &RewriteError) -> &[PathBuf] {
    match error {
        RewriteError::PartialWrite { written, .. } => written,
        _ => &[],
    }
}

/// The errors a failure consists of, one per file.
fn failures(error: &RewriteError) -> Vec<&RewriteError> {
    match error {
        RewriteError::Files { errors } => errors.iter().collect(),
        RewriteError::PartialWrite { source, .. } => vec![source.as_ref()],
        other => vec![other],
    }
}

fn failure_text(error: &RewriteError) -> String {
    let mut out = String::new();
    for e in failures(error) {
        out.push_str(&format!("kedge: error: {e}\n"));
    }
    let written = written_before(error);
    if written.is_empty() {
        out.push_str("kedge: no file was written\n");
    } else {
        out.push_str(&format!(
            "kedge: {} file(s) were written before the failure:\n",
            written.len()
        ));
        for path in written {
            out.push_str(&format!("  {}\n", path.display()));
        }
    }
    if let RewriteError::PartialWrite { not_written, .. } = error {
        out.push_str(&format!(
            "kedge: {} file(s) keep their old content\n",
            not_written.len()
        ));
    }
    out
}

fn failure_json(error: &RewriteError) -> serde_json::Value {
    let list: Vec<_> = failures(error)
        .iter()
        .map(|e| json!({"path": e.path().map(|p| p.to_string_lossy()), "message": e.to_string()}))
        .collect();
    let written: Vec<_> = written_before(error)
        .iter()
        .map(|p| p.to_string_lossy())
        .collect();
    json!({
        "ok": false,
        "written": !written.is_empty(),
        "written_files": written,
        "errors": list,
    })
}

fn print_diff(out: &mut impl Write, file: &ChangedFile<'_>) -> std::io::Result<()> {
    let old = String::from_utf8_lossy(file.original);
    let new = String::from_utf8_lossy(&file.outcome.bytes);
    let name = file.path.display().to_string();
    let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
    write!(
        out,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
    )
}

/// How many references a file's changes touched.
fn references(file: &kedge_rewrite::FileOutcome) -> usize {
    let mut ids: Vec<usize> = file.changes.iter().map(|c| c.reference).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// Prints one line per changed file, through one buffer: 100,000 changed files are a few writes,
/// not 100,000.
fn print_text(outcome: &TreeOutcome, dry_run: bool) -> std::io::Result<()> {
    let mut out = crate::buffered_stdout();
    if !dry_run {
        for file in &outcome.files {
            let n = references(file);
            let noun = if n == 1 { "reference" } else { "references" };
            writeln!(out, "{}: {n} {noun} changed", file.path.display())?;
        }
    }
    if outcome.files.is_empty() {
        writeln!(
            out,
            "no reference changed ({} files scanned)",
            outcome.scanned
        )?;
    }
    out.flush()
}

/// Says which references to an updated image were seen but left alone, and how to include
/// them, so that a half-update is never silent.
fn print_skipped(outcome: &TreeOutcome) {
    for (path, s) in &outcome.skipped {
        eprintln!(
            "kedge: note: {}:{}:{}: `{}` holds `{}` ({}) but is not an image field kedge rewrites; left unchanged ({} would include it)",
            path.display(),
            s.line,
            s.column,
            s.key,
            s.value,
            s.image,
            s.option
        );
    }
}

/// Prints the JSON report, one file at a time: a tree of 100,000 changed files is never one
/// JSON value in memory.
fn print_json(outcome: &TreeOutcome, dry_run: bool) -> std::io::Result<()> {
    let skipped: Vec<_> = outcome
        .skipped
        .iter()
        .map(|(path, s)| {
            json!({
                "path": path,
                "line": s.line,
                "column": s.column,
                "key": s.key,
                "image": s.image,
                "value": s.value,
                "option": s.option,
            })
        })
        .collect();
    let written = outcome.written && !outcome.files.is_empty();
    let mut out = crate::buffered_stdout();
    // Fields in the order `ok`, `dry_run`, `skipped`, `written`, `scanned`, `files`.
    write!(out, "{{\"ok\":true,\"dry_run\":{dry_run},\"skipped\":")?;
    serde_json::to_writer(&mut out, &skipped)?;
    write!(
        out,
        ",\"written\":{written},\"scanned\":{},\"files\":[",
        outcome.scanned
    )?;
    for (i, file) in outcome.files.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, &file_json(file))?;
    }
    out.write_all(b"]}\n")?;
    out.flush()
}

/// One changed file in the JSON report.
fn file_json(file: &kedge_rewrite::FileOutcome) -> serde_json::Value {
    let changes: Vec<_> = file
        .changes
        .iter()
        .map(|c| {
            json!({
                "line": c.line,
                "column": c.column,
                "site": format!("{:?}", c.site),
                "field": format!("{:?}", c.field),
                "image": &*c.image,
                "old": c.old.as_deref(),
                "new": c.new.as_deref(),
            })
        })
        .collect();
    json!({"path": file.path.to_string_lossy(), "references": references(file), "changes": changes})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11: a rename failing after another succeeded is reported with the files written,
    /// never as "no file was written".
    #[test]
    fn partial_write_names_the_files_written() {
        let error = RewriteError::PartialWrite {
            written: vec![PathBuf::from("app/a.yaml")],
            not_written: vec![PathBuf::from("app/b.yaml"), PathBuf::from("app/c.yaml")],
            source: Box::new(RewriteError::Io {
                path: PathBuf::from("app/b.yaml"),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            }),
        };
        let text = failure_text(&error);
        assert!(
            text.starts_with("kedge: error: app/b.yaml: permission denied\n"),
            "{text}"
        );
        assert!(text.contains("1 file(s) were written before the failure:\n  app/a.yaml\n"));
        assert!(text.contains("2 file(s) keep their old content"));
        assert!(!text.contains("no file was written"));
        let json = failure_json(&error);
        assert_eq!(json["written"], true);
        assert_eq!(json["written_files"], json!(["app/a.yaml"]));
        assert_eq!(json["errors"][0]["path"], "app/b.yaml");
    }

    #[test]
    fn failure_before_any_rename_says_nothing_was_written() {
        let error = RewriteError::Files {
            errors: vec![RewriteError::NotRegular {
                path: PathBuf::from("fifo.yaml"),
                kind: "a FIFO",
            }],
        };
        assert!(failure_text(&error).ends_with("kedge: no file was written\n"));
        assert_eq!(failure_json(&error)["written"], false);
    }
}
