//! Runs the in-memory test GitHub until interrupted, for trying kedge's
//! pull-request mode by hand (the README quickstart).
//!
//! ```text
//! cargo run -p kedge-forge --features test-server --example test-github -- 127.0.0.1:8787 acme/deploy TOKEN
//! ```
//!
//! Then point kedge at `http://127.0.0.1:8787` as its GitHub API URL with that token.

use std::net::SocketAddr;

use kedge_forge::test_server::{TestGitHub, TestGitHubOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:8787").parse()?;
    let repository = args.next().unwrap_or_else(|| "acme/deploy".into());
    let token = args.next().unwrap_or_else(|| "test-token".into());
    let (owner, repo) = repository
        .split_once('/')
        .ok_or("the repository must be OWNER/REPO")?;

    let mut options = TestGitHubOptions::token(owner, repo, &token);
    options.address = address;
    let server = TestGitHub::start(options).await?;
    tracing::info!(api_url = server.api_url(), repository = %repository, "test GitHub serving; Ctrl-C stops it");
    std::future::pending::<()>().await;
    Ok(())
}
