//! Shared by the deploy tests: the repository's install paths rendered by the
//! real `helm` and `kubectl kustomize`, as JSON objects.

#![allow(dead_code)] // each test file uses its own part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The release name and namespace the comparisons use, the Kustomize base's.
pub const RELEASE: &str = "kedge";
/// The namespace of the Kustomize base.
pub const NAMESPACE: &str = "kedge-system";

/// The Helm values matching `deploy/examples/kustomize` (every opt-in part).
pub const EVERY_OPTION: &[&str] = &[
    "rbac.apply.mode=cluster",
    "ingress.enabled=true",
    "ingress.host=kedge.acme.example",
    "serviceMonitor.enabled=true",
    "argocdImageUpdater.enabled=true",
];

/// The repository root.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The chart, `deploy/helm/kedge`.
pub fn chart() -> PathBuf {
    repository().join("deploy/helm/kedge")
}

/// Runs `program` with `args` (and `stdin`), and returns its standard output,
/// failing the test with its output if it does not exit 0.
pub fn run(program: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let output = output(program, args, stdin);
    assert!(
        output.status.success(),
        "{} {} failed ({}):\n{}\n{}",
        program.display(),
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs `program` with `args` (and `stdin`) and returns what it did.
pub fn output(program: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(repository())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("writing stdin");
    }
    child.wait_with_output().expect("waiting for it")
}

/// Every object of a multi-document YAML stream (empty documents skipped).
pub fn objects(yaml: &str) -> Vec<Value> {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(yaml).unwrap_or_else(|e| panic!("{e}:\n{yaml}"));
    documents.into_iter().filter(|d| !d.is_null()).collect()
}

/// `helm template` of the chart as release `release` in `namespace`, CRDs
/// included, with `--set` values.
pub fn helm_template(helm: &Path, release: &str, namespace: &str, set: &[&str]) -> Vec<Value> {
    let chart = chart();
    let mut args = vec![
        "template",
        release,
        chart.to_str().expect("UTF-8 path"),
        "--namespace",
        namespace,
        "--include-crds",
    ];
    for value in set {
        args.extend(["--set", value]);
    }
    objects(&run(helm, &args, None))
}

/// `kubectl kustomize` of a directory under the repository.
pub fn kustomize(kubectl: &Path, dir: &str) -> Vec<Value> {
    let path = repository().join(dir);
    objects(&run(
        kubectl,
        &["kustomize", path.to_str().expect("UTF-8 path")],
        None,
    ))
}

/// `kind namespace/name` of an object, for messages and comparisons.
pub fn key(object: &Value) -> String {
    let metadata = &object["metadata"];
    let name = metadata["name"].as_str().unwrap_or("?");
    let kind = object["kind"].as_str().unwrap_or("?");
    match metadata["namespace"].as_str() {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// A JSON `List` of `objects`, which `kubectl apply -f -` takes whole.
pub fn list(objects: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": objects,
    }))
    .expect("JSON")
}
