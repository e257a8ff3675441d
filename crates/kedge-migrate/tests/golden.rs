//! Every file of the migration fixtures (real Argo CD Image Updater, Flux and
//! Keel configuration) either maps to a kedge.yaml that kedge's own loader
//! accepts, or is reported with a reason. The output is pinned per file in
//! `tests/golden/<case>/`; `KEDGE_BLESS=1` rewrites the golden files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kedge_migrate::{Import, ImportOptions, MigrateError, Source, Tool, import};

/// The repository a Keel import is told about (Keel's files cannot say).
const KEEL_GIT_URL: &str = "https://github.com/example/manifests.git";

fn migration_dir() -> PathBuf {
    kedge_testkit::fixtures_dir().join("migration")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every `.yaml` under `dir`, sorted, relative to the migration folder.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture folder reads") {
            let path = entry.expect("fixture entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let relative = path.strip_prefix(migration_dir()).expect("under migration");
                files.push(relative.to_owned());
            }
        }
    }
    files.sort();
    files
}

fn tool_of(relative: &Path) -> Tool {
    let top = relative.components().next().expect("a folder");
    match top.as_os_str().to_string_lossy().split("__").next() {
        Some("argoproj-labs") => Tool::ArgoCdImageUpdater,
        Some("fluxcd") => Tool::Flux,
        Some("keel-hq") => Tool::Keel,
        other => panic!("no tool for fixture folder {other:?}"),
    }
}

fn options_for(tool: Tool) -> ImportOptions {
    match tool {
        Tool::Keel => ImportOptions::with_git(KEEL_GIT_URL, Vec::new()),
        _ => ImportOptions::default(),
    }
}

/// Imports `files` (relative to the migration folder) as `tool` does.
fn run(tool: Tool, files: &[PathBuf]) -> Result<Import, MigrateError> {
    let sources: Vec<Source> = files
        .iter()
        .map(|relative| {
            let text = std::fs::read_to_string(migration_dir().join(relative)).expect("reads");
            Source::new(relative, text)
        })
        .collect();
    import(tool, &sources, &options_for(tool))
}

/// The kedge.yaml stream and the report, each configuration read back by kedge.
fn render(case: &str, result: &Result<Import, MigrateError>) -> (String, String) {
    let mut report = String::new();
    let imported = match result {
        Ok(imported) => imported,
        Err(error) => return (String::new(), format!("error: {error}\n")),
    };
    for config in &imported.configs {
        let yaml = config.to_yaml().expect("serialises");
        if let Err(error) = kedge::config::Config::parse(Path::new("kedge.yaml"), &yaml) {
            panic!("{case}: kedge refuses the imported kedge.yaml: {error}\n{yaml}");
        }
    }
    let _ = writeln!(report, "configs: {}", imported.configs.len());
    for finding in &imported.not_mapped {
        let _ = writeln!(report, "not mapped: {finding}");
    }
    for finding in &imported.notes {
        let _ = writeln!(report, "note: {finding}");
    }
    (imported.to_yaml().expect("serialises"), report)
}

/// Compares (or with KEDGE_BLESS=1 writes) one case's golden files.
fn check(case: &str, yaml: &str, report: &str) -> Result<(), String> {
    let dir = golden_dir().join(case);
    let bless = std::env::var_os("KEDGE_BLESS").is_some();
    let mut problems = String::new();
    for (name, actual) in [("kedge.yaml", yaml), ("report.txt", report)] {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).expect("golden dir");
            if actual.is_empty() {
                let _ = std::fs::remove_file(&path);
            } else {
                std::fs::write(&path, actual).expect("golden written");
            }
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            let _ = writeln!(
                problems,
                "{case}/{name} differs (KEDGE_BLESS=1 to accept):\n--- expected\n{expected}\n+++ actual\n{actual}"
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn case_name(relative: &Path) -> String {
    relative
        .with_extension("")
        .to_string_lossy()
        .replace(['/', '\\'], "__")
}

#[test]
fn every_fixture_maps_or_is_reported() {
    let files = yaml_files(&migration_dir());
    assert!(
        files.len() >= 60,
        "the migration fixtures are there: {}",
        files.len()
    );
    let mut failures = Vec::new();
    for relative in &files {
        let case = case_name(relative);
        let tool = tool_of(relative);
        let result = run(tool, std::slice::from_ref(relative));
        if let Ok(imported) = &result {
            // "Maps or is reported": something mapped, or every gap has a reason.
            assert!(
                !imported.configs.is_empty() || !imported.not_mapped.is_empty(),
                "{case}: nothing mapped and nothing reported"
            );
            for finding in &imported.not_mapped {
                assert!(
                    finding.reason.len() > 20,
                    "{case}: a reason a user can act on: {finding}"
                );
            }
        }
        let (yaml, report) = render(&case, &result);
        if let Err(problem) = check(&case, &yaml, &report) {
            failures.push(problem);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A user imports a whole Flux setup at once: objects and marked manifests together.
#[test]
fn flux_setup_with_markers_imports_together() {
    let base =
        "fluxcd__image-automation-controller/_transcribed/docs/spec/v1/imageupdateautomations";
    let files = [
        format!("{base}/L0017-0068_full-GitRepository-ImageRepository-ImagePolicy-ImageUpdateAutomation.yaml"),
        "fluxcd__image-reflector-controller/_transcribed/docs/spec/v1/imagepolicies/L0015-0027_ImagePolicy-semver-digestReflectionPolicy.yaml".to_owned(),
    ];
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let result = run(Tool::Flux, &files);
    let imported = result.as_ref().expect("imports");
    assert_eq!(imported.configs.len(), 1, "{imported:?}");
    let config = &imported.configs[0];
    assert_eq!(config.git.url, "https://github.com/fluxcd/example");
    let image = &config.images[0];
    assert_eq!(image.image, "ghcr.io/stefanprodan/podinfo");
    assert_eq!(image.targets, ["."]);
    let (yaml, report) = render("flux-setup", &result);
    check("combined__flux-setup", &yaml, &report)
        .map_err(|p| panic!("{p}"))
        .ok();
}

/// Upstream's own before/after pair: the annotated Applications and the
/// ImageUpdater written for them import to the same images.
#[test]
fn argocd_annotations_and_image_updater_agree() {
    let base = "argoproj-labs__argocd-image-updater/_transcribed/docs/configuration/migration";
    let before = run(
        Tool::ArgoCdImageUpdater,
        &[PathBuf::from(format!(
            "{base}/L0216-0242_before-2-Applications-annotations.yaml"
        ))],
    )
    .expect("imports");
    let after = run(
        Tool::ArgoCdImageUpdater,
        &[
            PathBuf::from(format!("{base}/L0248-0282_after-ImageUpdater.yaml")),
            PathBuf::from(format!(
                "{base}/L0216-0242_before-2-Applications-annotations.yaml"
            )),
        ],
    )
    .expect("imports");
    let names = |imported: &Import| -> Vec<(String, String)> {
        imported
            .configs
            .iter()
            .flat_map(|c| {
                c.images
                    .iter()
                    .map(|i| (c.git.branch.clone().unwrap_or_default(), i.image.clone()))
            })
            .collect()
    };
    assert_eq!(names(&before), names(&after));
}
