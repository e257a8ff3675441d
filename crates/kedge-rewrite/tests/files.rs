//! Reading and writing real files: what is refused before a byte is read, what a replaced file
//! keeps, and what a failed rename reports (issues #11 and #12).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use kedge_rewrite::{Mode, Options, RewriteError, TreeOutcome, Update, rewrite_tree};

const OLD: &str = "spec:\n  containers:\n  - image: nginx:1.25\n";
const NEW: &str = "spec:\n  containers:\n  - image: nginx:1.27\n";

fn run(paths: &[PathBuf], mode: Mode) -> Result<TreeOutcome, RewriteError> {
    let update = Update::parse("nginx=nginx:1.27").unwrap();
    rewrite_tree(paths, &[update], &Options::default(), mode)
}

/// Runs `run` on another thread and fails the test if it does not return in 20 s.
fn run_bounded(paths: Vec<PathBuf>) -> Result<TreeOutcome, RewriteError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run(&paths, Mode::Write));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("rewrite_tree did not return within 20 s")
}

fn only_error(result: Result<TreeOutcome, RewriteError>) -> RewriteError {
    match result {
        Err(RewriteError::Files { mut errors }) if errors.len() == 1 => errors.remove(0),
        other => panic!("expected one file error, got {other:?}"),
    }
}

#[test]
fn issue11_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("deploy.yaml");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let error = only_error(run_bounded(vec![fifo]));
    assert!(
        matches!(error, RewriteError::NotRegular { kind: "a FIFO", .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("deploy.yaml: a FIFO, not a regular file")
    );
}

#[test]
fn issue11_symlink_to_dev_zero_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("deploy.yaml");
    symlink("/dev/zero", &link).unwrap();
    let error = only_error(run_bounded(vec![link]));
    assert!(
        matches!(
            error,
            RewriteError::NotRegular {
                kind: "a character device",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn issue11_read_only_file_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    fs::write(&a, OLD).unwrap();
    fs::write(&b, OLD).unwrap();
    fs::set_permissions(&b, fs::Permissions::from_mode(0o444)).unwrap();
    let error = only_error(run(&[dir.path().to_owned()], Mode::Write));
    assert!(
        error
            .to_string()
            .contains("b.yaml: not replaced: the file is read-only (mode 0444)"),
        "{error}"
    );
    assert_eq!(fs::read_to_string(&a).unwrap(), OLD);
    assert_eq!(fs::read_to_string(&b).unwrap(), OLD);
}

#[test]
fn issue11_hard_linked_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, other) = (dir.path().join("a.yaml"), dir.path().join("other-name"));
    fs::write(&a, OLD).unwrap();
    fs::hard_link(&a, &other).unwrap();
    let error = only_error(run(std::slice::from_ref(&a), Mode::Write));
    assert!(error.to_string().contains("has 2 hard links"), "{error}");
    assert_eq!(fs::read_to_string(&other).unwrap(), OLD);
}

#[test]
fn issue11_replaced_file_keeps_mode_and_owner() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    fs::write(&a, OLD).unwrap();
    fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).unwrap();
    // Only root may give a file away; elsewhere the file keeps the runner's own owner.
    let given = std::os::unix::fs::chown(&a, Some(4321), Some(4322)).is_ok();
    let before = fs::metadata(&a).unwrap();
    run(std::slice::from_ref(&a), Mode::Write).unwrap();
    let after = fs::metadata(&a).unwrap();
    assert_eq!(fs::read_to_string(&a).unwrap(), NEW);
    assert_ne!(before.ino(), after.ino(), "replaced through a rename");
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    if given {
        assert_eq!((after.uid(), after.gid()), (4321, 4322));
    }
}

#[test]
fn issue11_non_utf8_file_names_are_rewritten() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    fs::create_dir(&sub).unwrap();
    let file = sub.join(std::ffi::OsStr::from_bytes(b"d\xe9ploiement.yaml"));
    fs::write(&file, OLD).unwrap();
    let outcome = run(&[dir.path().to_owned()], Mode::Write).unwrap();
    assert_eq!(outcome.scanned, 1);
    assert_eq!(outcome.files.len(), 1);
    assert_eq!(fs::read_to_string(&file).unwrap(), NEW);
}

/// `chattr +i` makes a rename over the file fail even for root; refused before any rename.
#[test]
fn issue11_immutable_file_means_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    fs::write(&a, OLD).unwrap();
    fs::write(&b, OLD).unwrap();
    let chattr = |flag: &str| Command::new("chattr").arg(flag).arg(&b).output();
    if !chattr("+i").is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: this filesystem (or user) cannot set the immutable attribute");
        return;
    }
    let result = run(&[dir.path().to_owned()], Mode::Write);
    let _ = chattr("-i");
    let error = only_error(result);
    assert!(
        error
            .to_string()
            .contains("b.yaml: not replaced: the file is immutable")
    );
    assert_eq!(fs::read_to_string(&a).unwrap(), OLD);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left"
    );
}

/// A rename that fails after another succeeded (here: the second file's directory is replaced
/// by a file between staging and renaming) names exactly the files written.
#[test]
fn issue11_failed_rename_reports_the_files_written() {
    let dir = tempfile::tempdir().unwrap();
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    fs::create_dir(&da).unwrap();
    fs::create_dir(&db).unwrap();
    let (a, b) = (da.join("x.yaml"), db.join("y.yaml"));
    fs::write(&a, OLD).unwrap();
    fs::write(&b, OLD).unwrap();
    let mut outcome = run(&[dir.path().to_owned()], Mode::Stage).unwrap();
    assert_eq!(fs::read_to_string(&a).unwrap(), OLD, "staged, not renamed");
    fs::remove_dir_all(&db).unwrap();
    fs::write(&db, "not a directory").unwrap();
    match outcome.write() {
        Err(RewriteError::PartialWrite {
            written,
            not_written,
            ..
        }) => {
            assert_eq!(written, vec![a.clone()]);
            assert_eq!(not_written, vec![b.clone()]);
        }
        other => panic!("expected a partial write, got {other:?}"),
    }
    assert_eq!(fs::read_to_string(&a).unwrap(), NEW);
    assert!(!outcome.written);
}

#[test]
fn dry_run_and_dropped_stage_leave_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    fs::write(&a, OLD).unwrap();
    let names = |d: &Path| fs::read_dir(d).unwrap().count();
    let outcome = run(&[dir.path().to_owned()], Mode::DryRun).unwrap();
    assert_eq!(outcome.files.len(), 1);
    assert_eq!(names(dir.path()), 1);
    let staged = run(&[dir.path().to_owned()], Mode::Stage).unwrap();
    assert_eq!(
        names(dir.path()),
        2,
        "the staged file waits beside its target"
    );
    drop(staged);
    assert_eq!(names(dir.path()), 1);
    assert_eq!(fs::read_to_string(&a).unwrap(), OLD);
}
