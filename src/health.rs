//! The health check server (`N8N_RUNNERS_HEALTH_CHECK_SERVER_*`), on its own thread.
//!
//! Like n8n's runner it answers `200 OK` / `OK` on any path, even while every worker is busy, so
//! n8n's launcher keeps working. Two paths say more:
//! - `GET /healthz` answers `503` once the broker connection has been down for longer than
//!   `N8N_RUNNERS_HEALTH_CHECK_BROKER_TIMEOUT` (30 s), so an orchestrator replaces a runner that
//!   lost its broker;
//! - `GET /metrics` gives the counters and the task latency histogram (Prometheus text format).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use log::{info, warn};

use crate::metrics::Metrics;
use crate::task_state::RunnerState;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds the server and starts its thread; returns the bound port (useful with port 0).
pub fn start(
    host: &str,
    port: u16,
    unhealthy_after: Duration,
    metrics: Arc<Metrics>,
    state: Arc<RunnerState>,
) -> Result<u16, String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|err| format!("Failed to start health check server: {host}: {err}"))?
        .collect();
    let listener = TcpListener::bind(&addrs[..]).map_err(|err| {
        if err.kind() == std::io::ErrorKind::AddrInUse {
            format!("Failed to start health check server: Port {port} is already in use")
        } else {
            format!("Failed to start health check server: {err}")
        }
    })?;
    let bound = listener
        .local_addr()
        .map_err(|err| format!("Failed to start health check server: {err}"))?
        .port();
    info!("Health check server listening on {host}, port {bound}");
    std::thread::Builder::new()
        .name("health".into())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(stream) => answer(stream, unhealthy_after, &metrics, &state),
                    Err(err) => warn!("Health check server: {err}"),
                }
            }
        })
        .map_err(|err| format!("Failed to start health check server: {err}"))?;
    Ok(bound)
}

fn answer(stream: TcpStream, unhealthy_after: Duration, metrics: &Metrics, state: &RunnerState) {
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let _ = stream.set_write_timeout(Some(REQUEST_TIMEOUT));
    let mut request_line = String::new();
    let mut reader = BufReader::new(&stream);
    // A client that sends nothing still gets n8n's answer.
    let _ = reader.read_line(&mut request_line);
    // Read the headers too (bounded), so closing after the answer never resets a client that is
    // still sending them.
    for _ in 0..64 {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(n) if n > 2 => {}
            _ => break,
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    let (status, content_type, body) = match path {
        "/healthz" => {
            let (connected, for_how_long) = metrics.connection();
            if connected || for_how_long <= unhealthy_after {
                ("200 OK", "text/plain", "OK".to_owned())
            } else {
                (
                    "503 Service Unavailable",
                    "text/plain",
                    format!("broker connection down for {}s", for_how_long.as_secs()),
                )
            }
        }
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4",
            metrics.render(state.task_count()),
        ),
        _ => ("200 OK", "text/plain", "OK".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
}

/// `GET http://host:port/healthz`: true when it answers 200 (the `healthcheck` command).
pub fn probe(host: &str, port: u16) -> Result<(), String> {
    let mut stream = TcpStream::connect((host, port)).map_err(|err| err.to_string())?;
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|err| err.to_string())?;
    let mut status_line = String::new();
    BufReader::new(&stream)
        .read_line(&mut status_line)
        .map_err(|err| err.to_string())?;
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(status_line.trim().to_owned())
    }
}
