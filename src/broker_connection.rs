//! The WebSocket thread: the one owner of the connection to n8n's task broker.
//!
//! It connects (`ws://<host:port>/runners/_ws?id=<runner id>`, `Authorization: Bearer <grant
//! token>`), answers the handshake, and then waits in `poll(2)` on two things at once: the socket
//! and the [`Outbox`](crate::outbox) wake-up. Broker messages are handled as they arrive (accept,
//! reject and info replies are written right here); messages from workers and the offer timer
//! leave the moment they are queued. Nothing here polls on a timer. A lost connection is retried
//! on the schedule of [`reconnect`](crate::reconnect): within 100 ms at first, backing off to
//! n8n's 5 s; an HTTP 403 (a spent or wrong grant token) ends the runner.

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use log::{debug, error, info, warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use crate::broker_auth::{self, AuthError};
use crate::config::Config;
use crate::messages::{
    task_id_of_malformed, BrokerMessage, RunnerMessage, TaskErrorBody, RUNNER_NAME, TASK_TYPE,
};
use crate::metrics::Metrics;
use crate::offers::Kick;
use crate::outbox::{OutboxReceiver, Outgoing};
use crate::reconnect::{Backoff, Pace};
use crate::task_state::{Cancel, CancelSignal, RunnerState, Start};
use crate::worker::Job;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the WebSocket thread stopped.
#[derive(Debug)]
pub enum Ended {
    /// The broker refused the grant token (HTTP 403) and there is no auth token to get another.
    GrantTokenRefused(String),
    /// The broker refused `N8N_RUNNERS_AUTH_TOKEN` (HTTP 403 from its auth endpoint).
    AuthTokenRefused,
    /// The runner closed the connection on request (shutdown).
    Closed,
}

/// Everything the WebSocket thread works with.
pub struct BrokerConnection {
    pub config: Arc<Config>,
    pub runner_id: String,
    pub state: Arc<RunnerState>,
    pub outbox_rx: OutboxReceiver,
    pub jobs: Sender<Job>,
    pub kick: Kick,
    pub metrics: Arc<Metrics>,
}

enum ConnectError {
    Fatal(Ended),
    Retry(String),
}

/// How a served connection ended.
enum Served {
    /// The connection broke or the broker closed it; `registered` says whether the broker had
    /// registered us on it (only then does the retry schedule start over).
    Lost {
        reason: String,
        registered: bool,
    },
    Closed,
}

impl BrokerConnection {
    /// Connects and serves until told to close or a fatal error; reconnects after every lost
    /// connection.
    pub fn run(mut self) -> Ended {
        let mut grant_token = self.config.grant_token.clone();
        let mut connections = 0u64;
        let mut backoff = Backoff::default();
        // The first failed attempt of an outage is logged as n8n's runner logs every one; the
        // fast attempts after it only at debug level, the 5 s ones again as warnings.
        let mut failure_logged = false;
        loop {
            match self.connect(&mut grant_token) {
                Ok(ws) => {
                    info!("Connected to broker");
                    connections += 1;
                    if connections > 1 {
                        Metrics::inc(&self.metrics.reconnects);
                    }
                    self.metrics.set_connected(true);
                    let connection = self.state.begin_connection();
                    let served = self.serve(ws, connection);
                    self.metrics.set_connected(false);
                    let dropped = self.state.connection_lost();
                    if dropped > 0 && !matches!(served, Served::Closed) {
                        warn!("Stopped {dropped} task(s) of the lost connection; the broker has failed them");
                    }
                    match served {
                        Served::Closed => {
                            info!("Disconnected from broker");
                            return Ended::Closed;
                        }
                        Served::Lost { reason, registered } => {
                            warn!("Lost connection to broker: {reason}; reconnecting");
                            if registered {
                                backoff.reset();
                                failure_logged = false;
                            }
                        }
                    }
                }
                Err(ConnectError::Fatal(ended)) => return ended,
                Err(ConnectError::Retry(err)) => {
                    if !failure_logged {
                        warn!("Failed to connect to broker: {err} - retrying...");
                        failure_logged = true;
                    } else {
                        debug!("Failed to connect to broker: {err} - retrying...");
                    }
                }
            }
            let wait = backoff.next_wait(Instant::now());
            if wait.pace == Pace::Steady {
                // A long outage: from now on every failure is worth a line, as with n8n.
                failure_logged = false;
            }
            if self.outbox_rx.wait_for_close(wait.delay) {
                return Ended::Closed;
            }
        }
    }

    /// The token for the next upgrade: the configured grant token once, then fresh ones from
    /// the broker's auth endpoint (when `N8N_RUNNERS_AUTH_TOKEN` is set).
    fn next_grant_token(&self, configured: &mut Option<String>) -> Result<String, ConnectError> {
        if let Some(token) = configured.take() {
            return Ok(token);
        }
        let Some(auth_token) = &self.config.auth_token else {
            // Only the spent grant token is left; the broker will say 403 and we will stop.
            return Ok(self.config.grant_token.clone().unwrap_or_default());
        };
        let host_port = self.config.broker_host_port();
        match broker_auth::fetch_grant_token(&host_port, &self.config.broker_path(), auth_token) {
            Ok(token) => Ok(token),
            Err(AuthError::Refused) => Err(ConnectError::Fatal(Ended::AuthTokenRefused)),
            Err(AuthError::Failed(err)) => Err(ConnectError::Retry(format!(
                "could not get a grant token: {err}"
            ))),
        }
    }

    fn connect(
        &self,
        grant_token: &mut Option<String>,
    ) -> Result<WebSocket<TcpStream>, ConnectError> {
        let token = self.next_grant_token(grant_token)?;
        let host_port = self.config.broker_host_port();
        let url = format!(
            "ws://{host_port}{}/_ws?id={}",
            self.config.broker_path(),
            self.runner_id
        );
        let retry = |err: &dyn std::fmt::Display| ConnectError::Retry(err.to_string());

        let addrs = host_port.to_socket_addrs().map_err(|e| retry(&e))?;
        let mut last_err = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(err) => last_err = Some(err),
            }
        }
        let stream = stream.ok_or_else(|| match last_err {
            Some(err) => retry(&err),
            None => retry(&format!("{host_port} did not resolve to any address")),
        })?;
        stream.set_nodelay(true).map_err(|e| retry(&e))?;
        // Bound the handshake; the served connection is non-blocking.
        stream
            .set_read_timeout(Some(CONNECT_TIMEOUT))
            .map_err(|e| retry(&e))?;

        let mut request = url.as_str().into_client_request().map_err(|e| retry(&e))?;
        let bearer = format!("Bearer {token}")
            .parse()
            .map_err(|_| retry(&"the grant token contains characters not allowed in a header"))?;
        request.headers_mut().insert("Authorization", bearer);

        let max = usize::try_from(self.config.max_payload).unwrap_or(usize::MAX);
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(max))
            .max_frame_size(Some(max))
            // A broker that stops reading must not make us buffer without bound: past two
            // maximal messages waiting, the connection is given up (and later re-made).
            .max_write_buffer_size(max.saturating_mul(2).saturating_add(1 << 20))
            // Every message is flushed explicitly; no batching delay.
            .write_buffer_size(0);
        match tungstenite::client::client_with_config(request, stream, Some(ws_config)) {
            Ok((ws, _response)) => {
                let stream = ws.get_ref();
                stream.set_read_timeout(None).map_err(|e| retry(&e))?;
                stream.set_nonblocking(true).map_err(|e| retry(&e))?;
                Ok(ws)
            }
            Err(HandshakeError::Failure(tungstenite::Error::Http(response)))
                if response.status() == 403 =>
            {
                let body = response
                    .body()
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
                    .into_owned();
                if self.config.auth_token.is_some() {
                    // Spent or expired: the next attempt fetches a fresh one.
                    Err(retry(&format!(
                        "the broker refused the grant token (403) {body}"
                    )))
                } else {
                    Err(ConnectError::Fatal(Ended::GrantTokenRefused(body)))
                }
            }
            Err(HandshakeError::Failure(err)) => Err(retry(&err)),
            Err(HandshakeError::Interrupted(_)) => Err(retry(&"handshake timed out")),
        }
    }

    /// Serves one connection until it ends; returns why it ended.
    fn serve(&mut self, mut ws: WebSocket<TcpStream>, connection: u64) -> Served {
        // Whatever was queued for the previous connection is stale: its offers and tasks are
        // gone on the broker's side.
        let mut stale = 0;
        for item in self.outbox_rx.drain() {
            match item {
                Outgoing::Text { .. } => stale += 1,
                Outgoing::Close => return close(ws),
            }
        }
        if stale > 0 {
            info!("Dropped {stale} message(s) queued for the previous connection");
        }
        let mut want_write = false;
        let mut registered = false;
        let lost = |reason: String, registered: bool| Served::Lost { reason, registered };
        // The upgrade may have read the broker's first frames along with the HTTP response;
        // tungstenite holds them in its buffer, where poll cannot see them: read them first.
        let mut first_round = true;
        loop {
            let flags = if want_write {
                PollFlags::POLLIN | PollFlags::POLLOUT
            } else {
                PollFlags::POLLIN
            };
            let (socket_ready, outbox_ready) = if std::mem::take(&mut first_round) {
                (true, false)
            } else {
                let mut fds = [
                    PollFd::new(ws.get_ref().as_fd(), flags),
                    PollFd::new(self.outbox_rx.fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(err) => return lost(format!("poll failed: {err}"), registered),
                }
                (fds[0].any().unwrap_or(false), fds[1].any().unwrap_or(false))
            };
            if outbox_ready {
                for item in self.outbox_rx.drain() {
                    let text = match item {
                        Outgoing::Text {
                            text,
                            connection: of,
                        } if of == connection => text,
                        // For a connection that is gone: the broker it was for has forgotten it.
                        Outgoing::Text { .. } => continue,
                        Outgoing::Close => return close(ws),
                    };
                    if let Err(err) = write(&mut ws, Message::text(text)) {
                        return lost(err, registered);
                    }
                }
            }
            if socket_ready {
                loop {
                    match ws.read() {
                        Ok(Message::Text(text)) => {
                            registered |= self.handle(&mut ws, text.as_str())
                        }
                        Ok(Message::Binary(bytes)) => match std::str::from_utf8(&bytes) {
                            Ok(text) => registered |= self.handle(&mut ws, text),
                            Err(_) => error!("Error handling message: binary frame is not UTF-8"),
                        },
                        Ok(Message::Close(frame)) => {
                            let _ = ws.flush();
                            let reason = match frame {
                                Some(frame) => format!("closed by broker ({})", frame.code),
                                None => "closed by broker".to_owned(),
                            };
                            return lost(reason, registered);
                        }
                        // Pongs are queued by tungstenite itself and sent by the flush below.
                        Ok(_) => {}
                        Err(tungstenite::Error::Io(err)) if err.kind() == ErrorKind::WouldBlock => {
                            break
                        }
                        Err(err) => return lost(err.to_string(), registered),
                    }
                }
            }
            match ws.flush() {
                Ok(()) => want_write = false,
                Err(tungstenite::Error::Io(err)) if err.kind() == ErrorKind::WouldBlock => {
                    want_write = true
                }
                Err(err) => return lost(err.to_string(), registered),
            }
        }
    }

    /// Handles one broker message; returns true when it was the broker registering us.
    fn handle(&mut self, ws: &mut WebSocket<TcpStream>, text: &str) -> bool {
        let message = match BrokerMessage::parse(text) {
            Ok(message) => message,
            Err(detail) => {
                error!("Error handling message: {detail}");
                // A settings frame too broken to parse still names its task: answer it so the
                // slot is not held until the broker gives up.
                if let Some((kind, task_id)) = task_id_of_malformed(text) {
                    if kind == "broker:tasksettings" {
                        self.fail_waiting_task(ws, &task_id, detail);
                    }
                }
                return false;
            }
        };
        let reply = |ws: &mut WebSocket<TcpStream>, message: RunnerMessage| {
            // A failed write ends the connection; the read loop notices on its next call.
            let _ = write(ws, Message::text(message.to_json()));
        };
        match message {
            BrokerMessage::InfoRequest => reply(
                ws,
                RunnerMessage::Info {
                    name: RUNNER_NAME,
                    types: [TASK_TYPE],
                },
            ),
            BrokerMessage::RunnerRegistered => {
                info!("Registered with broker");
                self.state.set_offering(true);
                self.kick.kick();
                return true;
            }
            BrokerMessage::TaskOfferAccept { task_id, offer_id } => {
                match self.state.accept(&task_id, &offer_id, Instant::now()) {
                    Ok(()) => {
                        reply(ws, RunnerMessage::TaskAccepted { task_id: &task_id });
                        Metrics::inc(&self.metrics.tasks_accepted);
                        info!("Accepted task {task_id}");
                    }
                    Err(reason) => {
                        Metrics::inc(&self.metrics.tasks_rejected);
                        reply(
                            ws,
                            RunnerMessage::TaskRejected {
                                task_id: &task_id,
                                reason,
                            },
                        )
                    }
                }
            }
            BrokerMessage::TaskSettings { task_id, settings } => match settings {
                Err(detail) => {
                    error!("Error handling message: {detail}");
                    self.fail_waiting_task(ws, &task_id, detail);
                }
                Ok(settings) => self.start_task(task_id, settings),
            },
            BrokerMessage::TaskCancel { task_id, .. } => match self.state.cancel(&task_id) {
                Cancel::Unknown => {
                    warn!("Received cancel for unknown task: {task_id}. Discarding message.")
                }
                Cancel::DroppedWaiting => {
                    info!("Cancelled task {task_id} (waiting for settings)");
                    self.kick.kick();
                }
                Cancel::Signalled => info!("Cancelling task {task_id}"),
            },
            BrokerMessage::RpcResponse => {}
            BrokerMessage::Drain => {
                self.state.stop_offering();
                info!("Received drain signal, stopped accepting new tasks");
            }
        }
        false
    }

    fn start_task(&mut self, task_id: String, settings: crate::messages::TaskSettings) {
        let signal = match CancelSignal::new() {
            Ok(signal) => Arc::new(signal),
            Err(err) => {
                error!("Task {task_id} failed: cannot create its cancel signal: {err}");
                return;
            }
        };
        match self.state.start(&task_id, signal) {
            Start::Started { cancel, connection } => {
                info!("Received task {task_id}");
                let job = Job {
                    task_id,
                    settings,
                    cancel,
                    connection,
                };
                // Workers outlive this thread; a closed channel means we are shutting down.
                let _ = self.jobs.send(job);
            }
            Start::Unknown => error!(
                "Error handling message: Failed to find task {task_id}. This is likely an \
                 internal error."
            ),
            Start::AlreadyRunning => warn!(
                "Received settings for task but it is already TaskStatus.RUNNING. Discarding \
                 message."
            ),
        }
    }

    /// Answers a task whose settings were unusable and frees its slot (n8n's runner keeps the
    /// slot until the broker's own timeout cancels the task).
    fn fail_waiting_task(&mut self, ws: &mut WebSocket<TcpStream>, task_id: &str, detail: String) {
        if !self.state.drop_waiting(task_id) {
            return;
        }
        let error = TaskErrorBody {
            message: detail,
            description: Some("".into()),
            stack: None,
        };
        let _ = write(
            ws,
            Message::text(
                RunnerMessage::TaskError {
                    task_id,
                    error: &error,
                }
                .to_json(),
            ),
        );
        self.kick.kick();
    }
}

/// Closes the connection from our side, flushing what is queued (bounded: the socket goes back to
/// blocking with a short timeout, so a broker that never reads cannot hold shutdown up).
fn close(mut ws: WebSocket<TcpStream>) -> Served {
    let _ = ws.get_ref().set_nonblocking(false);
    let _ = ws.get_ref().set_write_timeout(Some(Duration::from_secs(2)));
    let _ = ws.get_ref().set_read_timeout(Some(Duration::from_secs(1)));
    let _ = ws.close(None);
    let _ = ws.flush();
    // Wait briefly for the broker's close reply, as the protocol asks.
    while ws.read().is_ok() {}
    Served::Closed
}

/// Queues a message on the socket. `WouldBlock` is fine: tungstenite keeps the frame buffered and
/// the serve loop flushes it when the socket is writable.
fn write(ws: &mut WebSocket<TcpStream>, message: Message) -> Result<(), String> {
    match ws.write(message) {
        Ok(()) => Ok(()),
        Err(tungstenite::Error::Io(err)) if err.kind() == ErrorKind::WouldBlock => Ok(()),
        Err(err) => Err(err.to_string()),
    }
}
