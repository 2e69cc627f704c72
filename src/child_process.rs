//! Running one task in a fresh child of the forkserver, under a deadline.
//!
//! Per task three channels connect the worker to its child: the task goes in on one pipe, the
//! result comes back on another as one length-prefixed frame (4-byte big-endian length + UTF-8
//! JSON), and the forkserver reports on a UNIX socket (`R` when it takes the request, `P` from
//! the child once forked, `X` + exit code once reaped, or `E` + errno when the fork failed; each
//! record 5 bytes). The child sends `P` with its credentials, which the kernel translates into
//! our PID namespace: the child lives in namespaces where its own pid means nothing to us. One
//! `poll(2)` loop feeds the task,
//! drains the result (so a large result never blocks the child), watches the status socket and the
//! task's cancel signal, and enforces the deadline itself: SIGTERM to the child's process group,
//! one second's grace, then SIGKILL. The child's good will is never relied on.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{
    recvmsg, setsockopt, socketpair, sockopt, AddressFamily, ControlMessageOwned, MsgFlags,
    SockFlag, SockType, UnixCredentials,
};
use nix::unistd::{pipe2, read, write, Pid};

use crate::forkserver::Connection;
use crate::task_state::CancelSignal;

/// How long a child gets between SIGTERM and SIGKILL.
pub const TERMINATION_GRACE: Duration = Duration::from_secs(1);

const STATUS_RECORD_LEN: usize = 5;
const READ_CHUNK: usize = 256 * 1024;

/// The task's input, written to the child in three parts so the (possibly huge) items are
/// never copied into one buffer.
#[derive(Clone, Copy)]
pub struct TaskInput<'a> {
    pub parts: [&'a [u8]; 3],
    /// The fork request's hint (see [`crate::forkserver::compile_hint`]); may be empty.
    pub hint: &'a [u8],
}

/// Limits for one run.
pub struct Limits {
    pub timeout: Duration,
    pub max_result_bytes: u64,
}

/// How a child run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ChildOutcome {
    /// The child exited 0 after writing this frame payload.
    Frame(Vec<u8>),
    /// The child exited 0 without a complete frame.
    NoResult,
    /// The child exited with this code (negative: killed by that signal).
    Exited(i32),
    /// The deadline passed; the child was stopped.
    TimedOut,
    /// The task was cancelled; the child was stopped.
    Cancelled,
    /// The child announced a result larger than allowed; it was killed.
    ResultTooLarge(u64),
    /// The forkserver could not fork (errno).
    ForkFailed(i32),
    /// The forkserver went away before reporting the child's exit.
    ForkserverLost,
    /// The forkserver was gone before it forked a child for the request (the request may even
    /// have been queued on a socket that a dying process still held); nothing ran.
    ForkserverUnreachable,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Timeout,
    Cancel,
    TooLarge,
}

/// The child's result frame as it arrives.
struct ResultReader {
    header: [u8; 4],
    header_len: usize,
    body: Vec<u8>,
    expected: Option<usize>,
    eof: bool,
}

impl ResultReader {
    fn complete(&self) -> bool {
        self.expected.is_some_and(|n| self.body.len() >= n)
    }

    /// Takes in bytes just read; returns the announced length once the header is complete.
    fn feed(&mut self, mut bytes: &[u8]) -> Option<usize> {
        let mut announced = None;
        if self.expected.is_none() {
            let take = (4 - self.header_len).min(bytes.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&bytes[..take]);
            self.header_len += take;
            bytes = &bytes[take..];
            if self.header_len == 4 {
                let len = u32::from_be_bytes(self.header) as usize;
                self.expected = Some(len);
                announced = Some(len);
            }
        }
        if let Some(expected) = self.expected {
            let room = expected.saturating_sub(self.body.len());
            self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        announced
    }
}

/// Runs one task in a new child and waits for it to end.
pub fn run(
    forkserver: &Connection,
    input: TaskInput,
    limits: &Limits,
    cancel: &CancelSignal,
) -> std::io::Result<ChildOutcome> {
    let (task_r, task_w) = pipe2(OFlag::O_CLOEXEC)?;
    let (result_r, result_w) = pipe2(OFlag::O_CLOEXEC)?;
    let (status_r, status_w) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    setsockopt(&status_r, sockopt::PassCred, &true)?;
    for fd in [&task_w, &result_r, &status_r] {
        fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    }
    if let Err(err) = forkserver.request_child(
        task_r.as_fd(),
        result_w.as_fd(),
        status_w.as_fd(),
        input.hint,
    ) {
        return match err {
            Errno::EPIPE | Errno::ECONNRESET | Errno::ENOTCONN | Errno::ECONNREFUSED => {
                Ok(ChildOutcome::ForkserverUnreachable)
            }
            other => Err(other.into()),
        };
    }
    // The forkserver has its own copies now; ours would keep the pipes open forever.
    drop((task_r, result_w, status_w));

    let mut run = Run {
        task_w: Some(task_w),
        input,
        written: 0,
        result_r: Some(result_r),
        result: ResultReader {
            header: [0; 4],
            header_len: 0,
            body: Vec::new(),
            expected: None,
            eof: false,
        },
        status_r: Some(status_r),
        status_buf: Vec::with_capacity(2 * STATUS_RECORD_LEN),
        received: false,
        pid: None,
        exit_code: None,
        fork_errno: None,
        stop: None,
        kill_at: None,
        term_sent: false,
        killed: false,
        too_large: None,
        deadline: Instant::now() + limits.timeout,
        max_result: limits.max_result_bytes,
    };
    run.wait(cancel)?;
    Ok(run.outcome())
}

struct Run<'a> {
    task_w: Option<OwnedFd>,
    input: TaskInput<'a>,
    written: usize,
    result_r: Option<OwnedFd>,
    result: ResultReader,
    status_r: Option<OwnedFd>,
    status_buf: Vec<u8>,
    /// The forkserver took the request (before forking).
    received: bool,
    pid: Option<i32>,
    exit_code: Option<i32>,
    fork_errno: Option<i32>,
    stop: Option<StopReason>,
    kill_at: Option<Instant>,
    term_sent: bool,
    killed: bool,
    too_large: Option<u64>,
    deadline: Instant,
    max_result: u64,
}

impl Run<'_> {
    fn input_len(&self) -> usize {
        self.input.parts.iter().map(|p| p.len()).sum()
    }

    /// The poll loop; returns when the child's fate is known.
    fn wait(&mut self, cancel: &CancelSignal) -> std::io::Result<()> {
        let mut scratch = vec![0u8; READ_CHUNK];
        if cancel.is_fired() {
            self.begin_stop(StopReason::Cancel);
        }
        loop {
            if self.finished() {
                return Ok(());
            }
            let now = Instant::now();
            if self.stop.is_none() && now >= self.deadline {
                self.begin_stop(StopReason::Timeout);
            }
            self.enforce_stop(now);
            // After the child exited, a result pipe still held open by a stray grandchild must
            // not keep us waiting beyond the task's deadline.
            if self.exit_code.is_some() && now >= self.deadline {
                return Ok(());
            }

            // Records and results wake the poll themselves; the clock matters only for the
            // deadline and, once a child to signal is known, for its SIGKILL.
            let only_records = now + Duration::from_secs(3600);
            let wake_at = match self.stop {
                None => self.deadline,
                Some(_) if self.pid.is_some() && !self.killed => {
                    self.kill_at.unwrap_or(only_records)
                }
                Some(_) => only_records,
            };
            let timeout = PollTimeout::try_from(wake_at.saturating_duration_since(now))
                .unwrap_or(PollTimeout::MAX);

            let mut fds: Vec<PollFd> = Vec::with_capacity(4);
            let mut roles: Vec<u8> = Vec::with_capacity(4);
            if let Some(fd) = &self.status_r {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                roles.push(b's');
            }
            if let Some(fd) = &self.result_r {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                roles.push(b'r');
            }
            if let Some(fd) = &self.task_w {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLOUT));
                roles.push(b'w');
            }
            if self.stop.is_none() {
                fds.push(PollFd::new(cancel.fd(), PollFlags::POLLIN));
                roles.push(b'c');
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(err) => return Err(err.into()),
            }
            let ready: Vec<u8> = fds
                .iter()
                .zip(&roles)
                .filter(|(fd, _)| fd.any().unwrap_or(false))
                .map(|(_, role)| *role)
                .collect();
            drop(fds);
            for role in ready {
                match role {
                    b's' => self.read_status(&mut scratch)?,
                    b'r' => self.read_result(&mut scratch)?,
                    b'w' => self.write_input()?,
                    _ => self.begin_stop(StopReason::Cancel),
                }
            }
        }
    }

    fn finished(&self) -> bool {
        if self.fork_errno.is_some() {
            return true;
        }
        if self.status_r.is_none() && self.exit_code.is_none() {
            return true; // forkserver lost
        }
        match self.exit_code {
            None => false,
            // Stopped or killed: the result does not matter any more.
            Some(_) if self.stop.is_some() => true,
            Some(0) => self.result.eof || self.result.complete(),
            Some(_) => true,
        }
    }

    fn begin_stop(&mut self, reason: StopReason) {
        if self.stop.is_some() {
            return;
        }
        self.stop = Some(reason);
        // Nobody will read the rest of the task or the result now.
        self.task_w = None;
        let now = Instant::now();
        if reason == StopReason::TooLarge {
            self.result_r = None;
            self.kill_at = Some(now);
        } else {
            self.kill_at = Some(now + TERMINATION_GRACE);
        }
        self.enforce_stop(now);
    }

    /// Carries out a requested stop as far as it can yet: SIGTERM once (a too-large result goes
    /// straight to SIGKILL), SIGKILL when `kill_at` has come. Both need the child's pid; before
    /// the `P` record arrives they wait for it.
    fn enforce_stop(&mut self, now: Instant) {
        let (Some(reason), Some(_)) = (self.stop, self.pid) else {
            return;
        };
        if !self.term_sent && reason != StopReason::TooLarge {
            self.signal(Signal::SIGTERM);
            self.term_sent = true;
        }
        if !self.killed && self.kill_at.is_some_and(|at| now >= at) {
            self.signal(Signal::SIGKILL);
            self.killed = true;
        }
    }

    /// Signals the child's process group (it makes itself a group leader) and the child itself
    /// (in case it has not got that far yet). Never after its exit was reported: the pid may
    /// belong to someone else by then.
    fn signal(&self, signal: Signal) {
        if let (Some(pid), None) = (self.pid, self.exit_code) {
            let _ = kill(Pid::from_raw(-pid), signal);
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }

    fn read_status(&mut self, scratch: &mut [u8]) -> std::io::Result<()> {
        let Some(fd) = &self.status_r else {
            return Ok(());
        };
        let mut cmsg = nix::cmsg_space!(UnixCredentials);
        let mut iov = [IoSliceMut::new(&mut scratch[..64])];
        let received = recvmsg::<()>(fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map(|msg| {
                let sender = msg.cmsgs().ok().and_then(|mut cmsgs| {
                    cmsgs.find_map(|c| match c {
                        ControlMessageOwned::ScmCredentials(creds) => Some(creds.pid()),
                        _ => None,
                    })
                });
                (msg.bytes, sender)
            });
        match received {
            Ok((0, _)) => {
                self.status_r = None;
                if self.exit_code.is_none() && self.fork_errno.is_none() {
                    // The forkserver died with our child unreaped: make sure the child dies too.
                    self.signal(Signal::SIGKILL);
                }
            }
            Ok((n, sender)) => {
                self.status_buf.extend_from_slice(&scratch[..n]);
                while self.status_buf.len() >= STATUS_RECORD_LEN {
                    let record: Vec<u8> = self.status_buf.drain(..STATUS_RECORD_LEN).collect();
                    let value = i32::from_be_bytes([record[1], record[2], record[3], record[4]]);
                    match record[0] {
                        b'R' => self.received = true,
                        b'P' => {
                            // The sender's pid as the kernel gives it to us; the record's own
                            // value is the pid in the child's namespace.
                            self.pid = Some(sender.unwrap_or(value));
                            // A stop requested before the pid was known is carried out now.
                            self.enforce_stop(Instant::now());
                        }
                        b'X' => self.exit_code = Some(value),
                        b'E' => self.fork_errno = Some(value),
                        other => log::warn!("Unknown forkserver status record {other:#x}"),
                    }
                }
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(err) => return Err(err.into()),
        }
        Ok(())
    }

    fn read_result(&mut self, scratch: &mut [u8]) -> std::io::Result<()> {
        let Some(fd) = &self.result_r else {
            return Ok(());
        };
        // Drain what is there now; a large result arrives in many reads.
        for _ in 0..64 {
            match read(fd, scratch) {
                Ok(0) => {
                    self.result.eof = true;
                    self.result_r = None;
                    return Ok(());
                }
                Ok(n) => {
                    if let Some(len) = self.result.feed(&scratch[..n]) {
                        if len as u64 > self.max_result {
                            self.begin_stop(StopReason::TooLarge);
                            self.too_large = Some(len as u64);
                            return Ok(());
                        }
                        self.result.body.reserve(len.min(64 << 20));
                    }
                }
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    fn write_input(&mut self) -> std::io::Result<()> {
        let total = self.input_len();
        let Some(fd) = &self.task_w else {
            return Ok(());
        };
        while self.written < total {
            // Find the part and offset of the next unwritten byte.
            let mut offset = self.written;
            let mut part: &[u8] = &[];
            for candidate in self.input.parts {
                if offset < candidate.len() {
                    part = &candidate[offset..];
                    break;
                }
                offset -= candidate.len();
            }
            match write(fd, part) {
                Ok(n) => self.written += n,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => {}
                // The child stopped reading (it died or closed the pipe); its exit tells why.
                Err(Errno::EPIPE) => break,
                Err(err) => return Err(err.into()),
            }
        }
        // Closing signals end-of-task to the child.
        self.task_w = None;
        Ok(())
    }

    fn outcome(self) -> ChildOutcome {
        if let Some(errno) = self.fork_errno {
            return ChildOutcome::ForkFailed(errno);
        }
        match self.stop {
            Some(StopReason::Cancel) => return ChildOutcome::Cancelled,
            Some(StopReason::Timeout) => return ChildOutcome::TimedOut,
            Some(StopReason::TooLarge) => {
                return ChildOutcome::ResultTooLarge(self.too_large.unwrap_or_default())
            }
            None => {}
        }
        match self.exit_code {
            // Gone before it even took the request: nothing ran, another forkserver may run it.
            None if !self.received => ChildOutcome::ForkserverUnreachable,
            None => ChildOutcome::ForkserverLost,
            Some(0) if self.result.complete() => ChildOutcome::Frame(self.result.body),
            Some(0) => ChildOutcome::NoResult,
            Some(code) => ChildOutcome::Exited(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz_support::{iterations, Rng};

    fn reader() -> ResultReader {
        ResultReader {
            header: [0; 4],
            header_len: 0,
            body: Vec::new(),
            expected: None,
            eof: false,
        }
    }

    #[test]
    fn a_frame_in_any_chunking_reads_back_whole() {
        let mut rng = Rng::new(0x5eed_0003);
        for _ in 0..iterations(2_000) {
            let body: Vec<u8> = (0..rng.below(3000)).map(|_| rng.next_u64() as u8).collect();
            let mut frame = (body.len() as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&body);
            // Bytes after the frame (a misbehaving child) must not leak into it.
            frame.extend((0..rng.below(4)).map(|_| rng.next_u64() as u8));
            let mut r = reader();
            let mut announced = None;
            let mut at = 0;
            while at < frame.len() {
                let end = (at + 1 + rng.below(700)).min(frame.len());
                if let Some(len) = r.feed(&frame[at..end]) {
                    assert!(announced.is_none(), "the length is announced once");
                    announced = Some(len);
                }
                at = end;
            }
            assert_eq!(announced, Some(body.len()));
            assert!(r.complete());
            assert_eq!(r.body, body);
        }
    }

    #[test]
    fn garbage_never_panics_the_frame_reader() {
        let mut rng = Rng::new(0x5eed_0004);
        for _ in 0..iterations(2_000) {
            let mut r = reader();
            for _ in 0..rng.below(6) {
                let chunk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect();
                r.feed(&chunk);
            }
            let _ = r.complete();
        }
    }
}
