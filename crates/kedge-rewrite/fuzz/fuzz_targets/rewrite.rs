//! Fuzz target: arbitrary bytes and references never panic, and whatever is written parses.
//!
//! Input layout: byte 0 picks the file name and options, the first line is `NAME=NEWREF` (or
//! `NS:POLICY=REF` for a setter), the rest is the YAML document.
#![no_main]

use std::path::Path;

use kedge_rewrite::{Options, Update, rewrite_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let (spec, yaml) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(spec) = std::str::from_utf8(spec) else { return };
    let update = match spec.split_once('=') {
        Some((name, r)) if selector & 4 != 0 => Update::setter(name, r),
        _ => Update::parse(spec),
    };
    let Ok(update) = update else { return };
    let path = Path::new(match selector & 3 {
        0 => "kustomization.yaml",
        1 => "values.yaml",
        2 => "Kustomization",
        _ => "deploy.yaml",
    });
    let options = Options {
        add_kustomize_entries: selector & 8 != 0,
        ..Options::default()
    };
    if let Ok(out) = rewrite_with(path, yaml, &[update], &options) {
        if out.bytes != yaml {
            // What would be written must parse again.
            rewrite_with(path, &out.bytes, &[], &options).expect("output must parse");
        }
    }
});
