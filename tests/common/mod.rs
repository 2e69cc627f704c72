//! A test broker and a handle on the real runner binary.
//!
//! The broker is a real WebSocket server (tungstenite) on 127.0.0.1 with a random port; it speaks
//! n8n's broker side of the protocol one message at a time, so each test can drive the runner
//! exactly as far as the behaviour it checks. The runner is the real binary, with a real
//! `python3` forkserver behind it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

pub const TOKEN: &str = "test-grant-token";

/// The interpreter the runner under test uses: `N8N_RUNNERS_PYTHON` if set. Otherwise, as root
/// (task processes then run as `nobody`, who must be able to read the interpreter's files),
/// Debian's `/usr/bin/python3` when present, since a pyenv install under /root is unreadable to
/// `nobody`; else `python3`.
pub fn python() -> String {
    if let Ok(python) = std::env::var("N8N_RUNNERS_PYTHON") {
        return python;
    }
    if nix::unistd::geteuid().is_root() && std::path::Path::new("/usr/bin/python3").exists() {
        return "/usr/bin/python3".to_owned();
    }
    "python3".to_owned()
}
pub const WAIT: Duration = Duration::from_secs(20);

/// A listening test broker.
pub struct TestBroker {
    listener: TcpListener,
    pub port: u16,
}

impl TestBroker {
    pub fn start() -> TestBroker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test broker");
        let port = listener.local_addr().unwrap().port();
        TestBroker { listener, port }
    }

    /// A broker on a port a previous one used: a broker that came back. (std sets
    /// `SO_REUSEADDR` on listeners, so the old connections' TIME_WAIT does not stand in the way.)
    pub fn start_on(port: u16) -> TestBroker {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the test broker again");
        TestBroker { listener, port }
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits for the runner to connect and completes the WebSocket upgrade.
    pub fn accept(&self) -> BrokerSide {
        let stream = self.accept_tcp();
        let seen = Arc::new(Mutex::new((String::new(), String::new())));
        let seen_in_callback = seen.clone();
        #[allow(clippy::result_large_err)] // the signature is tungstenite's
        let callback = move |request: &Request, response: Response| {
            let auth = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            *seen_in_callback.lock().unwrap() = (request.uri().to_string(), auth);
            Ok(response)
        };
        // n8n's broker accepts frames up to N8N_RUNNERS_MAX_PAYLOAD (1 GiB by default).
        let config = WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);
        let ws = tungstenite::accept_hdr_with_config(stream, callback, Some(config))
            .expect("websocket upgrade");
        let (path, authorization) = seen.lock().unwrap().clone();
        BrokerSide {
            ws,
            path,
            authorization,
            offers: VecDeque::new(),
            offer_times: VecDeque::new(),
        }
    }

    /// Serves one `POST <path>/auth`: answers `grant` as the grant token (or 403 when `None`)
    /// and returns the request's path and the auth token it carried.
    pub fn answer_auth(&self, grant: Option<&str>) -> (String, String) {
        let mut stream = self.accept_tcp();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; content_length];
        std::io::Read::read_exact(&mut reader, &mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        let response = match grant {
            Some(grant) => {
                let payload = json!({"data": {"token": grant}}).to_string();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
                    payload.len()
                )
            }
            None => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_owned(),
        };
        stream.write_all(response.as_bytes()).unwrap();
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        (path, body["token"].as_str().unwrap_or("").to_owned())
    }

    /// Accepts a TCP connection and answers the upgrade request with a bare HTTP status.
    pub fn refuse(&self, status_line: &str) {
        let mut stream = self.accept_tcp();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if line == "\r\n" {
                break;
            }
            line.clear();
        }
        let _ = write!(
            stream,
            "HTTP/1.1 {status_line}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }

    fn accept_tcp(&self) -> TcpStream {
        self.listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    return stream;
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the runner never connected");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(err) => panic!("accept failed: {err}"),
            }
        }
    }
}

/// The broker's end of one runner connection.
pub struct BrokerSide {
    ws: WebSocket<TcpStream>,
    /// The upgrade request's path and query.
    pub path: String,
    /// The upgrade request's `Authorization` header.
    pub authorization: String,
    /// Offers received and not yet used, oldest first.
    pub offers: VecDeque<Value>,
    /// When each of `offers` arrived (an offer is valid for at least 5 s).
    offer_times: VecDeque<Instant>,
}

/// Everything the runner sent about one task, in order, ending with its done/error message.
#[derive(Debug)]
pub struct TaskOutcome {
    pub rpcs: Vec<Value>,
    pub last: Value,
}

impl TaskOutcome {
    /// `data.result` of a `runner:taskdone`; panics on anything else.
    pub fn result(&self) -> &Value {
        assert_eq!(self.last["type"], "runner:taskdone", "{:#}", self.last);
        &self.last["data"]["result"]
    }

    /// `error` of a `runner:taskerror`; panics on anything else.
    pub fn error(&self) -> &Value {
        assert_eq!(self.last["type"], "runner:taskerror", "{:#}", self.last);
        &self.last["error"]
    }

    /// The `params` of every `logNodeOutput` call.
    pub fn prints(&self) -> Vec<Vec<String>> {
        self.rpcs
            .iter()
            .map(|rpc| {
                assert_eq!(rpc["name"], "logNodeOutput");
                serde_json::from_value(rpc["params"].clone()).unwrap()
            })
            .collect()
    }
}

impl BrokerSide {
    pub fn send(&mut self, message: Value) {
        self.send_text(&message.to_string());
    }

    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).expect("send to runner");
    }

    pub fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::binary(bytes))
            .expect("send to runner");
    }

    /// The next message of any type, or None after `wait`.
    pub fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.ws.get_ref().set_read_timeout(Some(left)).unwrap();
            match self.ws.read() {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
                Ok(Message::Binary(_)) => panic!("the runner sent a binary frame"),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(err))
                    if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    return None
                }
                Err(err) => panic!("connection to runner failed: {err}"),
            }
        }
    }

    /// The next text frame, raw, waiting as long as the socket's read timeout allows
    /// ([`set_read_timeout`](Self::set_read_timeout)); for load tests that parse only what they
    /// need.
    pub fn recv_text(&mut self) -> String {
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => return text.as_str().to_owned(),
                Ok(Message::Binary(_)) => panic!("the runner sent a binary frame"),
                Ok(_) => continue,
                Err(err) => panic!("connection to runner failed: {err}"),
            }
        }
    }

    pub fn set_read_timeout(&mut self, wait: Duration) {
        self.ws.get_ref().set_read_timeout(Some(wait)).unwrap();
    }

    /// The next message that is not an offer (offers are kept for later use).
    pub fn recv(&mut self) -> Value {
        self.try_recv_non_offer(WAIT)
            .expect("the runner sent nothing but offers in time")
    }

    pub fn try_recv_non_offer(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let message = self.try_recv(deadline.saturating_duration_since(Instant::now()))?;
            if message["type"] == "runner:taskoffer" {
                self.keep_offer(message);
            } else {
                return Some(message);
            }
        }
    }

    /// Every offer kept so far, oldest first (the load benchmark uses them all at once).
    pub fn take_all_offers(&mut self) -> Vec<Value> {
        self.offer_times.clear();
        self.offers.drain(..).collect()
    }

    /// Gives back an offer (as received) that a load test did not use.
    pub fn put_back_offer(&mut self, text: &str) {
        self.keep_offer(serde_json::from_str(text).expect("an offer"));
    }

    fn keep_offer(&mut self, offer: Value) {
        self.offers.push_back(offer);
        self.offer_times.push_back(Instant::now());
    }

    /// Runs the handshake: `broker:inforequest` -> `runner:info` -> `broker:runnerregistered`.
    pub fn handshake(&mut self) -> Value {
        self.send(json!({"type": "broker:inforequest"}));
        let info = self.recv();
        assert_eq!(info["type"], "runner:info");
        self.send(json!({"type": "broker:runnerregistered"}));
        info
    }

    /// The next unused offer, waiting for one if needed.
    pub fn take_offer(&mut self) -> Value {
        // The newest offer that is surely still valid; older ones may have expired.
        while let Some(at) = self.offer_times.back() {
            let fresh = at.elapsed() < Duration::from_millis(4500);
            self.offer_times.pop_back();
            let offer = self.offers.pop_back().expect("one time per offer");
            if fresh {
                return offer;
            }
        }
        self.offers.clear();
        self.offer_times.clear();
        let message = self.try_recv(WAIT).expect("no offer arrived");
        assert_eq!(
            message["type"], "runner:taskoffer",
            "expected an offer, got {message}"
        );
        message
    }

    /// Accepts an offer for `task_id` and checks it was accepted.
    pub fn accept_task(&mut self, task_id: &str) {
        let offer = self.take_offer();
        self.send(json!({
            "type": "broker:taskofferaccept",
            "taskId": task_id,
            "offerId": offer["offerId"],
        }));
        let reply = self.recv();
        assert_eq!(reply["type"], "runner:taskaccepted", "{reply}");
        assert_eq!(reply["taskId"], task_id);
    }

    pub fn send_settings(&mut self, task_id: &str, settings: Value) {
        self.send(json!({"type": "broker:tasksettings", "taskId": task_id, "settings": settings}));
    }

    /// Collects a task's RPCs up to its `runner:taskdone` / `runner:taskerror`.
    pub fn collect(&mut self, task_id: &str) -> TaskOutcome {
        let mut rpcs = Vec::new();
        loop {
            let message = self.recv();
            assert_eq!(
                message["taskId"], task_id,
                "message for another task: {message}"
            );
            match message["type"].as_str().unwrap() {
                "runner:rpc" => rpcs.push(message),
                "runner:taskdone" | "runner:taskerror" => {
                    return TaskOutcome {
                        rpcs,
                        last: message,
                    }
                }
                other => panic!("unexpected {other}: {message}"),
            }
        }
    }

    /// Accept, send settings, collect: one whole task.
    pub fn run_task(&mut self, task_id: &str, settings: Value) -> TaskOutcome {
        self.accept_task(task_id);
        self.send_settings(task_id, settings);
        self.collect(task_id)
    }

    /// Closes the connection from the broker's side.
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }

    /// Drops the TCP connection without a close handshake.
    pub fn drop_connection(self) {
        let _ = self.ws.get_ref().shutdown(std::net::Shutdown::Both);
    }

    /// Waits for the runner to close the connection; true if it did within `wait`.
    pub fn wait_closed_by_runner(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            self.ws
                .get_ref()
                .set_read_timeout(Some(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1)),
                ))
                .unwrap();
            match self.ws.read() {
                Ok(Message::Close(_)) => return true,
                Ok(Message::Text(text)) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["type"] == "runner:taskoffer" {
                        self.keep_offer(message);
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed) => return true,
                Err(tungstenite::Error::Io(err))
                    if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
        }
        false
    }
}

/// Settings for an all-items task.
pub fn all_items(code: &str, items: Value) -> Value {
    json!({"code": code, "nodeMode": "runOnceForAllItems", "items": items, "continueOnFail": false})
}

/// Settings for a per-item task.
pub fn per_item(code: &str, items: Value) -> Value {
    json!({"code": code, "nodeMode": "runOnceForEachItem", "items": items, "continueOnFail": false})
}

/// The runner binary, running; killed (with its process group) when dropped.
pub struct Runner {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Runner {
    /// Starts the runner against `broker` with the test token plus `env`.
    pub fn start(broker: &TestBroker, env: &[(&str, &str)]) -> Runner {
        let mut vars = vec![
            ("N8N_RUNNERS_GRANT_TOKEN", TOKEN.to_owned()),
            ("N8N_RUNNERS_TASK_BROKER_URI", broker.uri()),
        ];
        vars.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
        Runner::start_with_env(&vars)
    }

    pub fn start_with_env(vars: &[(&str, String)]) -> Runner {
        Runner::start_command(&[env!("CARGO_BIN_EXE_n8n-python-runner")], vars)
    }

    /// Starts any runner command (the benchmarks drive other runners too).
    pub fn start_command(argv: &[&str], vars: &[(&str, String)]) -> Runner {
        let mut command = Command::new(argv[0]);
        command.args(&argv[1..]);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !vars.iter().any(|(k, _)| *k == "N8N_RUNNERS_PYTHON") {
            command.env("N8N_RUNNERS_PYTHON", python());
        }
        Runner::spawn(command)
    }

    /// Starts a prepared command (its environment, directory and pre-exec hooks as given) and
    /// collects its stdout and stderr lines as the log.
    pub fn spawn(mut command: Command) -> Runner {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the runner binary");
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        Runner { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(line) = self.log().into_iter().find(|l| l.contains(needle)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line containing {needle:?}; log so far:\n{}",
                self.log().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The port the health server reports it listens on.
    pub fn health_port(&self) -> u16 {
        let line = self.wait_for_log("Health check server listening on");
        line.rsplit("port ").next().unwrap().trim().parse().unwrap()
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the runner did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal to the runner.
    pub fn signal(&self, signal: Signal) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), signal);
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The direct children of a process (the runner's forkserver).
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
                children.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    children
}

/// Whether a process is PID 1 of a PID namespace below ours: the forkserver's sandbox slots
/// have such an init, idle between tasks.
pub fn is_namespace_init(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("NSpid:"))?.to_owned();
            let ids: Vec<&str> = line.split_whitespace().skip(1).collect();
            Some(ids.len() > 1 && ids.last() == Some(&"1"))
        })
        .unwrap_or(false)
}

/// The task processes under a forkserver (zombies included): its children other than the idle
/// inits of its sandbox slots and its own processes forked ahead, and anything below those
/// inits but their processes forked ahead.
pub fn task_processes(forkserver: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut below_inits = Vec::new();
    for child in children_of(forkserver) {
        if is_namespace_init(child) {
            // A slot: its one process forked ahead, waiting for the next task, is not a task's.
            let mut waiting = 0;
            for pid in children_of(child) {
                if is_forked_ahead(pid) && waiting == 0 {
                    waiting += 1;
                } else {
                    below_inits.push(pid);
                }
            }
        } else if !is_forked_ahead(child) {
            // Without namespaces the forkserver keeps its own processes forked ahead.
            found.push(child);
        }
    }
    while let Some(pid) = below_inits.pop() {
        found.push(pid);
        below_inits.extend(children_of(pid));
    }
    found
}

/// Whether pid is a process forked ahead (a slot's, or the forkserver's), still waiting for a task (it is named so
/// only until its task arrives, and has no children of its own).
pub fn is_forked_ahead(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|name| name.trim() == "n8n-ahead")
        && children_of(pid).is_empty()
}

/// A connected, registered runner with its broker connection.
pub fn registered_runner(env: &[(&str, &str)]) -> (TestBroker, Runner, BrokerSide) {
    let broker = TestBroker::start();
    let runner = Runner::start(&broker, env);
    let mut side = broker.accept();
    side.handshake();
    // The forkserver starts alongside the connection; tests that look at it need it there.
    runner.wait_for_log("Python forkserver ready");
    (broker, runner, side)
}
