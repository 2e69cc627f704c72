//! Exchanging the auth token for a grant token: `POST <broker>/runners/auth`.
//!
//! n8n's launcher does this before it starts a runner; a runner given `N8N_RUNNERS_AUTH_TOKEN`
//! does it itself before every connection, so it needs no launcher and survives n8n restarts (a
//! grant token is single-use). One small HTTP/1.1 request over a plain `TcpStream`: not worth an
//! HTTP client crate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);
/// A grant token answer is tiny; anything larger is not the broker.
const MAX_RESPONSE: u64 = 64 * 1024;

/// Why no grant token came back.
#[derive(Debug)]
pub enum AuthError {
    /// The broker refused the auth token (HTTP 403): retrying will not help.
    Refused,
    /// Anything else (connection refused, rate limited, a 5xx): try again later.
    Failed(String),
}

/// Asks the broker at `host_port` for a grant token; `path` is e.g. `/runners`.
pub fn fetch_grant_token(
    host_port: &str,
    path: &str,
    auth_token: &str,
) -> Result<String, AuthError> {
    let failed = |what: &dyn std::fmt::Display| AuthError::Failed(what.to_string());
    let body = serde_json::json!({ "token": auth_token }).to_string();
    let mut stream = TcpStream::connect(host_port).map_err(|e| failed(&e))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| failed(&e))?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| failed(&e))?;
    let request = format!(
        "POST {path}/auth HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| failed(&e))?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut response)
        .map_err(|e| failed(&e))?;

    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(&response) {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return Err(failed(&"the broker sent no valid HTTP response")),
    };
    let status = parsed.code.unwrap_or(0);
    let chunked = parsed.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked")
    });
    let raw_body = &response[head_len..];
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    match status {
        200 => {}
        403 => return Err(AuthError::Refused),
        other => {
            let text = String::from_utf8_lossy(&body);
            return Err(failed(&format!(
                "HTTP {other} from {path}/auth: {}",
                text.trim()
            )));
        }
    }
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| failed(&format!("invalid JSON: {e}")))?;
    value["data"]["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| failed(&"the answer has no data.token"))
}

/// Decodes a `Transfer-Encoding: chunked` body (extensions and trailers ignored).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        raw = &raw[line_end + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_decoded() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n"),
            b"Wikipedia"
        );
    }
}
