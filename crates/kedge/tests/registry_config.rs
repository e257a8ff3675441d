//! `registries[]` in kedge.yaml: the client limits it sets, and out-of-range
//! values refused with the key named.

use std::path::Path;
use std::time::Duration;

use kedge::config::Config;

fn config_text(registry_settings: &str) -> String {
    format!(
        "git:\n  url: https://git.example/m.git\n  branch: main\n  author: {{name: kedge-bot, email: bot@example.com}}\n\
         registries:\n  - prefix: 127.0.0.1:5000\n    insecure: true\n{registry_settings}\
         images:\n  - alias: web\n    image: 127.0.0.1:5000/team/web\n    targets: [apps/web]\n"
    )
}

#[test]
fn registry_limits_are_read_with_defaults_for_the_rest() {
    let text = config_text(
        "    requestsPerSecond: 25\n    maxBodyBytes: 1048576\n    maxTags: 500\n    \
         discoveryDeadline: 90s\n    allowCrossOriginRedirects: true\n",
    );
    let config = Config::parse(Path::new("kedge.yaml"), &text).unwrap();
    let settings = config.registries[0].settings().unwrap();
    assert_eq!(settings.requests_per_second, 25.0);
    assert_eq!(settings.max_body_bytes, 1_048_576);
    assert_eq!(settings.max_tags, 500);
    assert_eq!(settings.discovery_deadline, Duration::from_secs(90));
    assert!(settings.allow_cross_origin_redirects && settings.insecure);
    assert_eq!(settings.max_concurrency, 8, "default");

    let plain = Config::parse(Path::new("kedge.yaml"), &config_text("")).unwrap();
    let settings = plain.registries[0].settings().unwrap();
    assert!(!settings.allow_cross_origin_redirects);
    assert_eq!(settings.requests_per_second, 200.0);
}

#[test]
fn out_of_range_registry_limits_name_their_key() {
    for (setting, key) in [
        ("requestsPerSecond: 0", "registries[0].requestsPerSecond"),
        ("requestsPerSecond: -3", "registries[0].requestsPerSecond"),
        ("maxConcurrency: 0", "registries[0].maxConcurrency"),
        ("maxBodyBytes: 0", "registries[0].maxBodyBytes"),
        ("maxTags: 0", "registries[0].maxTags"),
        ("discoveryDeadline: soon", "registries[0].discoveryDeadline"),
    ] {
        let text = config_text(&format!("    {setting}\n"));
        let err = Config::parse(Path::new("kedge.yaml"), &text).unwrap_err();
        assert!(err.to_string().contains(key), "{setting}: {err}");
    }
}
