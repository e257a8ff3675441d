//! Argo CD Image Updater: annotated `Application`s (v0.x) and `ImageUpdater`
//! resources (v1.x). The Application's `spec.source` supplies the repository
//! and the path to rewrite, as it does for AIU's Git write-back.

mod annotations;
mod app;
mod crd;
mod image;
mod settings;

use app::Application;
pub(crate) use crd::labels_match;

use crate::error::not_this_tool;
use crate::group::Mapped;
use crate::report::{At, File, Report};
use crate::yaml::{Document, Node, Value};
use crate::{ImportOptions, MigrateError, Tool};

/// Maps every annotated Application and every ImageUpdater in `files`.
pub(crate) fn import(
    files: &[File],
    options: &ImportOptions,
    report: &mut Report,
) -> Result<Vec<Mapped>, MigrateError> {
    let mut apps = Vec::new();
    let mut updaters = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        let before = apps.len() + updaters.len();
        for document in &file.documents {
            let at = At::new(&file.path, document.root.line, "");
            let group = document
                .api_version()
                .and_then(|v| v.split_once('/'))
                .map(|(g, _)| g);
            match (document.kind(), group) {
                (Some("Application"), Some("argoproj.io")) => {
                    apps.push(application(document, at, file_index));
                }
                (Some("ImageUpdater"), Some("argocd-image-updater.argoproj.io")) => {
                    updaters.push((document, at, file_index));
                }
                _ => {}
            }
        }
        if apps.len() + updaters.len() == before {
            return Err(not_this_tool(
                file,
                Tool::ArgoCdImageUpdater,
                "Argo CD Applications (argoproj.io) or ImageUpdaters (argocd-image-updater.argoproj.io)",
            ));
        }
    }
    let mut mapped = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for app in &apps {
        if has_annotations(app) {
            map_annotated(app, options, report, &mut mapped);
            done.push(app.name.clone());
        }
    }
    for (document, at, file_index) in updaters {
        for reference in crd::read(&document.root, &at, &apps, report) {
            map_reference(
                reference,
                file_index,
                options,
                report,
                &mut done,
                &mut mapped,
            );
        }
    }
    Ok(mapped)
}

fn application(document: &Document, at: At, file_index: usize) -> Application {
    let labels = document
        .root
        .path("metadata.labels")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect();
    Application {
        name: document.name().unwrap_or_default().to_owned(),
        labels,
        document: document.clone(),
        at,
        file_index,
    }
}

/// Whether the Application carries any AIU annotation.
fn has_annotations(app: &Application) -> bool {
    app.document
        .root
        .path("metadata.annotations")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .any(|(key, _)| key.starts_with(annotations::PREFIX))
}

/// Maps an Application's annotations.
fn map_annotated(
    app: &Application,
    options: &ImportOptions,
    report: &mut Report,
    mapped: &mut Vec<Mapped>,
) {
    let Some(node) = app.document.root.path("metadata.annotations") else {
        return;
    };
    let annotated = annotations::read(node, &app.at, report);
    if !annotated.has_image_list {
        report.not_mapped(
            &app.at.child(node.line, "metadata.annotations"),
            format!(
                "Application {} has no {}image-list, so Argo CD Image Updater updates nothing in it",
                app.name,
                annotations::PREFIX
            ),
        );
        return;
    }
    map_images(
        app,
        &annotated.images,
        &annotated.write_back,
        options,
        report,
        mapped,
    );
}

/// Maps `images` of `app` written back as `write_back` says.
fn map_images(
    app: &Application,
    images: &[settings::AiuImage],
    write_back: &settings::WriteBackSettings,
    options: &ImportOptions,
    report: &mut Report,
    mapped: &mut Vec<Mapped>,
) {
    let Some(destination) = app::destination(app, write_back, options, report) else {
        return;
    };
    let targets = image::Targets {
        paths: &destination.targets,
        helm: destination.helm,
    };
    for aiu in images {
        if let Some(image) = image::map(aiu, &targets, report) {
            mapped.push(Mapped {
                repo: destination.repo.clone(),
                image,
                owner: app.name.clone(),
                at: aiu.at.clone(),
            });
        }
    }
}

/// Maps one `applicationRefs[]` entry over the Applications it selects.
fn map_reference(
    reference: crd::ApplicationRef,
    file_index: usize,
    options: &ImportOptions,
    report: &mut Report,
    done: &mut Vec<String>,
    mapped: &mut Vec<Mapped>,
) {
    let mut matches = reference.matches.clone();
    let literal = !reference.name_pattern.contains(['*', '?', '[']);
    if matches.is_empty() && literal && options.git_url.is_some() && !options.paths.is_empty() {
        // The Application is not among the files: --git-url and --path stand in for its source.
        let root = Node {
            line: reference.at.line,
            value: Value::Map(Vec::new()),
        };
        matches.push(Application {
            name: reference.name_pattern.clone(),
            labels: Vec::new(),
            document: Document { root },
            at: reference.at.clone(),
            file_index,
        });
    }
    if matches.is_empty() && !reference.unselected.is_empty() {
        report.note(
            &reference.at.child(reference.at.line, "labelSelectors"),
            format!(
                "Application {} matches {:?} but not its labelSelectors: Argo CD Image Updater \
                 leaves it alone, and so does the import",
                reference.unselected.join(", "),
                reference.name_pattern
            ),
        );
        return;
    }
    if matches.is_empty() {
        report.not_mapped(
            &reference.at.child(reference.at.line, "namePattern"),
            format!(
                "no Application among the given files matches {:?} and its labelSelectors: pass \
                 the Application manifests (or --git-url and --path for one named Application)",
                reference.name_pattern
            ),
        );
        return;
    }
    for app in &matches {
        if reference.use_annotations {
            if !done.contains(&app.name) && has_annotations(app) {
                map_annotated(app, options, report, mapped);
                done.push(app.name.clone());
            }
            continue;
        }
        map_images(
            app,
            &reference.images,
            &reference.write_back,
            options,
            report,
            mapped,
        );
    }
}
