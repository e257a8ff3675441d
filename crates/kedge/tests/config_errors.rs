//! Issue 11: configuration errors name the file, the line and the key, also
//! for values of the wrong type, and refuse values that would break `serve`.

use std::path::Path;

use kedge::config::Config;

const BASE: &str = "git: {url: \"file:///srv/git/manifests.git\"}\nimages:\n  - alias: web\n    image: registry.test:5000/team/web\n    targets: [apps/web]\n";

fn error(extra: &str) -> String {
    let text = format!("{BASE}{extra}");
    match Config::parse(Path::new("kedge.yaml"), &text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_value_of_the_wrong_type_names_its_key_and_line() {
    let message = error("serve:\n  bodyLimitBytes: lots\n");
    assert!(
        message.starts_with("kedge.yaml:7: serve.bodyLimitBytes: "),
        "{message}"
    );

    let text = BASE.replace("targets: [apps/web]", "targets: {path: apps/web}");
    let message = Config::parse(Path::new("kedge.yaml"), &text)
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("kedge.yaml:5: images.targets: "),
        "{message}"
    );
}

#[test]
fn a_zero_body_limit_is_refused() {
    let message = error("serve:\n  bodyLimitBytes: 0\n");
    assert!(
        message.contains("serve.bodyLimitBytes: must be at least 1"),
        "{message}"
    );
}

#[test]
fn a_header_name_with_a_newline_is_refused() {
    let message = error(
        "serve:\n  receivers:\n    - name: local\n      source: distribution\n      auth: {type: header, header: \"X-Token\\nX-Forged\", secretEnv: TOKEN}\n",
    );
    assert!(
        message.contains("serve.receivers[0].auth.header"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
}

/// Strategies, orders, receiver sources and auth types are enums: a wrong
/// value names its line and the values that are allowed.
#[test]
fn an_unknown_strategy_order_source_or_auth_type_names_the_choices() {
    let with_policy = |policy: &str| {
        let text = format!("{BASE}    policy: {policy}\n");
        Config::parse(Path::new("kedge.yaml"), &text)
            .expect_err("refused")
            .to_string()
    };
    let message = with_policy("{strategy: newest}");
    assert!(message.starts_with("kedge.yaml:6: "), "{message}");
    assert!(
        message.contains("newest") && message.contains("newest-build"),
        "{message}"
    );
    let message = with_policy("{strategy: numerical, order: up}");
    assert!(message.starts_with("kedge.yaml:6: "), "{message}");
    assert!(message.contains("up"), "{message}");

    let message = error("serve:\n  receivers:\n    - {name: r, source: nexus, insecure: true}\n");
    assert!(message.starts_with("kedge.yaml:8: "), "{message}");
    assert!(
        message.contains("unknown source \"nexus\"; expected one of distribution"),
        "{message}"
    );
    let message = error(
        "serve:\n  receivers:\n    - name: r\n      source: distribution\n      auth: {type: token, secretEnv: S}\n",
    );
    assert!(message.starts_with("kedge.yaml:10: "), "{message}");
    assert!(message.contains("url-token"), "{message}");
}
