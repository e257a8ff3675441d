//! `kedge import -o crd`: the imported configuration as `ImageUpdate`
//! resources for kedge's controller.

use kedge::controller::image_update_spec;
use kedge_controller::ImageUpdate;
use kedge_migrate::KedgeConfig;

/// One `ImageUpdate` per imported configuration, and notes on what the user must add.
pub fn image_updates(configs: &[KedgeConfig]) -> anyhow::Result<(Vec<ImageUpdate>, Vec<String>)> {
    let mut notes = Vec::new();
    let mut resources = Vec::new();
    for (index, config) in configs.iter().enumerate() {
        let name = resource_name(&config.git.url, index, configs.len());
        let spec = image_update_spec(config, &name, &mut notes);
        spec.validate()?;
        resources.push(ImageUpdate::new(&name, spec));
    }
    Ok((resources, notes))
}

/// A DNS-1123 name from the repository's last path segment (`manifests`),
/// numbered when one import yields several.
fn resource_name(url: &str, index: usize, count: usize) -> String {
    let last = url
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("kedge");
    let last = last.strip_suffix(".git").unwrap_or(last);
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').chars().take(50).collect();
    if name.is_empty() {
        name = "kedge".to_owned();
    }
    if count > 1 {
        name = format!("{name}-{}", index + 1);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::resource_name;

    #[test]
    fn names_are_dns_labels_from_the_repository() {
        assert_eq!(
            resource_name("https://github.com/Org/My_Manifests.git", 0, 1),
            "my-manifests"
        );
        assert_eq!(
            resource_name("git@github.com:org/fleet.git", 1, 2),
            "fleet-2"
        );
    }
}
