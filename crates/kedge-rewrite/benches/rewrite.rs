//! Rewrite speed: one image across the kube-prometheus corpus, and across a generated repository
//! of 10,000 manifest files. Run with `cargo bench -p kedge-rewrite --bench rewrite`; the
//! comparison with Python `yq` and `yaqpy` is `benches/compare.sh`. Figures: docs/perf-rewrite.md.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kedge_rewrite::{Mode, Options, Update, rewrite, rewrite_tree};

fn main() {
    divan::main();
}

use kedge_testkit::fixtures_dir as fixtures;

fn kube_prometheus() -> &'static Vec<(PathBuf, Vec<u8>)> {
    static FILES: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = fixtures().join("manifests/prometheus-operator__kube-prometheus/manifests");
        let mut out = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let bytes = std::fs::read(&p).unwrap();
                    out.push((p, bytes));
                }
            }
        }
        out
    })
}

fn update() -> [Update; 1] {
    [
        Update::parse("quay.io/brancz/kube-rbac-proxy=quay.io/brancz/kube-rbac-proxy:v9.9.9")
            .unwrap(),
    ]
}

/// A manifest like many in real repositories: a commented Deployment with two containers.
pub fn generated_manifest(i: usize) -> String {
    format!(
        "# service {i}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{i}\n  labels:\n    app: svc-{i} # owner: team-{t}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: svc-{i}\n  template:\n    metadata:\n      labels:\n        app: svc-{i}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/team-{t}/svc-{i}:1.{i}.0\n        ports:\n        - containerPort: 8080\n        resources: {{limits: {{cpu: 500m, memory: 256Mi}}}}\n      - name: proxy\n        image: \"quay.io/brancz/kube-rbac-proxy:v0.22.1\" # sidecar\n        args: [\"--secure-listen-address=0.0.0.0:8443\"]\n",
        t = i % 17
    )
}

fn generated_repo() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10_000 {
            let sub = dir.path().join(format!("apps/team-{}", i % 17));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("svc-{i}.yaml")), generated_manifest(i)).unwrap();
        }
        dir
    })
    .path()
}

/// In memory: 95 files, 5.6 MB.
#[divan::bench(sample_count = 20)]
fn kube_prometheus_in_memory() -> usize {
    let updates = update();
    kube_prometheus()
        .iter()
        .map(|(path, bytes)| {
            rewrite(path, divan::black_box(bytes), &updates)
                .unwrap()
                .changes
                .len()
        })
        .sum()
}

/// From disk, walking the directory (dry run: read + rewrite, no write).
#[divan::bench(sample_count = 20)]
fn kube_prometheus_tree() -> usize {
    let dir = fixtures().join("manifests/prometheus-operator__kube-prometheus");
    let out = rewrite_tree(&[dir], &update(), &Options::default(), Mode::DryRun).unwrap();
    out.files.len()
}

/// 10,000 generated files from disk (dry run).
#[divan::bench(sample_count = 5)]
fn generated_10k_tree() -> usize {
    let out = rewrite_tree(
        &[generated_repo().to_owned()],
        &update(),
        &Options::default(),
        Mode::DryRun,
    )
    .unwrap();
    assert_eq!(out.files.len(), 10_000);
    out.files.len()
}
