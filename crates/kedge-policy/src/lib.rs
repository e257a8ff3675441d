//! Tag selection policies: given the tags of an image repository, pick the
//! newest one a policy allows.
//!
//! This crate is pure: no IO, no async, no network. A [`PolicySpec`] (as read
//! from configuration) is validated once into a [`TagPolicy`]; selection then
//! runs in two steps so that a caller can fetch image build times only for
//! the tags that survive string filtering:
//!
//! 1. [`TagPolicy::filter`] applies `allow`, `ignore`, `pattern`/`extract`
//!    and the strategy's own check (semver constraint, numeric parse, ...).
//! 2. [`TagPolicy::select`] applies build-time filters (`min_age`, missing
//!    build times) and picks the newest candidate with a single scan.
//!
//! When nothing is left, [`NoMatch`] says how many tags were seen and which
//! filter removed them.
//!
//! Strategies ([`StrategySpec`]) and their compatibility with peers:
//! `semver` (Masterminds/semver ranges as in Flux and argocd-image-updater),
//! `alphabetical` and `numerical` (Flux, with [`Order`]), `newest-build`
//! and `digest` (argocd-image-updater; its `latest` and `name` aliases map to
//! `NewestBuild` and `Alphabetical { order: Asc }`).
//!
//! ```
//! use std::time::SystemTime;
//! use kedge_policy::{PolicySpec, StrategySpec, TagPolicy};
//!
//! let policy = TagPolicy::new(PolicySpec {
//!     ignore: vec!["-debug$".to_owned()],
//!     ..PolicySpec::new(StrategySpec::Semver {
//!         constraint: "^1.2".to_owned(),
//!         prereleases: false,
//!         loose: false,
//!     })
//! })?;
//! let tags = ["1.1.0", "1.2.0", "v1.4.2", "1.5.0-debug", "1.6.0-rc.1", "2.0.0", "latest"];
//! let chosen = policy.select_from(tags, &|_| None, SystemTime::now())?;
//! assert_eq!(chosen.tag, "v1.4.2");
//!
//! let strict = TagPolicy::new(PolicySpec::new(StrategySpec::Semver {
//!     constraint: "^3".to_owned(),
//!     prereleases: false,
//!     loose: false,
//! }))?;
//! let none = strict.select_from(tags, &|_| None, SystemTime::now()).unwrap_err();
//! assert_eq!(none.to_string(), "saw 7 tags; none left: semver constraint ^3 removed 7");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With build times, filter first and look up times only for the survivors:
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//! use kedge_policy::{PolicySpec, StrategySpec, TagPolicy};
//!
//! let policy = TagPolicy::new(PolicySpec {
//!     allow: Some("^main-".to_owned()),
//!     min_age: Some(Duration::from_secs(3600)),
//!     ..PolicySpec::new(StrategySpec::NewestBuild)
//! })?;
//! let tags: Vec<String> = vec!["main-a1".into(), "main-b2".into(), "v1.0.0".into()];
//! let filtered = policy.filter(tags.iter().map(String::as_str));
//! assert!(policy.needs_build_time());
//! // In kedge the registry fetches these, for `filtered.candidates()` only.
//! let built: HashMap<&str, SystemTime> = filtered
//!     .candidates()
//!     .zip([1_000, 2_000])
//!     .map(|(tag, secs)| (tag, UNIX_EPOCH + Duration::from_secs(secs)))
//!     .collect();
//! let now = UNIX_EPOCH + Duration::from_secs(5_000);
//! let chosen = policy.select(&filtered, &|tag| built.get(tag).copied(), now)?;
//! // main-b2 is newer but only 50 minutes old.
//! assert_eq!((chosen.tag, chosen.report.removed_by_min_age), ("main-a1", 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod constraint;
mod error;
mod filter;
mod policy;
mod redact;
mod report;
mod spec;
mod strategy;
mod template;
mod version;

pub use error::{ConstraintProblem, PolicyError, RegexField};
pub use filter::Filtered;
pub use policy::{Selected, TagPolicy};
pub use redact::{escape_control, redact_url, redact_urls_in};
pub use report::{FilterReport, NoMatch};
pub use spec::{Order, PolicySpec, StrategySpec};
