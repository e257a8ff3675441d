//! Deadlines for talking to a remote, so a remote that accepts a connection and
//! then says nothing cannot hold a clone (and its lock) forever.
//!
//! libgit2 keeps these settings process-wide; they apply to every socket its
//! transports open: `git://`, HTTP(S) (its built-in client) and SSH. `file://`
//! remotes open no socket: a hung local file system is bounded by the cache
//! lock's wait instead (see [`Workspace::open`](crate::Workspace::open)).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::GitError;
use crate::error::LibgitError;

/// How long kedge waits on a remote's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkTimeouts {
    /// Longest wait for a TCP connection to be set up.
    pub connect: Duration,
    /// Longest wait for any single read or write on an open connection.
    pub idle: Duration,
}

impl NetworkTimeouts {
    /// Connect within `connect`; give up when one read or write waits longer than `idle`.
    pub fn new(connect: Duration, idle: Duration) -> Self {
        Self { connect, idle }
    }
}

impl Default for NetworkTimeouts {
    /// 30 s to connect, 120 s of silence on an open connection.
    fn default() -> Self {
        Self::new(Duration::from_secs(30), Duration::from_secs(120))
    }
}

static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// Sets the timeouts for every later fetch and push in this process.
/// Without a call, the first [`Workspace::open`](crate::Workspace::open) applies
/// [`NetworkTimeouts::default`].
#[allow(unsafe_code)]
pub fn set_network_timeouts(timeouts: NetworkTimeouts) -> Result<(), GitError> {
    let millis = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX).max(1);
    let invalid = |source| GitError::Settings {
        source: LibgitError::new(source),
    };
    // SAFETY: both calls store one integer in libgit2's global settings; connections
    // already open keep the values they started with.
    unsafe {
        git2::opts::set_server_connect_timeout_in_milliseconds(millis(timeouts.connect))
            .map_err(invalid)?;
        git2::opts::set_server_timeout_in_milliseconds(millis(timeouts.idle)).map_err(invalid)?;
    }
    CONFIGURED.store(true, Ordering::Release);
    Ok(())
}

/// Applies the default timeouts unless some were set already.
pub(crate) fn ensure_network_timeouts() -> Result<(), GitError> {
    if CONFIGURED.load(Ordering::Acquire) {
        return Ok(());
    }
    set_network_timeouts(NetworkTimeouts::default())
}
