//! Writes a sample OCI layout for the README demo and prints its tags, one a line:
//! `oci-sample DIR`. Tags span releases, a pre-release, a multi-arch release and
//! build tags, with build times a day apart.

use kedge_testkit::{ImageSpec, OciLayout};

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: oci-sample DIR");
        std::process::exit(2);
    };
    let mut layout = OciLayout::create(std::path::Path::new(&dir));
    let releases = [
        ("1.0.0", "2026-01-01"),
        ("1.1.0", "2026-02-01"),
        ("1.2.0-rc.1", "2026-03-01"),
        ("1.2.0", "2026-03-15"),
        ("2.0.0", "2026-05-01"),
        ("main-20260601.1", "2026-06-01"),
    ];
    for (tag, day) in releases {
        let created = format!("{day}T12:00:00Z");
        layout.add_image(tag, &ImageSpec::new(&created, tag));
        println!("{tag}");
    }
    let created = "2026-04-01T12:00:00Z";
    layout.add_index(
        "1.3.0",
        &[
            ImageSpec::for_platform("linux", "amd64", created, "1.3.0 amd64"),
            ImageSpec::for_platform("linux", "arm64", created, "1.3.0 arm64"),
        ],
    );
    println!("1.3.0");
}
