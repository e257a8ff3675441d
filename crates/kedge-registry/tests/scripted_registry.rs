//! Behaviour the local distribution registry does not produce on demand: opaque
//! `Link` pagination, 429 with `Retry-After`, 5xx storms, and the bearer-token
//! challenge of Docker Hub and GHCR. A scripted HTTP server answers and records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use kedge_registry::{
    ClientConfig, CredentialStore, Credentials, ImageName, RegistryClient, RegistryError,
    RegistrySettings,
};

/// What the scripted server saw.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, Option<String>)>,
    tag_calls: usize,
}

#[derive(Clone)]
struct Script {
    seen: Arc<Mutex<Seen>>,
    /// Statuses to answer tag-list calls with before answering normally.
    failures: Arc<Vec<(StatusCode, Option<&'static str>)>>,
    base: String,
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("127.0.0.1:{}", addr.port())
}

fn client(host: &str, credentials: Credentials, max_retries: u32) -> RegistryClient {
    let mut store = CredentialStore::new();
    store.insert(host, credentials);
    RegistryClient::new(ClientConfig {
        registries: vec![(
            host.to_owned(),
            RegistrySettings {
                insecure: true,
                max_retries,
                initial_backoff: Duration::from_millis(10),
                ..RegistrySettings::default()
            },
        )],
        credentials: store,
        ..ClientConfig::default()
    })
}

async fn paged_tags(
    State(script): State<Script>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let call = {
        let mut seen = script.seen.lock().unwrap();
        seen.requests
            .push((format!("tags {:?}", query.get("page")), auth));
        seen.tag_calls += 1;
        seen.tag_calls
    };
    if let Some((status, retry_after)) = script.failures.get(call - 1) {
        let mut response = (*status, "slow down").into_response();
        if let Some(value) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, value.parse().unwrap());
        }
        return response;
    }
    // Three pages behind opaque cursors, the last link absolute, as GHCR and ECR do.
    let (tags, next) = match query.get("page").map(String::as_str) {
        None => (
            vec!["3.0.0", "1.0.0"],
            Some("/v2/team/app/tags/list?page=opaque-Zm9v".to_owned()),
        ),
        Some("opaque-Zm9v") => (
            vec!["2.0.0"],
            Some(format!(
                "http://{}/v2/team/app/tags/list?page=last",
                script.base
            )),
        ),
        Some("last") => (vec!["0.9.0"], None),
        Some(other) => panic!("unexpected page {other}"),
    };
    let mut response =
        axum::Json(serde_json::json!({"name": "team/app", "tags": tags})).into_response();
    if let Some(next) = next {
        response.headers_mut().insert(
            header::LINK,
            format!("<{next}>; rel=\"next\"").parse().unwrap(),
        );
    }
    response
}

async fn start(failures: Vec<(StatusCode, Option<&'static str>)>) -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    // The server must know its own address for absolute links: bind first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let script = Script {
        seen: seen.clone(),
        failures: Arc::new(failures),
        base: host.clone(),
    };
    let router = Router::new()
        .route("/v2/team/app/tags/list", get(paged_tags))
        .with_state(script);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (host, seen)
}

fn image(host: &str) -> ImageName {
    format!("{host}/team/app").parse().unwrap()
}

#[tokio::test]
async fn follows_opaque_and_absolute_link_headers_to_the_last_page() {
    let (host, seen) = start(vec![]).await;
    let tags = client(&host, Credentials::Anonymous, 0)
        .list_tags(&image(&host))
        .await
        .unwrap();
    assert_eq!(tags, ["3.0.0", "1.0.0", "2.0.0", "0.9.0"]);
    let pages: Vec<String> = seen
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|r| r.0.clone())
        .collect();
    assert_eq!(
        pages,
        [
            "tags None",
            "tags Some(\"opaque-Zm9v\")",
            "tags Some(\"last\")"
        ]
    );
}

#[tokio::test]
async fn waits_as_long_as_retry_after_says_on_429_and_503() {
    let (host, seen) = start(vec![
        (StatusCode::TOO_MANY_REQUESTS, Some("1")),
        (StatusCode::SERVICE_UNAVAILABLE, Some("1")),
    ])
    .await;
    let started = Instant::now();
    let tags = client(&host, Credentials::Anonymous, 3)
        .list_tags(&image(&host))
        .await
        .unwrap();
    assert_eq!(tags.len(), 4);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two Retry-After: 1 answers mean at least two seconds of waiting"
    );
    assert_eq!(seen.lock().unwrap().tag_calls, 5, "2 refused + 3 pages");
}

#[tokio::test]
async fn a_retry_after_beyond_max_backoff_is_shortened_to_it() {
    let (host, seen) = start(vec![(StatusCode::TOO_MANY_REQUESTS, Some("3600"))]).await;
    let client = RegistryClient::new(ClientConfig {
        registries: vec![(
            host.clone(),
            RegistrySettings {
                insecure: true,
                max_retries: 1,
                max_backoff: Duration::from_millis(300),
                ..RegistrySettings::default()
            },
        )],
        ..ClientConfig::default()
    });
    let started = Instant::now();
    let tags = client.list_tags(&image(&host)).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(tags.len(), 4);
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(10),
        "an hour asked, 300 ms allowed, {waited:?} waited"
    );
    assert_eq!(seen.lock().unwrap().tag_calls, 4, "1 refused + 3 pages");
}

#[tokio::test]
async fn gives_up_after_bounded_retries_naming_registry_and_repository() {
    let storm = vec![(StatusCode::BAD_GATEWAY, None); 10];
    let (host, seen) = start(storm).await;
    let err = client(&host, Credentials::Anonymous, 3)
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::RetriesExhausted {
                attempts: 4,
                status: 502,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&host) && message.contains("team/app"),
        "{message}"
    );
    assert_eq!(seen.lock().unwrap().tag_calls, 4);
}

/// A registry that wants a bearer token from its own token service (GHCR style).
#[tokio::test]
async fn bearer_challenge_fetches_a_scoped_token_with_basic_credentials() {
    /// Scope asked for, and the Authorization header sent with it.
    type TokenRequest = (String, Option<String>);
    #[derive(Clone, Default)]
    struct Tokens(Arc<Mutex<Vec<TokenRequest>>>);

    async fn token(
        State(tokens): State<Tokens>,
        Query(query): Query<HashMap<String, String>>,
        headers: HeaderMap,
    ) -> Response {
        let auth = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let scope = format!("{} {}", query["service"], query["scope"]);
        tokens.0.lock().unwrap().push((scope, auth));
        axum::Json(serde_json::json!({"token": "t0ken", "expires_in": 300})).into_response()
    }

    async fn tags(headers: HeaderMap) -> Response {
        let authorised = headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v == "Bearer t0ken");
        if !authorised {
            let realm = "Bearer realm=\"http://{HOST}/token\",service=\"scripted\",scope=\"repository:team/app:pull\"";
            let host = headers[header::HOST].to_str().unwrap();
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, realm.replace("{HOST}", host))],
            )
                .into_response();
        }
        axum::Json(serde_json::json!({"tags": ["1.0.0"]})).into_response()
    }

    let tokens = Tokens::default();
    let router = Router::new()
        .route("/token", get(token))
        .route("/v2/team/app/tags/list", get(tags))
        .with_state(tokens.clone());
    let host = serve(router).await;
    let client = client(
        &host,
        Credentials::Basic {
            username: "bot".into(),
            password: "pat".into(),
        },
        0,
    );
    assert_eq!(client.list_tags(&image(&host)).await.unwrap(), ["1.0.0"]);
    assert_eq!(client.list_tags(&image(&host)).await.unwrap(), ["1.0.0"]);

    let asked = tokens.0.lock().unwrap().clone();
    assert_eq!(
        asked.len(),
        1,
        "the token is cached for its scope: {asked:?}"
    );
    assert_eq!(asked[0].0, "scripted repository:team/app:pull");
    assert_eq!(asked[0].1.as_deref(), Some("Basic Ym90OnBhdA=="), "bot:pat");
}

#[tokio::test]
async fn a_pagination_link_to_another_origin_is_not_followed_with_credentials() {
    async fn tags() -> Response {
        let mut response = axum::Json(serde_json::json!({"tags": ["1.0.0"]})).into_response();
        response.headers_mut().insert(
            header::LINK,
            "<http://collector.invalid/v2/team/app/tags/list?page=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        response
    }
    let host = serve(Router::new().route("/v2/team/app/tags/list", get(tags))).await;
    let secret = Credentials::Basic {
        username: "bot".into(),
        password: "pat".into(),
    };
    let err = client(&host, secret, 0)
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("another origin"), "{err}");
}

/// A client for the hostile-server tests below, with small limits.
fn limited_client(host: &str, settings: RegistrySettings) -> RegistryClient {
    RegistryClient::new(ClientConfig {
        registries: vec![(
            host.to_owned(),
            RegistrySettings {
                insecure: true,
                max_retries: 0,
                ..settings
            },
        )],
        ..ClientConfig::default()
    })
}

/// Issue 11: a 1 GB tag list aborted the process. The body is streamed without
/// a length and generated only as fast as it is read; kedge stops at its cap.
#[tokio::test]
async fn a_huge_tag_list_is_refused_at_the_body_cap_without_being_read() {
    let produced = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = produced.clone();
    let tags = move || {
        let counter = counter.clone();
        async move {
            let chunk = bytes::Bytes::from(format!("\"{}\",", "a".repeat(65_530)));
            let head = futures::stream::once(async {
                Ok::<_, std::io::Error>(bytes::Bytes::from("{\"tags\":["))
            });
            // 1 GiB in 64 KiB chunks, made lazily.
            let body = futures::stream::iter(0..16_384).map(move |_| {
                counter.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
                Ok(chunk.clone())
            });
            axum::body::Body::from_stream(head.chain(body))
        }
    };
    let host = serve(Router::new().route("/v2/team/app/tags/list", get(tags))).await;
    let settings = RegistrySettings {
        max_body_bytes: 1024 * 1024,
        ..RegistrySettings::default()
    };
    let err = limited_client(&host, settings)
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::BodyTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("maxBodyBytes"), "{err}");
    let sent = produced.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent < 64 * 1024 * 1024,
        "the server produced {sent} bytes before kedge stopped"
    );
}

/// Endless distinct pages of 100 tags each; `seen` counts the requests.
async fn endless_pages(delay: Duration) -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let counter = seen.clone();
    let page = move |Query(query): Query<HashMap<String, String>>| {
        let counter = counter.clone();
        async move {
            counter.lock().unwrap().tag_calls += 1;
            tokio::time::sleep(delay).await;
            let n: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
            let tags: Vec<String> = (0..100).map(|i| format!("{n}.{i}.0")).collect();
            let mut response = axum::Json(serde_json::json!({"tags": tags})).into_response();
            let next = format!("</v2/team/app/tags/list?page={}>; rel=\"next\"", n + 1);
            response
                .headers_mut()
                .insert(header::LINK, next.parse().unwrap());
            response
        }
    };
    let host = serve(Router::new().route("/v2/team/app/tags/list", get(page))).await;
    (host, seen)
}

#[tokio::test]
async fn more_tags_than_the_cap_is_a_clear_error_after_few_pages() {
    let (host, seen) = endless_pages(Duration::ZERO).await;
    let settings = RegistrySettings {
        max_tags: 250,
        ..RegistrySettings::default()
    };
    let err = limited_client(&host, settings)
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::TooManyTags { limit: 250, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("more than 250 tags") && message.contains("maxTags"),
        "{message}"
    );
    assert_eq!(
        seen.lock().unwrap().tag_calls,
        3,
        "two full pages, the third overflows"
    );
}

/// Issue 11: a registry answering each page slowly had no overall deadline.
#[tokio::test]
async fn slow_endless_pages_stop_at_the_discovery_deadline() {
    let (host, seen) = endless_pages(Duration::from_millis(200)).await;
    let settings = RegistrySettings {
        discovery_deadline: Duration::from_secs(1),
        ..RegistrySettings::default()
    };
    let err = limited_client(&host, settings)
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Deadline { .. }), "{err:?}");
    assert!(err.to_string().contains("deadline"), "{err}");
    let calls = seen.lock().unwrap().tag_calls;
    assert!(
        (1..=6).contains(&calls),
        "{calls} pages in one second of 200 ms pages"
    );
}

/// Issue 11: a Link cycle A→B→A made 10,000 requests.
#[tokio::test]
async fn a_link_cycle_is_detected_on_its_first_repeat() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let counter = seen.clone();
    let page = move |Query(query): Query<HashMap<String, String>>| {
        let counter = counter.clone();
        async move {
            counter.lock().unwrap().tag_calls += 1;
            let (tags, next) = match query.get("page").map(String::as_str) {
                Some("b") => (["b1"], "a"),
                _ => (["a1"], "b"),
            };
            let mut response = axum::Json(serde_json::json!({"tags": tags})).into_response();
            let link = format!("</v2/team/app/tags/list?page={next}>; rel=\"next\"");
            response
                .headers_mut()
                .insert(header::LINK, link.parse().unwrap());
            response
        }
    };
    let host = serve(Router::new().route("/v2/team/app/tags/list", get(page))).await;
    let err = limited_client(&host, RegistrySettings::default())
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::PaginationLoop { pages: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("page=b"), "{err}");
    assert_eq!(
        seen.lock().unwrap().tag_calls,
        3,
        "first page, b, a: then b again is a loop"
    );
}

/// A registry whose tag list redirects to another server, which answers with its own tags.
async fn redirecting_registry() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let recorder = seen.clone();
    let other = move |headers: HeaderMap| {
        let recorder = recorder.clone();
        async move {
            let auth = headers
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap().to_owned());
            recorder
                .lock()
                .unwrap()
                .requests
                .push(("other".into(), auth));
            axum::Json(serde_json::json!({"tags": ["9.9.9-from-elsewhere"]})).into_response()
        }
    };
    let other_host = serve(Router::new().route("/v2/team/app/tags/list", get(other))).await;
    let redirect = move || {
        let location = format!("http://{other_host}/v2/team/app/tags/list");
        async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response()
        }
    };
    let host = serve(Router::new().route("/v2/team/app/tags/list", get(redirect))).await;
    (host, seen)
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_unless_allowed() {
    let (host, seen) = redirecting_registry().await;
    let secret = Credentials::Bearer("s3cret-token".into());
    let err = client(&host, secret.clone(), 0)
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::CrossOriginRedirect { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("allowCrossOriginRedirects"),
        "{err}"
    );
    assert!(
        seen.lock().unwrap().requests.is_empty(),
        "the other server was not asked"
    );

    let mut store = CredentialStore::new();
    store.insert(&host, secret);
    let allowing = RegistryClient::new(ClientConfig {
        registries: vec![(
            host.clone(),
            RegistrySettings {
                insecure: true,
                allow_cross_origin_redirects: true,
                ..RegistrySettings::default()
            },
        )],
        credentials: store,
        ..ClientConfig::default()
    });
    let tags = allowing.list_tags(&image(&host)).await.unwrap();
    assert_eq!(tags, ["9.9.9-from-elsewhere"]);
    let requests = seen.lock().unwrap().requests.clone();
    assert_eq!(
        requests,
        [("other".to_owned(), None)],
        "credentials stay with the registry"
    );
}

/// Issue 11: a tag with a newline or terminal escapes went into a manifest and a commit title.
#[tokio::test]
async fn tags_breaking_the_oci_rules_are_dropped() {
    async fn tags() -> Response {
        let long = "x".repeat(129);
        axum::Json(serde_json::json!({
            "tags": ["1.0.0", "1.0.1\nInjected: line", "\u{1b}[2J2.0.0", ".hidden", long, "v1_ok-2.x"]
        }))
        .into_response()
    }
    let host = serve(Router::new().route("/v2/team/app/tags/list", get(tags))).await;
    let tags = limited_client(&host, RegistrySettings::default())
        .list_tags(&image(&host))
        .await
        .unwrap();
    assert_eq!(tags, ["1.0.0", "v1_ok-2.x"]);
}

/// Issue 11: credentials in URLs were printed verbatim in errors.
#[tokio::test]
async fn credentials_in_a_link_url_never_reach_the_error_message() {
    async fn page(Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
        if query.contains_key("page") {
            return (StatusCode::BAD_REQUEST, "no \u{1b}[31mred\u{1b}[0m here").into_response();
        }
        let host = headers[header::HOST].to_str().unwrap();
        let link =
            format!("<http://bot:pa%2Fss@{host}/v2/team/app/tags/list?page=2>; rel=\"next\"");
        let mut response = axum::Json(serde_json::json!({"tags": ["1.0.0"]})).into_response();
        response
            .headers_mut()
            .insert(header::LINK, link.parse().unwrap());
        response
    }
    let host = serve(Router::new().route("/v2/team/app/tags/list", get(page))).await;
    let err = limited_client(&host, RegistrySettings::default())
        .list_tags(&image(&host))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, RegistryError::Status { status: 400, .. }),
        "{err:?}"
    );
    assert!(
        !message.contains("pa%2Fss") && !message.contains("bot:"),
        "{message}"
    );
    assert!(message.contains("http://bot@127.0.0.1"), "{message}");
    assert!(
        !message.contains('\u{1b}'),
        "the body is escaped: {message:?}"
    );
}
