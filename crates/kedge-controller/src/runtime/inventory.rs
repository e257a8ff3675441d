//! The kinds of each Application's objects, remembered between full sweeps,
//! so that an idle comparison lists a few resource types, not every one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use kedge_kube::GroupKind;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::Application;

/// How long the kinds found by one full sweep are trusted. A sweep lists
/// every listable type (about sixty requests); between sweeps an
/// Application's sync or comparison lists Git's kinds and those found
/// before. An object labelled for the Application by hand, of a kind it
/// never had, is found by the next sweep.
pub(crate) const FULL_SWEEP: Duration = Duration::from_secs(30 * 60);

/// What was found of each Application's objects, and when every type was
/// last listed for it. Memory only: after a restart every Application is
/// swept in full once.
#[derive(Default)]
pub(crate) struct Inventories {
    by_app: Mutex<HashMap<ObjectRef<Application>, Found>>,
}

struct Found {
    kinds: BTreeSet<GroupKind>,
    swept: Instant,
}

impl Inventories {
    /// The kinds to list for `app`, or `None` when a full sweep is due.
    pub(crate) fn known(&self, app: &ObjectRef<Application>) -> Option<BTreeSet<GroupKind>> {
        let by_app = self.by_app.lock().unwrap_or_else(PoisonError::into_inner);
        let found = by_app.get(app)?;
        (found.swept.elapsed() < FULL_SWEEP).then(|| found.kinds.clone())
    }

    /// Records the kinds a sync or comparison reported: they replace what
    /// was known after a full sweep (`swept`), and add to it otherwise.
    pub(crate) fn record(
        &self,
        app: &ObjectRef<Application>,
        kinds: BTreeSet<GroupKind>,
        swept: bool,
    ) {
        let mut by_app = self.by_app.lock().unwrap_or_else(PoisonError::into_inner);
        match by_app.get_mut(app) {
            Some(found) if !swept => found.kinds.extend(kinds),
            Some(_) | None if swept => {
                let swept = Instant::now();
                by_app.insert(app.clone(), Found { kinds, swept });
            }
            _ => {}
        }
    }

    /// Forgets Applications that are gone.
    pub(crate) fn forget_deleted(&self, store: &Store<Application>) {
        let mut by_app = self.by_app.lock().unwrap_or_else(PoisonError::into_inner);
        super::application::forget_deleted(&mut by_app, store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(kind: &str) -> GroupKind {
        GroupKind {
            group: String::new(),
            kind: kind.to_owned(),
        }
    }

    #[test]
    fn kinds_are_known_after_a_full_sweep_and_grow_until_the_next() {
        let inventories = Inventories::default();
        let app = ObjectRef::<Application>::new("web").within("team");
        assert_eq!(inventories.known(&app), None, "never swept: sweep");
        inventories.record(&app, [kind("Secret")].into(), false);
        assert_eq!(
            inventories.known(&app),
            None,
            "a partial listing is no sweep"
        );
        inventories.record(&app, [kind("ConfigMap")].into(), true);
        inventories.record(&app, [kind("Service")].into(), false);
        assert_eq!(
            inventories.known(&app),
            Some([kind("ConfigMap"), kind("Service")].into())
        );
        inventories.record(&app, [kind("Deployment")].into(), true);
        assert_eq!(
            inventories.known(&app),
            Some([kind("Deployment")].into()),
            "a sweep replaces what was known"
        );
    }
}
