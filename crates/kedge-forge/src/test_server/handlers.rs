//! The test server's routes: GitHub's documented pull request, label, comment
//! and installation token endpoints, and the middleware that records requests,
//! plays scripted rate limits and checks the `Authorization` header.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{OriginalUri, Path, Query, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::model::{
    IssuedToken, Scripted, State, StoredComment, StoredPullRequest, error_body, validation_body,
};
use super::{RateLimitAnswer, RecordedRequest, TestAuth};

pub(super) type Shared = Arc<Mutex<State>>;

/// Locks the state; a panicked handler must not hide later requests.
pub(super) fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One route a line, below `prefix` (empty, or `/api/v3` like GitHub Enterprise Server).
pub(super) fn router(state: Shared, prefix: &str) -> Router {
    let routes = Router::new()
        .route(
            "/repos/{owner}/{repo}/pulls",
            get(list_pulls).post(create_pull),
        )
        .route("/repos/{owner}/{repo}/pulls/{number}", patch(update_pull))
        .route(
            "/repos/{owner}/{repo}/issues/{number}/labels",
            post(add_labels),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list_comments).post(add_comment),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            patch(update_comment),
        )
        .route("/app/installations/{id}/access_tokens", post(access_token))
        .with_state(state.clone());
    let app = if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(prefix, routes)
    };
    app.layer(from_fn_with_state(state, record_limit_and_authorize))
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn not_found() -> Response {
    answer(StatusCode::NOT_FOUND, error_body("Not Found"))
}

/// Reads a JSON body whatever its `Content-Type`, as GitHub does.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

/// GitHub's answer to a body that is not the JSON it expects.
fn bad_json() -> Response {
    answer(StatusCode::BAD_REQUEST, error_body("Problems parsing JSON"))
}

/// Records the request, then answers a scripted rate limit or a missing or
/// wrong `Authorization` header before the route sees the request.
async fn record_limit_and_authorize(
    AxumState(state): AxumState<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, 1 << 20).await else {
        return answer(StatusCode::BAD_REQUEST, error_body("Body too large"));
    };
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let refusal = {
        let mut state = lock(&state);
        let elapsed = state.started.elapsed();
        state.requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            authorization: authorization.clone(),
            body: serde_json::from_slice(&bytes).ok(),
            elapsed,
        });
        match state.scripted.pop_front() {
            Some(Scripted::RateLimit(limit)) => Some(rate_limit_response(&limit)),
            Some(Scripted::Status(status)) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                let message = status.canonical_reason().unwrap_or("Server Error");
                Some(answer(status, error_body(message)))
            }
            None => {
                let path = parts.uri.path();
                let route = path.strip_prefix(&state.api_prefix).unwrap_or(path);
                authorize(&state, route, authorization.as_deref())
            }
        }
    };
    match refusal {
        Some(response) => response,
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }
}

/// The documented shapes of GitHub's primary and secondary rate-limit answers.
fn rate_limit_response(limit: &RateLimitAnswer) -> Response {
    let now = Timestamp::now().as_second();
    let (status, headers, message): (u16, Vec<(&str, String)>, &str) = match limit {
        RateLimitAnswer::Secondary {
            status,
            retry_after,
        } => (
            *status,
            vec![
                ("retry-after", retry_after.to_string()),
                ("x-ratelimit-remaining", "4990".into()),
            ],
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        ),
        RateLimitAnswer::SecondaryWithoutHeaders { status } => (
            *status,
            vec![],
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        ),
        RateLimitAnswer::Primary {
            status,
            reset_after,
        } => (
            *status,
            vec![
                ("x-ratelimit-limit", "5000".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-used", "5000".into()),
                ("x-ratelimit-resource", "core".into()),
                (
                    "x-ratelimit-reset",
                    (now + reset_after.as_secs() as i64).to_string(),
                ),
            ],
            "API rate limit exceeded for installation ID 1.",
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = answer(status, error_body(message));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// `None` when the request may go on; GitHub's 401 answer otherwise.
fn authorize(state: &State, path: &str, authorization: Option<&str>) -> Option<Response> {
    let token = authorization.and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("token "))
    });
    let Some(token) = token else {
        return Some(answer(
            StatusCode::UNAUTHORIZED,
            error_body("Requires authentication"),
        ));
    };
    if path.starts_with("/app/") {
        return match &state.auth {
            TestAuth::App {
                app_id,
                public_key_pem,
                ..
            } => super::jwt::verify(token, *app_id, public_key_pem)
                .err()
                .map(|reason| answer(StatusCode::UNAUTHORIZED, error_body(&reason))),
            TestAuth::Token(_) => Some(answer(
                StatusCode::UNAUTHORIZED,
                error_body("A JSON web token could not be decoded"),
            )),
        };
    }
    if state.token_is_valid(token) {
        None
    } else {
        Some(answer(
            StatusCode::UNAUTHORIZED,
            error_body("Bad credentials"),
        ))
    }
}

/// Query of `GET /repos/{o}/{r}/pulls`.
#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    head: Option<String>,
    base: Option<String>,
    per_page: Option<usize>,
    page: Option<usize>,
}

fn is_this_repo(state: &State, owner: &str, repo: &str) -> bool {
    owner.eq_ignore_ascii_case(&state.owner) && repo.eq_ignore_ascii_case(&state.repo)
}

/// `GET /repos/{owner}/{repo}/pulls`: newest first, paginated with a `Link` header.
async fn list_pulls(
    AxumState(state): AxumState<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let state = lock(&state);
    if !is_this_repo(&state, &owner, &repo) {
        return not_found();
    }
    let wanted_state = query.state.as_deref().unwrap_or("open");
    let mut matching: Vec<&StoredPullRequest> = state
        .pull_requests
        .iter()
        .filter(|pr| match wanted_state {
            "all" => true,
            "closed" => !pr.open,
            _ => pr.open,
        })
        .filter(|pr| query.base.as_ref().is_none_or(|b| &pr.base_ref == b))
        .filter(|pr| {
            query.head.as_ref().is_none_or(|h| match h.split_once(':') {
                Some((o, r)) => pr.head_owner.eq_ignore_ascii_case(o) && pr.head_ref == r,
                None => pr.head_owner.eq_ignore_ascii_case(h),
            })
        })
        .collect();
    matching.sort_by_key(|pr| std::cmp::Reverse(pr.number));
    let per_page = query.per_page.unwrap_or(30).clamp(1, state.max_page_size);
    let page = query.page.unwrap_or(1).max(1);
    let last = matching.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|pr| state.pull_request_json(pr))
        .collect();
    let mut response = answer(StatusCode::OK, Value::Array(items));
    if let Some(link) = link_header(&state.base_url, &uri, page, last) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// GitHub's `Link` header: `next` and `last` while there are more pages,
/// `prev` and `first` after the first one.
fn link_header(base_url: &str, uri: &Uri, page: usize, last: usize) -> Option<HeaderValue> {
    let others: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .collect();
    let url = |n: usize| {
        let mut query = others.clone();
        let page = format!("page={n}");
        query.push(&page);
        format!("<{base_url}{}?{}>", uri.path(), query.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
        links.push(format!("{}; rel=\"first\"", url(1)));
    }
    (!links.is_empty())
        .then(|| HeaderValue::from_str(&links.join(", ")).ok())
        .flatten()
}

/// Body of `POST /repos/{o}/{r}/pulls`.
#[derive(Deserialize)]
struct CreateBody {
    title: Option<String>,
    head: Option<String>,
    base: Option<String>,
    body: Option<String>,
    #[serde(default)]
    draft: bool,
}

fn missing_field(field: &str) -> Response {
    answer(
        StatusCode::UNPROCESSABLE_ENTITY,
        validation_body(
            json!({"resource": "PullRequest", "field": field, "code": "missing_field"}),
        ),
    )
}

/// `POST /repos/{owner}/{repo}/pulls`: 201 with the pull request, or 422.
async fn create_pull(
    AxumState(state): AxumState<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(body) = parse::<CreateBody>(&body) else {
        return bad_json();
    };
    let mut state = lock(&state);
    if !is_this_repo(&state, &owner, &repo) {
        return not_found();
    }
    let (Some(title), Some(head), Some(base)) = (body.title, body.head, body.base) else {
        return missing_field("title, head or base");
    };
    let (head_owner, head_ref) = match head.split_once(':') {
        Some((o, r)) => (o.to_owned(), r.to_owned()),
        None => (state.owner.clone(), head),
    };
    let exists = state.pull_requests.iter().any(|pr| {
        pr.open && pr.head_ref == head_ref && pr.base_ref == base && pr.head_owner == head_owner
    });
    if exists {
        let message = format!("A pull request already exists for {head_owner}:{head_ref}.");
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            validation_body(
                json!({"resource": "PullRequest", "code": "custom", "message": message}),
            ),
        );
    }
    let now = Timestamp::now();
    let pr = StoredPullRequest {
        number: state.next_number(),
        title,
        body: body.body,
        head_owner,
        head_ref,
        base_ref: base,
        open: true,
        draft: body.draft,
        labels: Vec::new(),
        comments: Vec::new(),
        created_at: now,
        updated_at: now,
        closed_at: None,
    };
    let json = state.pull_request_json(&pr);
    state.pull_requests.push(pr);
    answer(StatusCode::CREATED, json)
}

/// Body of `PATCH /repos/{o}/{r}/pulls/{n}`.
#[derive(Deserialize)]
struct UpdateBody {
    title: Option<String>,
    body: Option<String>,
    state: Option<String>,
    base: Option<String>,
}

/// `PATCH /repos/{owner}/{repo}/pulls/{number}`: 200 with the pull request.
async fn update_pull(
    AxumState(state): AxumState<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    let Some(update) = parse::<UpdateBody>(&body) else {
        return bad_json();
    };
    let mut state = lock(&state);
    if !is_this_repo(&state, &owner, &repo) {
        return not_found();
    }
    let Some(pr) = state.find_mut(number) else {
        return not_found();
    };
    let now = Timestamp::now();
    if let Some(title) = update.title {
        pr.title = title;
    }
    if let Some(body) = update.body {
        pr.body = Some(body);
    }
    if let Some(base) = update.base {
        pr.base_ref = base;
    }
    match update.state.as_deref() {
        Some("closed") if pr.open => (pr.open, pr.closed_at) = (false, Some(now)),
        Some("open") if !pr.open => (pr.open, pr.closed_at) = (true, None),
        _ => {}
    }
    pr.updated_at = now;
    let pr = pr.clone();
    answer(StatusCode::OK, state.pull_request_json(&pr))
}

/// Body of `POST /repos/{o}/{r}/issues/{n}/labels`: `{"labels": [..]}` or a bare array.
#[derive(Deserialize)]
#[serde(untagged)]
enum LabelsBody {
    Object { labels: Vec<String> },
    Array(Vec<String>),
}

/// `POST /repos/{owner}/{repo}/issues/{number}/labels`: 200 with all the labels.
async fn add_labels(
    AxumState(state): AxumState<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    let Some(body) = parse::<LabelsBody>(&body) else {
        return bad_json();
    };
    let mut state = lock(&state);
    if !is_this_repo(&state, &owner, &repo) {
        return not_found();
    }
    let (LabelsBody::Object { labels } | LabelsBody::Array(labels)) = body;
    let Some(pr) = state.find_mut(number) else {
        return not_found();
    };
    for label in labels {
        if !pr.labels.contains(&label) {
            pr.labels.push(label);
        }
    }
    let names = pr.labels.clone();
    let labels: Vec<Value> = names.iter().map(|l| state.label(l)).collect();
    answer(StatusCode::OK, Value::Array(labels))
}

/// Body of `POST /repos/{o}/{r}/issues/{n}/comments`.
#[derive(Deserialize)]
struct CommentBody {
    body: String,
}

/// `POST /repos/{owner}/{repo}/issues/{number}/comments`: 201 with the comment.
async fn add_comment(
    AxumState(state): AxumState<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    let Some(comment) = parse::<CommentBody>(&body) else {
        return bad_json();
    };
    let mut state = lock(&state);
    if !is_this_repo(&state, &owner, &repo) {
        return not_found();
    }
    if state.find_mut(number).is_none() {
        return not_found();
    }
    let id = state.new_comment_id();
    let Some(pr) = state.find_mut(number) else {
        return not_found();
    };
    pr.comments.push(StoredComment {
        id,
        body: comment.body.clone(),
    });
    let json = state.comment_json(number, id, &comment.body);
    answer(StatusCode::CREATED, json)
}

/// `GET /repos/{owner}/{repo}/issues/{number}/comments`: 200 with every
/// comment, oldest first (one page: the tests never write 30).
async fn list_comments(
    AxumState(state): AxumState<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
) -> Response {
    let state = lock(&state);
    if !is_this_repo(&state, &owner, &repo) {
        return not_found();
    }
    let Some(pr) = state.pull_requests.iter().find(|pr| pr.number == number) else {
        return not_found();
    };
    let comments: Vec<Value> = pr
        .comments
        .iter()
        .map(|c| state.comment_json(number, c.id, &c.body))
        .collect();
    answer(StatusCode::OK, Value::Array(comments))
}

/// `PATCH /repos/{owner}/{repo}/issues/comments/{id}`: 200 with the comment.
async fn update_comment(
    AxumState(state): AxumState<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    body: Bytes,
) -> Response {
    let Some(comment) = parse::<CommentBody>(&body) else {
        return bad_json();
    };
    let mut state = lock(&state);
    if !is_this_repo(&state, &owner, &repo) {
        return not_found();
    }
    let found = state.pull_requests.iter_mut().find_map(|pr| {
        let number = pr.number;
        pr.comments
            .iter_mut()
            .find(|c| c.id == id)
            .map(|c| (number, c))
    });
    let Some((number, stored)) = found else {
        return not_found();
    };
    stored.body = comment.body.clone();
    let json = state.comment_json(number, id, &comment.body);
    answer(StatusCode::OK, json)
}

/// `POST /app/installations/{id}/access_tokens`: 201 with a new installation token.
async fn access_token(AxumState(state): AxumState<Shared>, Path(id): Path<u64>) -> Response {
    let mut state = lock(&state);
    let TestAuth::App {
        installation_id, ..
    } = state.auth
    else {
        return not_found();
    };
    if id != installation_id {
        return not_found();
    }
    let serial = state.issued.len() + 1;
    let lifetime = state.token_lifetime;
    let expires_at = Timestamp::now() + Duration::from_secs(lifetime.as_secs());
    let token = format!("ghs_kedgetest{serial:04}");
    state.issued.push(IssuedToken {
        token: token.clone(),
        expires_at,
    });
    answer(
        StatusCode::CREATED,
        json!({
            "token": token,
            "expires_at": Timestamp::from_second(expires_at.as_second()).unwrap_or(expires_at).to_string(),
            "permissions": {"contents": "write", "issues": "write", "metadata": "read", "pull_requests": "write"},
            "repository_selection": "selected",
        }),
    )
}
