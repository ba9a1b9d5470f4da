//! A TCP forwarder between an instance and PostgreSQL that a test can take
//! down, cut, or turn into a black hole, as a network or a restart would.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

const UP: u8 = 0;
const DOWN: u8 = 1;
const BLACKHOLE: u8 = 2;

struct State {
    mode: AtomicU8,
    connections: Mutex<Vec<AbortHandle>>,
}

/// A running forwarder.
pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
}

impl Proxy {
    /// Forwards a free local port to `target` (`host:port`).
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(State {
            mode: AtomicU8::new(UP),
            connections: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mode = shared.mode.load(Ordering::SeqCst);
                if mode == DOWN {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    let mut client = client;
                    if mode == BLACKHOLE {
                        // Accept, then never answer.
                        std::future::pending::<()>().await;
                    }
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                shared.connections.lock().expect("lock").push(task.abort_handle());
            }
        });
        Self { port, state }
    }

    /// `url` (a PostgreSQL URL) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (start, end) = host_port(url);
        format!("{}127.0.0.1:{}{}", &url[..start], self.port, &url[end..])
    }

    /// The `host:port` a PostgreSQL URL points at.
    pub fn target_of(url: &str) -> String {
        let (start, end) = host_port(url);
        url[start..end].to_owned()
    }

    /// Breaks every open connection (both ends see them close), as a
    /// restart of the database does; new connections still go through.
    pub fn cut(&self) {
        for conn in self.state.connections.lock().expect("lock").drain(..) {
            conn.abort();
        }
    }

    /// Breaks every connection and closes new ones at once: a database that
    /// is down.
    pub fn down(&self) {
        self.state.mode.store(DOWN, Ordering::SeqCst);
        self.cut();
    }

    /// Breaks every connection and lets new ones hang unanswered: a network
    /// that drops packets.
    pub fn black_hole(&self) {
        self.state.mode.store(BLACKHOLE, Ordering::SeqCst);
        self.cut();
    }

    /// Forwards again.
    pub fn up(&self) {
        self.state.mode.store(UP, Ordering::SeqCst);
        self.cut();
    }
}

/// Where a URL's `host:port` starts and ends (after any `user@`).
fn host_port(url: &str) -> (usize, usize) {
    let scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[scheme..].find('/').map_or(url.len(), |i| scheme + i);
    let start = url[scheme..end].rfind('@').map_or(scheme, |i| scheme + i + 1);
    (start, end)
}
