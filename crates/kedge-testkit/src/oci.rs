//! Writing small OCI image layouts on disk, for `skopeo copy oci:DIR:TAG …`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// One image to build: its platform, its build time and a marker that makes it unique.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`.
    pub architecture: String,
    /// `v8`, or none.
    pub variant: Option<String>,
    /// RFC 3339 build time written to the config's `created`.
    pub created: String,
    /// Content of the single file in the single layer; different content, different digest.
    pub content: String,
}

impl ImageSpec {
    /// A linux/amd64 image built at `created`, holding `content`.
    pub fn new(created: &str, content: &str) -> Self {
        Self::for_platform("linux", "amd64", created, content)
    }

    /// An image for `os`/`architecture`.
    pub fn for_platform(os: &str, architecture: &str, created: &str, content: &str) -> Self {
        Self {
            os: os.into(),
            architecture: architecture.into(),
            variant: None,
            created: created.into(),
            content: content.into(),
        }
    }
}

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`).
pub struct OciLayout {
    dir: PathBuf,
    refs: Vec<Value>,
}

/// A blob written to the layout.
#[derive(Debug, Clone)]
pub struct Descriptor {
    /// Its media type.
    pub media_type: String,
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size: usize,
}

impl OciLayout {
    /// Creates an empty layout in `dir`.
    pub fn create(dir: &Path) -> Self {
        fs::create_dir_all(dir.join("blobs/sha256")).expect("create OCI layout");
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("write oci-layout");
        let layout = Self {
            dir: dir.to_owned(),
            refs: Vec::new(),
        };
        layout.write_index();
        layout
    }

    /// The layout's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a single-platform image under `tag` and returns its manifest descriptor.
    pub fn add_image(&mut self, tag: &str, image: &ImageSpec) -> Descriptor {
        let manifest = self.write_image(image);
        self.add_ref(tag, &manifest, None);
        manifest
    }

    /// Adds a multi-platform index under `tag` and returns the index descriptor.
    pub fn add_index(&mut self, tag: &str, images: &[ImageSpec]) -> Descriptor {
        let entries: Vec<Value> = images
            .iter()
            .map(|image| {
                let manifest = self.write_image(image);
                let mut platform = json!({"os": image.os, "architecture": image.architecture});
                if let Some(variant) = &image.variant {
                    platform["variant"] = json!(variant);
                }
                json!({
                    "mediaType": manifest.media_type,
                    "digest": manifest.digest,
                    "size": manifest.size,
                    "platform": platform,
                })
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        let descriptor = self.write_blob(OCI_INDEX, index.to_string().as_bytes());
        self.add_ref(tag, &descriptor, None);
        descriptor
    }

    fn write_image(&self, image: &ImageSpec) -> Descriptor {
        let tar = tar_with_file("kedge-test.txt", image.content.as_bytes());
        let diff_id = format!("sha256:{:x}", Sha256::digest(&tar));
        let layer = self.write_blob("application/vnd.oci.image.layer.v1.tar+gzip", &gzip(&tar));
        let mut config = json!({
            "created": image.created,
            "architecture": image.architecture,
            "os": image.os,
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        });
        if let Some(variant) = &image.variant {
            config["variant"] = json!(variant);
        }
        let config = self.write_blob(
            "application/vnd.oci.image.config.v1+json",
            config.to_string().as_bytes(),
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config.media_type, "digest": config.digest, "size": config.size},
            "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}],
        });
        self.write_blob(OCI_MANIFEST, manifest.to_string().as_bytes())
    }

    /// Writes bytes as a content-addressed blob.
    pub fn write_blob(&self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let hex = format!("{:x}", Sha256::digest(bytes));
        fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).expect("write blob");
        Descriptor {
            media_type: media_type.into(),
            digest: format!("sha256:{hex}"),
            size: bytes.len(),
        }
    }

    fn add_ref(&mut self, tag: &str, descriptor: &Descriptor, platform: Option<Value>) {
        let mut entry = json!({
            "mediaType": descriptor.media_type,
            "digest": descriptor.digest,
            "size": descriptor.size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        });
        if let Some(platform) = platform {
            entry["platform"] = platform;
        }
        self.refs.push(entry);
        self.write_index();
    }

    fn write_index(&self) {
        let index = json!({"schemaVersion": 2, "manifests": self.refs});
        fs::write(self.dir.join("index.json"), index.to_string()).expect("write index.json");
    }
}

/// A tar archive holding one regular file.
fn tar_with_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, name, content)
        .expect("append to tar");
    builder.into_inner().expect("finish tar")
}

/// Gzip, as registries and skopeo expect layers to be (skopeo would otherwise
/// compress them on push and the digests written here would not be the pushed ones).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip layer");
    encoder.finish().expect("finish gzip")
}

/// Reads a blob back from the layout, to re-send it over HTTP.
pub fn read_blob(layout: &OciLayout, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    fs::read(layout.dir().join("blobs/sha256").join(hex)).expect("read blob")
}
