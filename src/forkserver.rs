//! The Python forkserver: one long-lived interpreter that forks a fresh child per task.
//!
//! Started at boot with a clean environment (it never sees the runner's tokens), it preloads the
//! child-side code (`python/child.py`) and common modules once, so a task costs a `fork()` instead
//! of an interpreter start. We talk to it over a `SOCK_SEQPACKET` socketpair on its fd 3: the first
//! message is its configuration, it answers once when ready, and from then on every message is a
//! fork request carrying three pipe ends by `SCM_RIGHTS` (see [`Connection::request_child`]).
//! A supervisor thread waits on the process and starts a new one if it dies; tasks in flight at
//! that moment fail (their status pipes reach EOF), later tasks use the new forkserver.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recv, send, sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use parking_lot::{Condvar, Mutex};
use serde::Deserialize;

/// The forkserver's Python source, run with `python -I -B -c`.
const FORKSERVER_PY: &str = include_str!("../python/forkserver.py");
/// The child-side code, handed to the forkserver in its configuration.
const CHILD_PY: &str = include_str!("../python/child.py");

/// How long a new forkserver may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The fd number the forkserver expects its control socket on.
const CONTROL_FD: i32 = 3;

/// How to start the forkserver.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The interpreter (`N8N_RUNNERS_PYTHON`).
    pub python: String,
    /// The forkserver's whole environment.
    pub env: Vec<(String, String)>,
    /// The configuration object sent as the first message, minus `child_source`.
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// What a forkserver reports when ready.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadyInfo {
    pub pid: u32,
    pub python: String,
    #[serde(default)]
    pub executable: String,
    #[serde(default)]
    pub stdlib_dir: String,
    #[serde(default)]
    pub stdlib_module_names: Vec<String>,
}

/// One running forkserver: its control socket and what it told us.
pub struct Connection {
    control: OwnedFd,
    pub info: ReadyInfo,
}

impl Connection {
    /// Asks for a fresh child that reads its task from `task_r`, writes its result to
    /// `result_w`, and about which the forkserver reports on `status_w`. Several workers may call
    /// this at once: each request is one datagram, which the kernel delivers whole.
    pub fn request_child(
        &self,
        task_r: BorrowedFd,
        result_w: BorrowedFd,
        status_w: BorrowedFd,
    ) -> nix::Result<()> {
        let fds = [
            task_r.as_raw_fd(),
            result_w.as_raw_fd(),
            status_w.as_raw_fd(),
        ];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        sendmsg::<()>(
            self.control.as_raw_fd(),
            &[IoSlice::new(b"F")],
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
        Ok(())
    }
}

/// Hands the current forkserver connection to workers and restarts the forkserver when it dies.
pub struct Forkserver {
    current: Mutex<Option<Arc<Connection>>>,
    changed: Condvar,
    /// Set by [`Forkserver::stop`]: the supervisor must not start a new one.
    stopping: std::sync::atomic::AtomicBool,
}

impl Forkserver {
    /// Starts the first forkserver (failing if it cannot start) and its supervisor thread.
    pub fn start(settings: Settings) -> Result<Arc<Forkserver>, String> {
        let (child, connection) = spawn(&settings)?;
        info!(
            "Python forkserver ready (pid {}, Python {} at {})",
            connection.info.pid, connection.info.python, connection.info.executable
        );
        let forkserver = Arc::new(Forkserver {
            current: Mutex::new(Some(Arc::new(connection))),
            changed: Condvar::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        });
        let supervised = forkserver.clone();
        std::thread::Builder::new()
            .name("forkserver".into())
            .spawn(move || supervised.supervise(child, settings))
            .map_err(|err| format!("Failed to start the forkserver supervisor: {err}"))?;
        Ok(forkserver)
    }

    /// The live forkserver, waiting up to `wait` while one is being restarted.
    pub fn connection(&self, wait: Duration) -> Option<Arc<Connection>> {
        let deadline = Instant::now() + wait;
        let mut current = self.current.lock();
        while current.is_none() {
            if self.changed.wait_until(&mut current, deadline).timed_out() {
                break;
            }
        }
        current.clone()
    }

    /// A forkserver other than `stale` (which was found dead), waiting up to `wait` for the
    /// supervisor to start it.
    pub fn replacement_for(
        &self,
        stale: &Arc<Connection>,
        wait: Duration,
    ) -> Option<Arc<Connection>> {
        let deadline = Instant::now() + wait;
        let mut current = self.current.lock();
        loop {
            if let Some(connection) = current.as_ref() {
                if !Arc::ptr_eq(connection, stale) {
                    return Some(connection.clone());
                }
            }
            if self.changed.wait_until(&mut current, deadline).timed_out() {
                return None;
            }
        }
    }

    /// Stops the forkserver for good (used when it must be restarted with other settings before
    /// any task ran): its supervisor ends with it.
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(connection) = self.current.lock().take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(connection.info.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    fn publish(&self, connection: Option<Arc<Connection>>) {
        *self.current.lock() = connection;
        self.changed.notify_all();
    }

    fn supervise(&self, mut child: Child, settings: Settings) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let status = child.wait();
            if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            self.publish(None);
            match status {
                Ok(status) => error!("Python forkserver exited ({status}); starting a new one"),
                Err(err) => error!("Lost the Python forkserver ({err}); starting a new one"),
            }
            loop {
                match spawn(&settings) {
                    Ok((new_child, connection)) => {
                        info!("Python forkserver restarted (pid {})", connection.info.pid);
                        child = new_child;
                        self.publish(Some(Arc::new(connection)));
                        break;
                    }
                    Err(err) => {
                        warn!("{err}; retrying in {} ms", backoff.as_millis());
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
        }
    }
}

/// Starts a forkserver, sends its configuration and waits for it to be ready.
fn spawn(settings: &Settings) -> Result<(Child, Connection), String> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|err| format!("Failed to create the forkserver socket: {err}"))?;

    let mut command = Command::new(&settings.python);
    command
        .args(["-I", "-B", "-c", FORKSERVER_PY])
        .env_clear()
        .envs(settings.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let their_fd = theirs.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only makes raw dup2, fcntl,
    // close_range and close calls, which are async-signal-safe; it allocates nothing and touches
    // no memory shared with other threads.
    unsafe {
        command.pre_exec(move || {
            use nix::libc;
            if their_fd == CONTROL_FD {
                let flags = libc::fcntl(their_fd, libc::F_GETFD);
                libc::fcntl(their_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            } else if libc::dup2(their_fd, CONTROL_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Whatever else the runner inherited without CLOEXEC (from a launcher, a shell, a
            // test harness) must not reach the forkserver and every task child.
            let first = (CONTROL_FD + 1) as libc::c_uint;
            if libc::syscall(libc::SYS_close_range, first, libc::c_uint::MAX, 0) != 0 {
                for fd in first as i32..4096 {
                    libc::close(fd);
                }
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|err| {
        format!(
            "Failed to start the Python forkserver with '{}' (N8N_RUNNERS_PYTHON): {err}",
            settings.python
        )
    })?;
    drop(theirs);

    let handshake = || -> Result<ReadyInfo, String> {
        let mut config = settings.config.clone();
        config.insert("child_source".into(), CHILD_PY.into());
        let config = serde_json::to_vec(&config).expect("config serialises");
        send(ours.as_raw_fd(), &config, MsgFlags::MSG_NOSIGNAL)
            .map_err(|err| format!("Failed to configure the Python forkserver: {err}"))?;
        let mut fds = [PollFd::new(ours.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(READY_TIMEOUT).expect("fits");
        if poll(&mut fds, timeout).map_err(|err| err.to_string())? == 0 {
            return Err("The Python forkserver did not become ready in time".to_owned());
        }
        let mut buf = vec![0u8; 1 << 20];
        let n = recv(ours.as_raw_fd(), &mut buf, MsgFlags::empty())
            .map_err(|err| format!("Failed to read from the Python forkserver: {err}"))?;
        if n == 0 {
            return Err(
                "The Python forkserver exited during start-up (see its output above)".to_owned(),
            );
        }
        serde_json::from_slice(&buf[..n])
            .map_err(|err| format!("The Python forkserver sent an invalid ready message: {err}"))
    };
    match handshake() {
        Ok(info) => Ok((
            child,
            Connection {
                control: ours,
                info,
            },
        )),
        Err(err) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(err)
        }
    }
}
