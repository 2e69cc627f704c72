//! The offer timer: keeps `max_concurrency` offers and tasks out at the broker.
//!
//! Every 250 ms it drops expired offers and sends new ones for free slots, like n8n's runner.
//! Unlike n8n's runner it also wakes when a worker frees a slot (a [`Kick`]), so a finished task's
//! slot is offered again at once instead of at the next tick.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::messages::{RunnerMessage, TASK_TYPE};
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::task_state::RunnerState;

pub const OFFER_INTERVAL: Duration = Duration::from_millis(250);

/// Asks the offer timer for an offer round now.
#[derive(Clone)]
pub struct Kick(Sender<()>);

impl Kick {
    pub fn kick(&self) {
        // A full channel already holds a pending kick; that round will see this slot too.
        match self.0.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }
}

pub fn kick_channel() -> (Kick, Receiver<()>) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    (Kick(tx), rx)
}

/// Starts the timer thread; it ends when every [`Kick`] is dropped.
pub fn spawn(
    state: Arc<RunnerState>,
    outbox: Outbox,
    kicks: Receiver<()>,
    metrics: Arc<Metrics>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("offers".into())
        .spawn(move || {
            let mut next_tick = Instant::now() + OFFER_INTERVAL;
            loop {
                match kicks.recv_deadline(next_tick) {
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout) => next_tick += OFFER_INTERVAL,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                let now = Instant::now();
                // After a stall (suspended machine) do not fire a burst of catch-up ticks.
                if next_tick < now {
                    next_tick = now + OFFER_INTERVAL;
                }
                let (connection, offers) = state.new_offers(now);
                for offer in offers {
                    Metrics::inc(&metrics.offers_sent);
                    outbox.send(
                        connection,
                        &RunnerMessage::TaskOffer {
                            offer_id: &offer.offer_id,
                            task_type: TASK_TYPE,
                            valid_for: offer.valid_for_ms,
                        },
                    );
                }
            }
        })
        .expect("spawning the offer thread")
}
