//! Reading one manifest: only a regular file is opened for its bytes, and whether it may be
//! replaced is decided while it is open.
//!
//! A symlink to `/dev/zero` or a FIFO must be refused before a byte is read (reading the one never
//! ends, opening the other blocks until a writer appears), so the type is checked on the path
//! first, the file is opened without blocking, and checked again on the descriptor.

use std::fs::{self, File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::RewriteError;
use crate::walk::io;

/// An open manifest and what it is.
pub(crate) struct Source {
    file: File,
    /// The metadata of the opened file (of the symlink's target for a symlink).
    pub meta: Metadata,
}

impl Source {
    /// Opens `path`, refusing anything but a regular file.
    pub fn open(path: &Path) -> Result<Self, RewriteError> {
        let meta = fs::metadata(path).map_err(|source| io(path, source))?;
        refuse_irregular(path, &meta)?;
        let nonblocking = rustix::fs::OFlags::NONBLOCK.bits() as i32;
        let file = File::options()
            .read(true)
            .custom_flags(nonblocking)
            .open(path)
            .map_err(|source| io(path, source))?;
        // The path may have been swapped between the check and the open.
        let meta = file.metadata().map_err(|source| io(path, source))?;
        refuse_irregular(path, &meta)?;
        Ok(Self { file, meta })
    }

    /// Reads the whole file.
    pub fn read(&mut self, path: &Path) -> Result<Vec<u8>, RewriteError> {
        let mut bytes = Vec::with_capacity(usize::try_from(self.meta.len()).unwrap_or(0) + 1);
        self.file
            .read_to_end(&mut bytes)
            .map_err(|source| io(path, source))?;
        Ok(bytes)
    }

    /// Refuses a file that replacing through a rename would break or that cannot be replaced:
    /// a read-only file, a file with several hard links (the other names would keep the old
    /// content), an immutable or append-only file (`chattr +i`/`+a`).
    pub fn check_replaceable(&self, path: &Path) -> Result<(), RewriteError> {
        let refuse = |reason: String| RewriteError::NotReplaceable {
            path: path.to_owned(),
            reason,
        };
        let mode = self.meta.mode() & 0o7777;
        if mode & 0o222 == 0 {
            return Err(refuse(format!(
                "the file is read-only (mode {mode:04o}); make it writable to let kedge change it"
            )));
        }
        if self.meta.nlink() > 1 {
            return Err(refuse(format!(
                "the file has {} hard links; replacing it would leave the other names with the old content",
                self.meta.nlink()
            )));
        }
        // Filesystems without attributes answer ENOTTY or EOPNOTSUPP: nothing to refuse then.
        if let Ok(flags) = rustix::fs::ioctl_getflags(&self.file) {
            use rustix::fs::IFlags;
            if flags.intersects(IFlags::IMMUTABLE | IFlags::APPEND) {
                return Err(refuse(
                    "the file is immutable or append-only (`chattr +i`/`+a`)".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

/// Names what `meta` is when it is not a regular file.
fn refuse_irregular(path: &Path, meta: &Metadata) -> Result<(), RewriteError> {
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(RewriteError::NotRegular {
        path: path.to_owned(),
        kind: what,
    })
}
