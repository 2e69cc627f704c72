//! How threads hand messages to the WebSocket thread.
//!
//! The WebSocket thread is the only one that touches the socket. Workers and the offer timer
//! push serialised messages onto a channel and bump an eventfd the WebSocket thread polls
//! beside the socket, so a message leaves as soon as it is queued, never at the next tick.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::messages::RunnerMessage;

/// What the WebSocket thread is asked to do.
pub enum Outgoing {
    /// Send this message, if the connection it belongs to (see
    /// [`RunnerState::connection`](crate::task_state::RunnerState::connection)) is still the
    /// current one: replies for tasks of a lost connection must not reach the next one.
    Text { text: String, connection: u64 },
    /// Send what is queued before this, close the connection, and stop (shutdown).
    Close,
}

/// The sending side; cheap to clone, one per thread.
#[derive(Clone)]
pub struct Outbox {
    queue: Sender<Outgoing>,
    wake: Arc<EventFd>,
}

/// The WebSocket thread's side.
pub struct OutboxReceiver {
    queue: Receiver<Outgoing>,
    wake: Arc<EventFd>,
}

pub fn outbox() -> std::io::Result<(Outbox, OutboxReceiver)> {
    let wake = Arc::new(EventFd::from_flags(
        EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK,
    )?);
    let (tx, rx) = crossbeam_channel::unbounded();
    Ok((
        Outbox {
            queue: tx,
            wake: wake.clone(),
        },
        OutboxReceiver { queue: rx, wake },
    ))
}

impl Outbox {
    /// Queues a message that belongs to broker connection number `connection`.
    pub fn send(&self, connection: u64, message: &RunnerMessage) {
        self.push(Outgoing::Text {
            text: message.to_json(),
            connection,
        });
    }

    /// Asks the WebSocket thread to flush what is queued, close the connection and stop.
    pub fn close(&self) {
        self.push(Outgoing::Close);
    }

    fn push(&self, item: Outgoing) {
        // The receiver lives as long as the process; if it is gone we are exiting anyway.
        if self.queue.send(item).is_ok() {
            let _ = self.wake.write(1);
        }
    }
}

impl OutboxReceiver {
    /// Readable when messages are waiting.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Takes every queued message, resetting the wake-up.
    pub fn drain(&self) -> impl Iterator<Item = Outgoing> + '_ {
        // EAGAIN just means nothing woke us; the queue is the source of truth.
        let _ = self.wake.read();
        self.queue.try_iter()
    }

    /// Waits up to `wait` while there is no connection: messages are dropped (there is nowhere
    /// to send them); returns true if a close was asked for.
    pub fn wait_for_close(&self, wait: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match self.queue.recv_deadline(deadline) {
                Ok(Outgoing::Close) => return true,
                Ok(Outgoing::Text { .. }) => {}
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return false
                }
            }
        }
    }
}
