//! How threads hand messages to the WebSocket thread.
//!
//! The WebSocket thread is the only one that touches the socket. Workers and the offer timer
//! push serialised messages onto a channel and bump an eventfd the WebSocket thread polls
//! beside the socket, so a message leaves as soon as it is queued, never at the next tick.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::messages::RunnerMessage;

/// The sending side; cheap to clone, one per thread.
#[derive(Clone)]
pub struct Outbox {
    queue: Sender<String>,
    wake: Arc<EventFd>,
}

/// The WebSocket thread's side.
pub struct OutboxReceiver {
    queue: Receiver<String>,
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
    pub fn send(&self, message: &RunnerMessage) {
        self.send_text(message.to_json());
    }

    pub fn send_text(&self, text: String) {
        // The receiver lives as long as the process; if it is gone we are exiting anyway.
        if self.queue.send(text).is_ok() {
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
    pub fn drain(&self) -> impl Iterator<Item = String> + '_ {
        // EAGAIN just means nothing woke us; the queue is the source of truth.
        let _ = self.wake.read();
        self.queue.try_iter()
    }
}
