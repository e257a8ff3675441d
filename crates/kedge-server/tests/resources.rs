//! Issue 11, server resources: header time, connections (total and per
//! address), bodies refused before they are read, in-flight body bytes and the
//! shutdown drain are all bounded. Raw TCP, because a well-behaved client
//! cannot misbehave on purpose.

mod common;

use std::time::Duration;

use common::{Running, fast_queue, start};
use kedge_server::{
    ConnectionLimits, ReceiverAuth, RegistryReceiver, RegistrySource, ServerConfig, TrackedImage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "dist-secret";

fn config(limits: ConnectionLimits) -> ServerConfig {
    ServerConfig {
        receivers: vec![RegistryReceiver {
            name: "dist".into(),
            source: RegistrySource::Distribution,
            auth: Some(ReceiverAuth::bearer(TOKEN)),
            insecure: false,
            registry: None,
        }],
        images: vec![TrackedImage {
            alias: "web".into(),
            image: "registry.test:5000/team/web".into(),
            poll_interval: Some(Duration::ZERO),
        }],
        queue: fast_queue(),
        body_limit: 1024,
        limits,
        ..ServerConfig::default()
    }
}

/// Request headers for a registry delivery that declares `length` body bytes.
fn head(length: usize, auth: Option<&str>) -> String {
    let auth = auth.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    format!(
        "POST /webhooks/registry/dist HTTP/1.1\r\nHost: kedge\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\n\r\n"
    )
}

/// What the server sends before closing, read for at most `within`; `None`
/// when the connection is still open and silent after that.
async fn answer(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buffer = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    out.extend_from_slice(&buffer[..n]);
                    if out.windows(4).any(|w| w == b"\r\n\r\n") {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

async fn connect(server: &Running) -> TcpStream {
    TcpStream::connect(server.addr).await.unwrap()
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let mut limits = ConnectionLimits::default();
    limits.header_timeout = Duration::from_secs(1);
    let server = start(config(limits)).await;
    let mut stream = connect(&server).await;
    let request = head(2, Some(TOKEN));
    let mut closed = false;
    // One byte every 200 ms: 8 s for the headers, well past the 1 s deadline.
    for byte in request.as_bytes().iter().take(40) {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !closed {
        closed = answer(&mut stream, Duration::from_secs(5)).await.is_some();
    }
    assert!(closed, "the connection is still open after 8 s of headers");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn connections_beyond_the_per_address_limit_get_503() {
    let mut limits = ConnectionLimits::default();
    limits.max_connections_per_ip = 3;
    let server = start(config(limits)).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(connect(&server).await);
    }
    let mut extra = connect(&server).await;
    let refused = answer(&mut extra, Duration::from_secs(5)).await.unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.contains("too many connections from your address"),
        "{refused}"
    );
    // A closed connection frees its place.
    drop(idle.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect(&server).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: kedge\r\n\r\n")
        .await
        .unwrap();
    let ok = answer(&mut again, Duration::from_secs(5)).await.unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn connections_beyond_the_server_limit_get_503() {
    let mut limits = ConnectionLimits::default();
    limits.max_connections = 2;
    let server = start(config(limits)).await;
    let _idle = [connect(&server).await, connect(&server).await];
    let mut extra = connect(&server).await;
    let refused = answer(&mut extra, Duration::from_secs(5)).await.unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("too many connections"), "{refused}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_any_body() {
    let server = start(config(ConnectionLimits::default())).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(head(10 * 1024 * 1024, Some(TOKEN)).as_bytes())
        .await
        .unwrap();
    let response = answer(&mut stream, Duration::from_secs(5)).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_before_any_body() {
    let server = start(config(ConnectionLimits::default())).await;
    for auth in [None, Some("wrong")] {
        let mut stream = connect(&server).await;
        stream.write_all(head(512, auth).as_bytes()).await.unwrap();
        let response = answer(&mut stream, Duration::from_secs(5)).await;
        let response = response.unwrap_or_else(|| panic!("{auth:?}: waiting for the body"));
        assert!(response.starts_with("HTTP/1.1 401"), "{auth:?}: {response}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bodies_beyond_the_in_flight_budget_get_503() {
    let mut limits = ConnectionLimits::default();
    limits.max_in_flight_body_bytes = 2048;
    let server = start(config(limits)).await;
    // Two senders declare 1 KiB each and send nothing: the budget is taken.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&server).await;
        stream
            .write_all(head(1024, Some(TOKEN)).as_bytes())
            .await
            .unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = connect(&server).await;
    third
        .write_all(head(1024, Some(TOKEN)).as_bytes())
        .await
        .unwrap();
    let response = answer(&mut third, Duration::from_secs(5)).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after"),
        "{response}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_drains_a_half_sent_request_for_a_bounded_time() {
    let mut limits = ConnectionLimits::default();
    limits.drain_timeout = Duration::from_secs(1);
    let server = start(config(limits)).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(head(100, Some(TOKEN)).as_bytes())
        .await
        .unwrap();
    stream.write_all(b"{\"events\":").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.stop()).await;
    stopped
        .expect("shutdown despite the half-sent request")
        .unwrap();
}
