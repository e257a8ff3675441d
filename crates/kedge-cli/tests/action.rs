//! The GitHub Action (`action.yml` and `action/update.sh`) run as a runner
//! would: the step's `run` and `env` are read from `action.yml` with the
//! inputs substituted, and run with `bash --noprofile --norc -eo pipefail`
//! in the environment a runner gives a step (`RUNNER_*`, `GITHUB_OUTPUT`,
//! `GITHUB_PATH`, `GITHUB_STEP_SUMMARY`). The release download is a
//! `file://` URL (the `download-url` input) to an archive of this build's
//! binary with its `.sha256`; the registry, Git server and GitHub are the
//! real local ones the other end-to-end tests use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};
use kedge_testkit::{GitHttp, GitRoot, ImageSpec, OciLayout, TestRegistry};
use serde_json::Value;

const DEPLOY: &str = "apps/web/deploy.yaml";
const TOKEN: &str = "s3cret";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The registry with `team/web` 1.0.0 and 1.0.1, and a manifest repository
/// on 1.0.0 served over smart HTTP with basic auth (user `bot`, password
/// `TOKEN`).
struct World {
    registry: TestRegistry,
    root: GitRoot,
    http: GitHttp,
    dir: tempfile::TempDir,
}

fn world() -> World {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut layout = OciLayout::create(&dir.path().join("layout"));
    for tag in ["1.0.0", "1.0.1"] {
        layout.add_image(tag, &ImageSpec::new("2026-01-01T00:00:00Z", tag));
        registry.push(&layout, tag, "team/web");
    }
    let root = GitRoot::new();
    let manifest = format!(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: {}/team/web:1.0.0\n",
        registry.host()
    );
    root.create("manifests", "main", &[(DEPLOY, &manifest)]);
    let http = GitHttp::start(&root, "bot", TOKEN);
    World {
        registry,
        root,
        http,
        dir,
    }
}

impl World {
    /// Writes `workspace/kedge.yaml`, with `extra` appended.
    fn write_config(&self, extra: &str) -> PathBuf {
        let workspace = self.dir.path().join("workspace");
        std::fs::create_dir_all(&workspace).expect("workspace");
        let config = format!(
            "git:\n  url: {url}\n  auth: {{tokenEnv: GITHUB_TOKEN, username: bot}}\nregistries:\n  - prefix: {host}\n    insecure: true\nimages:\n  - alias: web\n    image: {host}/team/web\n    policy: {{strategy: semver, constraint: \"~1.0\"}}\n    targets: [apps/web]\n{extra}",
            url = self.http.url("manifests"),
            host = self.registry.host(),
        );
        std::fs::write(workspace.join("kedge.yaml"), config).expect("config");
        workspace
    }

    /// The release archive of this build's `kedge` and its `.sha256`, as
    /// the release workflow makes them; returns the archive's `file://` URL.
    /// The archive holds a link to the binary rather than a gzipped copy of
    /// a debug binary of several hundred MB.
    fn release_archive(&self) -> String {
        let staging = self.dir.path().join("release");
        std::fs::create_dir_all(&staging).expect("release dir");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kedge"), staging.join("kedge"))
            .expect("link");
        let archive = staging.join("kedge-linux-amd64.tar.gz");
        let tar = Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(&staging)
            .arg("kedge")
            .status()
            .expect("tar runs");
        assert!(tar.success());
        let sum = Command::new("sha256sum")
            .arg("kedge-linux-amd64.tar.gz")
            .current_dir(&staging)
            .output()
            .expect("sha256sum runs");
        std::fs::write(staging.join("kedge-linux-amd64.tar.gz.sha256"), sum.stdout)
            .expect("checksum");
        format!("file://{}", archive.display())
    }
}

/// What a run of the action left: the step's exit, the outputs it wrote,
/// the job summary and the PATH additions.
struct Run {
    output: Output,
    outputs: BTreeMap<String, String>,
    summary: String,
    path: String,
}

/// The `run` and `env` of action.yml's one step, `${{ inputs.* }}` and
/// `${{ github.* }}` replaced as the runner would.
fn step(inputs: &BTreeMap<&str, String>) -> (String, Vec<(String, String)>) {
    let text = std::fs::read_to_string(repository().join("action.yml")).expect("action.yml");
    let action: Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    let step = &action["runs"]["steps"][0];
    assert_eq!(step["shell"], "bash");
    let resolve = |value: &str| -> String {
        let mut resolved = value.to_owned();
        for (name, input) in action["inputs"].as_object().expect("inputs") {
            let given = inputs.get(name.as_str()).cloned();
            let default = input["default"].as_str().unwrap_or_default();
            let value = given.unwrap_or_else(|| default.to_owned());
            resolved = resolved.replace(&format!("${{{{ inputs.{name} }}}}"), &value);
        }
        resolved = resolved
            .replace("${{ github.action_repository }}", "kedge-dev/kedge")
            .replace("${{ github.token }}", "the-job-token");
        assert!(
            !resolved.contains("${{"),
            "an expression the test does not know: {resolved}"
        );
        resolved
    };
    let env = step["env"]
        .as_object()
        .expect("env")
        .iter()
        .map(|(name, value)| (name.clone(), resolve(value.as_str().expect("a string"))))
        .collect();
    (resolve(step["run"].as_str().expect("run")), env)
}

/// Runs the action's step in `workspace` with `inputs`.
fn run_action(world: &World, workspace: &Path, inputs: &[(&str, String)]) -> Run {
    let runner = world.dir.path().join("runner");
    let temp = runner.join("temp");
    std::fs::create_dir_all(&temp).expect("RUNNER_TEMP");
    let files = ["output", "path", "summary"].map(|name| runner.join(name));
    for file in &files {
        std::fs::write(file, "").expect("runner file");
    }
    let (run, env) = step(&inputs.iter().cloned().collect());
    let script = temp.join("step.sh");
    std::fs::write(&script, run).expect("step script");
    let output = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .current_dir(workspace)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", world.dir.path())
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTION_PATH", repository())
        .env("GITHUB_WORKSPACE", workspace)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", &temp)
        .env("GITHUB_OUTPUT", &files[0])
        .env("GITHUB_PATH", &files[1])
        .env("GITHUB_STEP_SUMMARY", &files[2])
        .envs(env)
        .output()
        .expect("bash runs");
    let read = |file: &Path| std::fs::read_to_string(file).expect("runner file");
    Run {
        outputs: parse_outputs(&read(&files[0])),
        summary: read(&files[2]),
        path: read(&files[1]),
        output,
    }
}

/// The runner's reading of `GITHUB_OUTPUT`: `name=value` lines and
/// `name<<DELIMITER` blocks.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        }
    }
    outputs
}

fn logs(run: &Run) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        run.output.status,
        String::from_utf8_lossy(&run.output.stdout),
        String::from_utf8_lossy(&run.output.stderr)
    )
}

#[test]
fn a_dry_run_reports_the_bump_and_pushes_nothing() {
    let world = world();
    let workspace = world.write_config("");
    let head = world.root.head("manifests", "main");
    let url = world.release_archive();
    let run = run_action(
        &world,
        &workspace,
        &[
            ("dry-run", "true".to_owned()),
            ("github-token", TOKEN.to_owned()),
            ("download-url", url),
        ],
    );
    assert!(run.output.status.success(), "{}", logs(&run));
    let result: Value = serde_json::from_str(&run.outputs["result"]).expect("result is JSON");
    assert_eq!(result["dryRun"], true);
    assert_eq!(result["updates"][0]["alias"], "web");
    assert_eq!(result["updates"][0]["newTag"], "1.0.1");
    assert_eq!(run.outputs["pr-url"], "");
    assert_eq!(
        world.root.head("manifests", "main"),
        head,
        "a dry run pushes nothing"
    );
    assert!(
        run.summary.contains("(dry run): web 1.0.0 → 1.0.1"),
        "{}",
        run.summary
    );
    assert!(run.path.trim_end().ends_with("kedge-bin"), "{}", run.path);
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_mode_outputs_the_pull_request_url() {
    let github = TestGitHub::start(TestGitHubOptions::token("acme", "manifests", TOKEN))
        .await
        .expect("test GitHub starts");
    let world = world();
    let workspace = world.write_config(&format!(
        "writeBack: {{mode: pull-request}}\nforge:\n  github: {{apiUrl: \"{}\", owner: acme, repo: manifests, tokenEnv: GITHUB_TOKEN}}\n",
        github.api_url()
    ));
    let url = world.release_archive();
    let run = tokio::task::spawn_blocking(move || {
        let run = run_action(
            &world,
            &workspace,
            &[("github-token", TOKEN.to_owned()), ("download-url", url)],
        );
        (run, world)
    });
    let (run, _world) = run.await.expect("the action ran");
    assert!(run.output.status.success(), "{}", logs(&run));
    let result: Value = serde_json::from_str(&run.outputs["result"]).expect("result is JSON");
    let opened = &github.pull_requests()[0];
    assert_eq!(result["pullRequests"][0]["action"], "created");
    assert_eq!(
        run.outputs["pr-url"],
        opened["html_url"].as_str().expect("html_url")
    );
    assert!(
        run.summary
            .contains(&format!("pull request {}", run.outputs["pr-url"]))
    );
}

#[test]
fn a_download_whose_checksum_differs_is_not_run() {
    let world = world();
    let workspace = world.write_config("");
    let url = world.release_archive();
    let sum = world
        .dir
        .path()
        .join("release/kedge-linux-amd64.tar.gz.sha256");
    std::fs::write(
        &sum,
        format!("{}  kedge-linux-amd64.tar.gz\n", "0".repeat(64)),
    )
    .expect("sum");
    let run = run_action(&world, &workspace, &[("download-url", url)]);
    assert_eq!(run.output.status.code(), Some(2), "{}", logs(&run));
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    assert!(stdout.contains("::error title=kedge::"), "{stdout}");
    assert!(stdout.contains("not running it"), "{stdout}");
    assert!(run.outputs.is_empty(), "{:?}", run.outputs);
}

#[test]
fn a_missing_config_is_named() {
    let world = world();
    let workspace = world.dir.path().join("empty");
    std::fs::create_dir_all(&workspace).expect("workspace");
    let url = world.release_archive();
    let run = run_action(
        &world,
        &workspace,
        &[
            ("config", "deploy/kedge.yaml".to_owned()),
            ("download-url", url),
        ],
    );
    assert_eq!(run.output.status.code(), Some(2), "{}", logs(&run));
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    assert!(
        stdout.contains("no configuration file deploy/kedge.yaml"),
        "{stdout}"
    );
}
