//! The connection under the HTTP layer. actix-http answers a few requests
//! itself, before any handler or middleware runs: a request head over its
//! 128 KiB buffer or with more than 96 header fields (431), a request it
//! cannot parse (400), a client too slow to send its head (408). It writes
//! those with an empty body and offers no hook. [`ProblemStream`] wraps each
//! accepted TCP stream and gives exactly those answers — an error status with
//! `content-length: 0` — a problem+json body, so every error a client sees
//! carries one; nothing else on the wire is touched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose bodiless error answers are given problem+json bodies.
pub struct ProblemStream<S> {
    inner: S,
    /// Rewritten bytes still to be written, and how many are written.
    pending: Vec<u8>,
    written: usize,
}

impl<S> ProblemStream<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The response heads the HTTP layer writes on its own start with one of these.
const OWN_ANSWERS: [(&[u8], u16, &str, &str); 3] = [
    (
        b"HTTP/1.1 431 ",
        431,
        "headers_too_large",
        "The request's head is larger than 128 KiB or has more than 96 header fields.",
    ),
    (
        b"HTTP/1.1 400 ",
        400,
        "malformed_request",
        "The request is not valid HTTP/1.1.",
    ),
    (
        b"HTTP/1.1 408 ",
        408,
        "request_timeout",
        "The request's head did not arrive in time.",
    ),
];

/// Returns `buf` with its bodiless error answer rewritten, when it starts
/// with one (the HTTP layer writes its own answer as the connection's last,
/// into an emptied buffer; a match anywhere else is left alone), and what
/// follows the answer's head unchanged.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let start = 0;
    for (status_line, status, code, detail) in OWN_ANSWERS {
        if !buf.starts_with(status_line) {
            continue;
        }
        let head_end = start + find(&buf[start..], b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&buf[start..head_end]).to_ascii_lowercase();
        if !head.contains("\r\ncontent-length: 0\r\n") || head.contains("\r\ncontent-type:") {
            continue;
        }
        let first_line_end = start + find(&buf[start..], b"\r\n")?;
        let title = String::from_utf8_lossy(&buf[start + 13..first_line_end]).into_owned();
        let body = json!({
            "type": format!("urn:rapport:problem:{code}"),
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        })
        .to_string();
        let mut out = Vec::with_capacity(buf.len() + body.len() + 128);
        out.extend_from_slice(&buf[..first_line_end + 2]);
        out.extend_from_slice(b"content-type: application/problem+json\r\n");
        // The old head's other fields, without its zero length.
        for line in buf[first_line_end + 2..head_end - 2].split(|b| *b == b'\n') {
            if line.is_empty() || line.to_ascii_lowercase().starts_with(b"content-length:") {
                continue;
            }
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(&buf[head_end..]);
        return Some(out);
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<S: AsyncWrite + Unpin> ProblemStream<S> {
    /// Writes out what a rewrite left pending.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        // Only an error status line can start a rewrite; most writes skip the search.
        if buf.starts_with(b"HTTP/1.1 4")
            && let Some(rewritten) = rewrite(buf)
        {
            self.pending = rewritten;
            self.written = 0;
            // The caller's bytes are taken; the rewrite goes out now or at the next write or flush.
            if let Poll::Ready(Err(e)) = self.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn a_bodiless_431_gets_a_problem_body() {
        let wire = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(wire).expect("rewritten")).expect("utf-8");
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        let (head, body) = out.split_once("\r\n\r\n").expect("head");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(problem["status"], 431);
        assert_eq!(problem["code"], "headers_too_large");
    }

    #[test]
    fn answers_with_bodies_are_left_alone() {
        let wire = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(rewrite(wire).is_none());
        assert!(rewrite(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        // Only an answer at the start of a write is the HTTP layer's own.
        assert!(rewrite(b"okHTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
