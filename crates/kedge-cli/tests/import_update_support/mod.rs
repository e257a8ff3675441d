//! The harness of `import_update`: a scenario is a real registry (CNCF
//! distribution, images pushed by skopeo) and a real Git repository reached
//! over `file://`; a fixture is imported with its hosts replaced by those
//! servers, then `kedge update` runs on the imported `kedge.yaml`.

mod flux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kedge_testkit::{GitRoot, ImageSpec, OciLayout, TestRegistry};

/// The repository every scenario writes to.
pub const REPO: &str = "testdata";

/// Images to push: repository, then its tags with the time each was built.
pub type Images<'a> = &'a [(&'a str, &'a [(&'a str, &'a str)])];

/// One scenario's servers and working directory.
pub struct Scenario {
    /// The registry holding the scenario's images.
    pub registry: TestRegistry,
    /// The bare repository `testdata.git`.
    pub root: GitRoot,
    /// Where the imported files, the config and kedge's cache live.
    pub dir: tempfile::TempDir,
    /// Text replaced in fixtures and repository files: upstream hosts by the test servers.
    replacements: Vec<(String, String)>,
}

/// What `kedge import` printed.
#[derive(Debug)]
pub struct Imported {
    /// Exit status (0 all mapped, 1 something not mapped).
    pub status: i32,
    /// The `kedge.yaml` on stdout.
    pub config: String,
    /// The `not mapped` and `note` lines.
    pub stderr: String,
}

/// What `kedge update -o json` printed.
#[derive(Debug)]
pub struct Updated {
    /// Exit status (0 updated or current, 1 an image failed).
    pub status: i32,
    /// The JSON result.
    pub json: serde_json::Value,
    /// The messages on stderr.
    pub stderr: String,
}

impl Updated {
    /// The update of `alias`; panics with the whole result when there is none.
    pub fn update(&self, alias: &str) -> &serde_json::Value {
        self.json["updates"]
            .as_array()
            .and_then(|updates| updates.iter().find(|u| u["alias"] == alias))
            .unwrap_or_else(|| panic!("no update of {alias}: {:#}\n{}", self.json, self.stderr))
    }

    /// The tag kedge chose for `alias`.
    pub fn new_tag(&self, alias: &str) -> &str {
        self.update(alias)["newTag"].as_str().unwrap_or_default()
    }
}

impl Scenario {
    /// Starts a registry holding `images` and an empty Git root.
    pub fn new(images: Images<'_>) -> Self {
        let registry = TestRegistry::start();
        let dir = tempfile::tempdir().expect("temp dir");
        for (repository, tags) in images {
            let mut layout = OciLayout::create(&dir.path().join("layouts").join(repository));
            for (tag, created) in *tags {
                layout.add_image(
                    tag,
                    &ImageSpec::new(created, &format!("{repository}:{tag}")),
                );
                registry.push(&layout, tag, repository);
            }
        }
        Self {
            registry,
            root: GitRoot::new(),
            dir,
            replacements: Vec::new(),
        }
    }

    /// Replaces `from` by `to` in every fixture and repository file from now on.
    pub fn replacing(mut self, from: &str, to: &str) -> Self {
        self.replacements.push((from.to_owned(), to.to_owned()));
        self
    }

    /// Replaces `from` by this scenario's registry host.
    pub fn registry_for(self, from: &str) -> Self {
        let host = self.registry.host();
        self.replacing(from, &host)
    }

    /// Replaces `from` by the URL of the scenario's repository.
    pub fn repository_for(self, from: &str) -> Self {
        let url = self.root.file_url(REPO);
        self.replacing(from, &url)
    }

    /// `text` with the replacements made.
    pub fn localise(&self, text: &str) -> String {
        self.replacements
            .iter()
            .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
    }

    /// Creates the repository: `files` (path, content, localised) on `branch`.
    pub fn repository(&self, branch: &str, files: &[(String, String)]) {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(path, content)| (path.clone(), self.localise(content)))
            .collect();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        self.root.create(REPO, branch, &files);
    }

    /// Imports the fixture at `relative` (under the migration fixtures), localised.
    pub fn import_fixture(&self, tool: &str, relative: &str) -> Imported {
        self.import_text(tool, &fixture(relative))
    }

    /// Imports `source` (localised) as `tool`.
    pub fn import_text(&self, tool: &str, source: &str) -> Imported {
        let input = self.dir.path().join("input.yaml");
        std::fs::write(&input, self.localise(source)).expect("input written");
        self.import_files(tool, &["input.yaml"], self.dir.path())
    }

    /// Runs `kedge import tool files…` in `cwd` and saves the `kedge.yaml` it prints,
    /// with the test registry marked plain HTTP (what AIU's registries.conf and
    /// Flux's `insecure` say elsewhere).
    pub fn import_files(&self, tool: &str, files: &[&str], cwd: &Path) -> Imported {
        let mut args = vec!["import", tool];
        args.extend_from_slice(files);
        let output = kedge(&args, cwd, self.dir.path());
        let imported = Imported {
            status: output.status.code().unwrap_or(-1),
            config: text(&output.stdout),
            stderr: text(&output.stderr),
        };
        assert!(
            matches!(imported.status, 0 | 1),
            "import failed: {}",
            imported.stderr
        );
        let config = format!(
            "{}registries:\n- prefix: {}\n  insecure: true\n",
            imported.config,
            self.registry.host()
        );
        std::fs::write(self.config_path(), config).expect("config written");
        imported
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("kedge.yaml")
    }

    /// Runs `kedge update -o json` (with `--dry-run` when asked) on the imported config.
    pub fn update(&self, dry_run: bool) -> Updated {
        let config = self.config_path();
        let cache = self.dir.path().join("cache");
        let mut args = vec![
            "update",
            "--config",
            config.to_str().expect("UTF-8 path"),
            "--cache-dir",
            cache.to_str().expect("UTF-8 path"),
            "-o",
            "json",
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let output = kedge(&args, self.dir.path(), self.dir.path());
        let stderr = text(&output.stderr);
        let json = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("JSON result ({e}): {}\n{stderr}", text(&output.stdout)));
        Updated {
            status: output.status.code().unwrap_or(-1),
            json,
            stderr,
        }
    }

    /// `path` as committed on `branch`.
    pub fn show(&self, branch: &str, path: &str) -> String {
        self.root.show(REPO, branch, path)
    }

    /// The commit `branch` points at.
    pub fn head(&self, branch: &str) -> String {
        self.root.head(REPO, branch)
    }

    /// The registry host.
    pub fn host(&self) -> String {
        self.registry.host()
    }
}

/// Runs the kedge binary with `HOME` in `home` (no Docker credentials of the machine).
pub fn kedge(args: &[&str], cwd: &Path, home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kedge"))
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .output()
        .expect("kedge runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file under the migration fixtures.
pub fn fixture(relative: &str) -> String {
    let path = kedge_testkit::fixtures_dir()
        .join("migration")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file under the setter fixtures.
pub fn setters_fixture(relative: &str) -> String {
    let path = kedge_testkit::fixtures_dir().join("setters").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Argo CD Image Updater's e2e Git repository (`test/e2e/testdata`, see
/// `aiu-testdata/README.md`): the files of `dirs`, as the scenario's form had them.
pub fn aiu_testdata(form: Form, dirs: &[&str]) -> Vec<(String, String)> {
    let base =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import_update_support/aiu-testdata");
    let mut files: Vec<(String, String)> = Vec::new();
    let layers: &[&str] = match form {
        Form::ImageUpdater => &["head"],
        Form::Annotations => &["head", "legacy"],
    };
    for layer in layers {
        for dir in dirs {
            for path in files_under(&base.join(layer).join(dir)) {
                let relative = path
                    .strip_prefix(base.join(layer))
                    .expect("under the layer")
                    .to_string_lossy()
                    .into_owned();
                let content = std::fs::read_to_string(&path).expect("test data reads");
                files.retain(|(p, _)| *p != relative);
                files.push((relative, content));
            }
        }
    }
    assert!(!files.is_empty(), "test data for {dirs:?}");
    files
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The two forms of an Argo CD Image Updater scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `Application` annotations (v0.18.0, `_legacy-v0.18.0/`).
    Annotations,
    /// The `ImageUpdater` resource (v1.x).
    ImageUpdater,
}

impl Form {
    /// Both forms.
    pub const BOTH: [Form; 2] = [Form::Annotations, Form::ImageUpdater];

    /// The scenario's `01-install.yaml` under the migration fixtures.
    pub fn install(self, scenario: &str) -> String {
        let root = "argoproj-labs__argocd-image-updater";
        match self {
            Form::Annotations => {
                format!("{root}/_legacy-v0.18.0/test/e2e/suite/{scenario}/01-install.yaml")
            }
            Form::ImageUpdater => format!("{root}/test/e2e/suite/{scenario}/01-install.yaml"),
        }
    }
}

/// A scenario of AIU's e2e suite with `images` in the registry: the upstream
/// registry (`10.42.0.1:30000`), quay.io, gcr.io and the upstream Git servers
/// replaced by the test servers.
pub fn aiu_scenario(images: Images<'_>) -> Scenario {
    let mut scenario = Scenario::new(images)
        .repository_for("http://10.42.0.1:30002/testdata.git")
        .repository_for("https://10.42.0.1:30003/testdata.git")
        .repository_for("https://github.com/argoproj/argocd-example-apps.git");
    for host in ["10.42.0.1:30000", "quay.io", "gcr.io"] {
        scenario = scenario.registry_for(host);
    }
    scenario
}
