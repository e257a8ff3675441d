//! Measurement behind the choice of a span-based rewriter over `yaml-edit` (team rule: measured
//! reasons only). Run with
//! `cargo test -p kedge-rewrite --test yaml_edit_measure -- --ignored --nocapture`;
//! the figures are in `docs/perf-rewrite.md`.

mod common;

use std::str::FromStr;

use kedge_rewrite::{Options, Site, find_images};

/// The first container of a pod template, through `yaml-edit`'s API.
fn first_container(doc: &yaml_edit::Document) -> Option<yaml_edit::Mapping> {
    let root = doc.as_mapping()?;
    let pod_spec = root
        .get_mapping("spec")?
        .get_mapping("template")?
        .get_mapping("spec")?;
    let containers = pod_spec.get_sequence("containers")?;
    containers.get(0)?.as_mapping().cloned()
}

#[test]
#[ignore = "measurement, run on demand"]
fn yaml_edit_on_the_corpus() {
    let (mut files, mut parse_errors, mut round_trip_diffs) = (0, Vec::new(), Vec::new());
    let (mut edits, mut clean_edits, mut stray) = (0, 0, Vec::new());
    for path in common::corpus() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if kedge_rewrite::rewrite(&path, text.as_bytes(), &[]).is_err() {
            continue; // invalid for kedge too: not a fair comparison
        }
        files += 1;
        let file = match yaml_edit::YamlFile::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                parse_errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        if file.to_string() != text {
            round_trip_diffs.push(path.display().to_string());
            continue;
        }
        // One-value edit: the first container's image of the first pod template.
        let found = find_images(&path, text.as_bytes(), &Options::default()).unwrap();
        for doc in file.documents() {
            let Some(container) = first_container(&doc) else {
                continue;
            };
            let Some(old) = container
                .get("image")
                .and_then(|v| v.as_scalar().map(|s| s.as_string()))
            else {
                continue;
            };
            edits += 1;
            container.set("image", "registry.kedge.test/new:1.10");
            let out = file.to_string();
            let prefix = text
                .bytes()
                .zip(out.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            let suffix = text
                .bytes()
                .rev()
                .zip(out.bytes().rev())
                .take_while(|(a, b)| a == b)
                .count();
            let changed = prefix..text.len().saturating_sub(suffix).max(prefix);
            let ok = found.iter().any(|f| {
                f.site == Site::ImageField
                    && f.span.start <= changed.start
                    && changed.end <= f.span.end
                    && f.reference.to_string() == old
            }) && out.contains("registry.kedge.test/new:1.10");
            if ok {
                clean_edits += 1;
            } else {
                let out_line = out[prefix.min(out.len())..]
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let in_line = text[prefix.min(text.len())..]
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                stray.push(format!("{}: `{in_line}` -> `{out_line}`", path.display()));
            }
            break;
        }
    }
    println!("files (valid YAML for kedge): {files}");
    println!("yaml-edit parse errors: {}", parse_errors.len());
    for e in parse_errors.iter().take(10) {
        println!("  {e}");
    }
    println!("round-trip not byte-identical: {}", round_trip_diffs.len());
    for e in round_trip_diffs.iter().take(10) {
        println!("  {e}");
    }
    println!(
        "one-value edits: {edits}, byte-exact: {clean_edits}, with stray bytes: {}",
        stray.len()
    );
    for e in stray.iter().take(10) {
        println!("  {e}");
    }
}

/// Targeted probes: quoting, type-ambiguous values, flow style, CRLF, invalid input, speed.
#[test]
#[ignore = "measurement, run on demand"]
fn yaml_edit_probes() {
    let probes: &[(&str, &str, &str, &str)] = &[
        (
            "single-quoted",
            "image: 'nginx:1.25' # c\n",
            "image",
            "nginx:1.27",
        ),
        ("double-quoted", "tag: \"1.25\" # c\n", "tag", "1.27"),
        ("plain to float-like", "tag: v1 # c\n", "tag", "1.10"),
        ("plain to bool-like", "tag: v1\n", "tag", "true"),
        ("plain to octal-like", "tag: v1\n", "tag", "0755"),
        (
            "flow mapping",
            "c: {name: a, image: nginx:1}\n",
            "image",
            "nginx:2",
        ),
        (
            "CRLF",
            "a: 1\r\nimage: nginx:1\r\nb: 2\r\n",
            "image",
            "nginx:2",
        ),
        ("no final newline", "image: nginx:1", "image", "nginx:2"),
    ];
    for (name, text, key, value) in probes {
        let file = yaml_edit::YamlFile::from_str(text).unwrap();
        let doc = file.document().unwrap();
        let map = doc.as_mapping().unwrap();
        if *name == "flow mapping" {
            map.get_mapping("c").unwrap().set(*key, *value);
        } else {
            map.set(*key, *value);
        }
        let kedge = kedge_rewrite::rewrite(
            "x.yaml".as_ref(),
            text.as_bytes(),
            &[kedge_rewrite::Update::image(
                if *key == "tag" { "tag-holder" } else { "nginx" },
                "*:*",
            )
            .unwrap()],
        )
        .unwrap();
        assert_eq!(kedge.bytes, text.as_bytes());
        println!("{name}: {text:?} -> yaml-edit {:?}", file.to_string());
    }
    let invalid = common::corpus()
        .into_iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            kedge_rewrite::rewrite(p, &bytes, &[]).is_err()
        })
        .collect::<Vec<_>>();
    for p in &invalid {
        let text = std::fs::read_to_string(p).unwrap();
        let r = yaml_edit::YamlFile::from_str(&text);
        println!(
            "invalid {}: yaml-edit {}",
            p.display(),
            if r.is_ok() { "accepts" } else { "rejects" }
        );
    }
    let dir = common::fixtures().join("manifests/prometheus-operator__kube-prometheus");
    let files: Vec<String> = common::files_under(&dir)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let start = std::time::Instant::now();
    for text in &files {
        let f = yaml_edit::YamlFile::from_str(text).unwrap();
        assert_eq!(f.to_string().len(), text.len());
    }
    let yaml_edit_time = start.elapsed();
    let start = std::time::Instant::now();
    let update = [kedge_rewrite::Update::parse("quay.io/prometheus/prometheus=*:v9.9.9").unwrap()];
    for text in &files {
        kedge_rewrite::rewrite("x.yaml".as_ref(), text.as_bytes(), &update).unwrap();
    }
    println!(
        "kube-prometheus ({} files): yaml-edit parse+print {:?}, kedge rewrite {:?} (this build profile)",
        files.len(),
        yaml_edit_time,
        start.elapsed()
    );
}
