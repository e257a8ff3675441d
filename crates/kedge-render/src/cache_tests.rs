//! The render cache, counted with a fake tool that logs every run.

use std::num::NonZeroUsize;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::{HelmOptions, KustomizeOptions};

/// A checkout with two app directories and a fake tool that appends its
/// arguments to `runs.log` and prints one ConfigMap.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for app in ["app", "other"] {
            std::fs::create_dir(dir.path().join(app)).unwrap();
        }
        let tool = dir.path().join("tool.sh");
        std::fs::write(
            &tool,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\nprintf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {{name: rendered}}\\n'\n",
                dir.path().join("runs.log").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn checkout(&self) -> &Path {
        self.dir.path()
    }

    fn tool(&self) -> PathBuf {
        self.dir.path().join("tool.sh")
    }

    fn kustomize(&self) -> Renderer {
        Renderer::Kustomize(KustomizeOptions::new([self.tool()]))
    }

    fn helm(&self) -> HelmOptions {
        let mut options = HelmOptions::new("web");
        options.binary = self.tool();
        options
    }

    /// How many times the tool ran.
    fn runs(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("runs.log"))
            .map_or(0, |log| log.lines().count())
    }
}

fn cache(capacity: usize) -> RenderCache {
    RenderCache::new(NonZeroUsize::new(capacity).unwrap())
}

#[test]
fn the_same_commit_path_and_renderer_renders_once() {
    let fixture = Fixture::new();
    let cache = cache(8);
    let key = RenderKey::new("c1", "app", fixture.kustomize());
    let first = cache.render(&key, fixture.checkout()).unwrap();
    let second = cache.render(&key, fixture.checkout()).unwrap();
    assert_eq!(fixture.runs(), 1);
    assert_eq!(first[0].name(), "rendered");
    assert!(Arc::ptr_eq(&first, &second), "a hit shares the render");
    assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
    assert!(cache.get(&key).is_some());
    assert_eq!(fixture.runs(), 1);
}

#[test]
fn another_commit_path_or_kustomize_command_misses() {
    let fixture = Fixture::new();
    let cache = cache(8);
    let base = RenderKey::new("c1", "app", fixture.kustomize());
    let other_command = Renderer::Kustomize(KustomizeOptions::new([
        fixture.tool(),
        "--enable-helm".into(),
    ]));
    let keys = [
        base.clone(),
        RenderKey::new("c2", "app", fixture.kustomize()),
        RenderKey::new("c1", "other", fixture.kustomize()),
        RenderKey::new("c1", "app", other_command),
    ];
    for key in &keys {
        cache.render(key, fixture.checkout()).unwrap();
    }
    assert_eq!(fixture.runs(), 4, "each differing key renders");
    for key in &keys {
        cache.render(key, fixture.checkout()).unwrap();
    }
    assert_eq!(fixture.runs(), 4, "and each is then served from memory");
    assert_eq!(cache.len(), 4);
}

#[test]
fn every_helm_parameter_is_part_of_the_key() {
    let fixture = Fixture::new();
    let cache = cache(16);
    let plain = fixture.helm();
    let mut release = fixture.helm();
    release.release = "shop".into();
    let mut namespace = fixture.helm();
    namespace.namespace = Some("store".into());
    let mut values = fixture.helm();
    values.values_files = vec!["prod.yaml".into()];
    let mut values_reordered = fixture.helm();
    values_reordered.values_files = vec!["a.yaml".into(), "b.yaml".into()];
    let mut values_in_order = values_reordered.clone();
    values_in_order.values_files.reverse();
    let mut set = fixture.helm();
    set.set = vec!["image.tag=1.2.3".into()];
    let mut set_other = fixture.helm();
    set_other.set = vec!["image.tag=1.2.4".into()];
    let variants = [
        plain,
        release,
        namespace,
        values,
        values_reordered,
        values_in_order,
        set,
        set_other,
    ];
    for (round, expected_runs) in [(0, variants.len()), (1, variants.len())] {
        for options in &variants {
            let key = RenderKey::new("c1", "app", Renderer::Helm(options.clone()));
            cache.render(&key, fixture.checkout()).unwrap();
        }
        assert_eq!(fixture.runs(), expected_runs, "round {round}");
    }
    let log = std::fs::read_to_string(fixture.checkout().join("runs.log")).unwrap();
    assert!(log.contains("--set image.tag=1.2.4"), "{log}");
    assert!(
        log.contains("--values b.yaml --values a.yaml"),
        "values files in another order are another render: {log}"
    );
}

#[test]
fn the_least_recently_used_render_is_evicted_at_the_bound() {
    let fixture = Fixture::new();
    let cache = cache(2);
    let key = |commit: &str| RenderKey::new(commit, "app", fixture.kustomize());
    cache.render(&key("a"), fixture.checkout()).unwrap();
    cache.render(&key("b"), fixture.checkout()).unwrap();
    cache.render(&key("a"), fixture.checkout()).unwrap(); // a is now newer than b
    cache.render(&key("c"), fixture.checkout()).unwrap(); // evicts b
    assert_eq!(cache.len(), 2);
    assert_eq!(fixture.runs(), 3);
    assert!(cache.get(&key("a")).is_some());
    assert!(cache.get(&key("b")).is_none(), "b was least recently used");
    cache.render(&key("b"), fixture.checkout()).unwrap();
    assert_eq!(fixture.runs(), 4, "an evicted render runs again");
}

#[test]
fn a_failed_render_is_not_kept() {
    let fixture = Fixture::new();
    let cache = cache(4);
    let key = RenderKey::new("c1", "missing", Renderer::Plain);
    let error = cache.render(&key, fixture.checkout()).unwrap_err();
    assert!(matches!(error, RenderError::Io { .. }), "{error}");
    assert!(cache.is_empty());
    std::fs::create_dir(fixture.checkout().join("missing")).unwrap();
    std::fs::write(
        fixture.checkout().join("missing/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\n",
    )
    .unwrap();
    let objects = cache.render(&key, fixture.checkout()).unwrap();
    assert_eq!(objects[0].name(), "late");
}

#[test]
fn threads_asking_for_one_key_render_it_once() {
    let fixture = Fixture::new();
    let cache = cache(4);
    let key = RenderKey::new("c1", "app", fixture.kustomize());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| cache.render(&key, fixture.checkout()).unwrap());
        }
    });
    assert_eq!(fixture.runs(), 1);
    assert_eq!(cache.stats().hits, 3);
}
