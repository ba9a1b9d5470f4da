//! The binary as the README uses it: a token from `rapport token` works
//! against `rapport serve` on the default SQLite database, and SIGTERM stops
//! the server cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn rapport(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rapport"));
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("RAPPORT__AUTH__JWT_SECRET")
        .env_remove("RUST_LOG")
        .env("RAPPORT__LOG__FORMAT", "json");
    cmd
}

#[tokio::test]
async fn the_quick_start_works_and_sigterm_stops_the_server() {
    let dir = std::env::temp_dir().join(format!("rapport-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");

    let out = rapport(&dir)
        .args(["token", "--role", "admin", "--ttl", "10m"])
        .output()
        .expect("token");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf8").trim().to_owned();
    let secret = dir.join("rapport.db.jwt-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&secret).expect("secret file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let mut child = rapport(&dir)
        .env("RAPPORT__SERVER__ADDR", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let port = loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("server log line");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "listening" {
            break v["fields"]["port"].as_u64().expect("port");
        }
    };
    let client = reqwest::Client::new();
    let created = client
        .post(format!("http://127.0.0.1:{port}/api/v1/customers"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Quick Start"}))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    let request_id = created
        .headers()
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .expect("ascii")
        .to_owned();
    let logged = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(5)).ok())
        .any(|line| line.contains(&request_id) && line.contains("request finished"));
    assert!(logged, "the request's log line carries its request id");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(code) = child.try_wait().expect("wait") {
            exited = Some(code);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let code = exited.expect("server stops within 10 s of SIGTERM");
    assert!(code.success(), "exit status {code:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
