//! Parsing the `WWW-Authenticate` challenge registries answer a 401 with.

/// What a registry asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// HTTP basic authentication on every request.
    Basic,
    /// Get a token from `realm` (Docker Hub, GHCR, Quay, Harbor, distribution with token auth).
    Bearer {
        /// Token service URL.
        realm: String,
        /// Service name to send back.
        service: Option<String>,
    },
    /// A scheme kedge does not speak.
    Unknown(String),
}

impl Challenge {
    /// Parses one challenge; parameters may be quoted or bare, in any order.
    pub(crate) fn parse(header: &str) -> Self {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Self::Basic,
            "bearer" => {
                let params = parse_params(rest);
                let get = |name: &str| {
                    params
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                };
                match get("realm") {
                    Some(realm) => Self::Bearer {
                        realm,
                        service: get("service"),
                    },
                    None => Self::Unknown("Bearer without realm".into()),
                }
            }
            _ => Self::Unknown(scheme.to_owned()),
        }
    }
}

/// Splits `a="x,y",b=z` into pairs, honouring quotes and backslash escapes.
fn parse_params(input: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != ',')));
        }
        params.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_bearer_challenge() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            }
        );
    }

    #[test]
    fn quoted_commas_and_bare_values() {
        let c = Challenge::parse(
            r#"bearer service=ghcr.io, scope="repository:a/b:pull,push", realm="https://ghcr.io/token""#,
        );
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into())
            }
        );
    }

    #[test]
    fn basic_and_unknown() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Challenge::Basic
        );
        assert_eq!(
            Challenge::parse("Negotiate"),
            Challenge::Unknown("Negotiate".into())
        );
        assert!(matches!(
            Challenge::parse("Bearer service=x"),
            Challenge::Unknown(_)
        ));
    }
}
