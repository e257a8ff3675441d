//! Renders kept in memory by (commit, path, renderer), so a re-sync of an
//! unchanged revision does not run Helm or Kustomize again.
//!
//! The commit id, not file modification times, keys the cache: a render may
//! read files outside the rendered path (a Kustomize base in `../base`, a
//! Helm values file, a vendored chart dependency), and a commit id names the
//! content of the whole repository, so two renders of one path at one commit
//! with one renderer read the same bytes. The renderer is part of the key as
//! a whole (tool binary, Kustomize command, Helm release, namespace, values
//! files in order, `--set` values in order), so changing any of them misses.
//! What the key cannot see is the environment: a different `helm` installed at
//! the same path, or `HELM_*` variables, are only picked up by a new cache.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{RenderError, RenderedObject, Renderer, render};

/// What identifies a render: the commit of the repository, the path inside
/// it, and how the path is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RenderKey {
    /// The commit id the checkout is at (the full hex id).
    pub commit: String,
    /// The rendered path, relative to the repository's root.
    pub path: PathBuf,
    /// The renderer with all its options.
    pub renderer: Renderer,
}

impl RenderKey {
    /// The key of rendering `path` (relative to the repository root) at
    /// `commit` with `renderer`.
    pub fn new(commit: impl Into<String>, path: impl Into<PathBuf>, renderer: Renderer) -> Self {
        Self {
            commit: commit.into(),
            path: path.into(),
            renderer,
        }
    }
}

/// One render, shared by every caller that asks for its key. The mutex is
/// held while rendering, so concurrent callers of one key run the tool once.
type Slot = Mutex<Option<Arc<[RenderedObject]>>>;

struct Entry {
    slot: Arc<Slot>,
    last_used: u64,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<RenderKey, Entry>,
    clock: u64,
}

/// A bounded, least-recently-used cache of successful renders, safe to share
/// between threads (`Arc<RenderCache>`). Failed renders are not kept: the
/// next call runs the tool again.
pub struct RenderCache {
    capacity: NonZeroUsize,
    entries: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often a [`RenderCache`] answered from memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStats {
    /// Calls answered from memory.
    pub hits: u64,
    /// Calls that rendered.
    pub misses: u64,
}

impl std::fmt::Debug for RenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl RenderCache {
    /// A cache holding at most `capacity` renders; the least recently used
    /// one makes room for a new one.
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The objects of `key`: from memory, or by rendering
    /// `checkout.join(&key.path)`, where `checkout` is a working tree of the
    /// repository at `key.commit`.
    pub fn render(
        &self,
        key: &RenderKey,
        checkout: &Path,
    ) -> Result<Arc<[RenderedObject]>, RenderError> {
        let slot = self.slot(key);
        let mut rendered = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(objects) = rendered.as_ref() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(objects));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        match render(&checkout.join(&key.path), &key.renderer) {
            Ok(objects) => {
                let objects: Arc<[RenderedObject]> = objects.into();
                *rendered = Some(Arc::clone(&objects));
                Ok(objects)
            }
            Err(error) => {
                drop(rendered);
                self.forget(key, &slot);
                Err(error)
            }
        }
    }

    /// The objects of `key` if they are in memory, without rendering (a
    /// caller can skip writing out a checkout then). Counts as a hit when
    /// found, and as nothing otherwise.
    pub fn get(&self, key: &RenderKey) -> Option<Arc<[RenderedObject]>> {
        let slot = {
            let mut entries = self.lock_entries();
            entries.clock += 1;
            let now = entries.clock;
            let entry = entries.by_key.get_mut(key)?;
            entry.last_used = now;
            Arc::clone(&entry.slot)
        };
        let found = slot.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// How many renders are held (or being made).
    pub fn len(&self) -> usize {
        self.lock_entries().by_key.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The slot of `key`, made (and the least recently used one evicted)
    /// when missing.
    fn slot(&self, key: &RenderKey) -> Arc<Slot> {
        let mut entries = self.lock_entries();
        entries.clock += 1;
        let now = entries.clock;
        if let Some(entry) = entries.by_key.get_mut(key) {
            entry.last_used = now;
            return Arc::clone(&entry.slot);
        }
        if entries.by_key.len() >= self.capacity.get() {
            // A linear scan: caches hold tens to hundreds of renders, each
            // of which cost a process start.
            let oldest = entries
                .by_key
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                entries.by_key.remove(&oldest);
            }
        }
        let slot = Arc::new(Mutex::new(None));
        entries.by_key.insert(
            key.clone(),
            Entry {
                slot: Arc::clone(&slot),
                last_used: now,
            },
        );
        slot
    }

    /// Drops `key` after a failed render, unless another render replaced it.
    fn forget(&self, key: &RenderKey, slot: &Arc<Slot>) {
        let mut entries = self.lock_entries();
        if entries
            .by_key
            .get(key)
            .is_some_and(|entry| Arc::ptr_eq(&entry.slot, slot))
        {
            entries.by_key.remove(key);
        }
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
