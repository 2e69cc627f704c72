//! The runner's table of open offers and accepted tasks.
//!
//! Shared by the WebSocket thread (accept, settings, cancel), the offer timer (new offers) and
//! the workers (finish). Every method takes the lock for a few map operations and never does I/O
//! while holding it; callers send the resulting messages after the lock is released.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::eventfd::{EfdFlags, EventFd};
use parking_lot::{Condvar, Mutex};

use crate::ids;
use crate::messages::{REJECT_AT_CAPACITY, REJECT_OFFER_EXPIRED};

/// An offer is valid for this long plus up to [`OFFER_JITTER_MS`].
pub const OFFER_VALIDITY_MS: u32 = 5000;
pub const OFFER_JITTER_MS: u32 = 500;
/// Locally an offer lives a little longer than we told the broker, to allow for latency.
const OFFER_LATENCY_BUFFER: Duration = Duration::from_millis(100);

/// Tells a worker that its task was cancelled: a flag, plus an eventfd it can poll on.
pub struct CancelSignal {
    fired: AtomicBool,
    wake: EventFd,
}

impl CancelSignal {
    pub fn new() -> std::io::Result<CancelSignal> {
        let wake = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        Ok(CancelSignal {
            fired: AtomicBool::new(false),
            wake,
        })
    }

    pub fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        // The counter only fails to grow at u64::MAX - 1; one pending wake-up is enough anyway.
        let _ = self.wake.write(1);
    }

    pub fn is_fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Readable once [`fire`](Self::fire) was called.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }
}

/// An offer to announce to the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    pub offer_id: String,
    pub valid_for_ms: u32,
}

/// What happened to `broker:tasksettings`.
pub enum Start {
    /// The task was waiting; it is now running and can be cancelled through this signal. Its
    /// replies belong to broker connection number `connection`.
    Started {
        cancel: Arc<CancelSignal>,
        connection: u64,
    },
    /// No such task (never accepted, or cancelled while waiting).
    Unknown,
    /// Settings had already arrived for it.
    AlreadyRunning,
}

/// What happened to `broker:taskcancel`.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancel {
    Unknown,
    /// It was still waiting for settings; its slot is free again.
    DroppedWaiting,
    /// It is running; its worker has been told to stop it.
    Signalled,
}

enum TaskPhase {
    WaitingForSettings { connection: u64 },
    Running(Arc<CancelSignal>),
}

#[derive(Default)]
struct Tables {
    /// Offer id -> local expiry.
    offers: HashMap<String, Instant>,
    tasks: HashMap<String, TaskPhase>,
    offering: bool,
    /// Number of the current broker connection (0 before the first).
    connection: u64,
    /// The last registration, accepted task or finished task (for the idle shutdown).
    last_activity: Option<Instant>,
}

/// Offers and tasks of this runner.
pub struct RunnerState {
    tables: Mutex<Tables>,
    /// Notified whenever a task goes away.
    task_gone: Condvar,
    max_concurrency: usize,
}

impl RunnerState {
    pub fn new(max_concurrency: usize) -> RunnerState {
        RunnerState {
            tables: Mutex::new(Tables::default()),
            task_gone: Condvar::new(),
            max_concurrency,
        }
    }

    /// Turns offering on (registered with a broker) or off (disconnected, draining). Turning it
    /// off forgets open offers: the broker forgets them too when the connection goes.
    pub fn set_offering(&self, on: bool) {
        let mut tables = self.tables.lock();
        tables.offering = on;
        if on {
            tables.last_activity = Some(Instant::now());
        } else {
            tables.offers.clear();
        }
    }

    /// Stops new offers but keeps the open ones valid (`broker:drain`).
    pub fn stop_offering(&self) {
        self.tables.lock().offering = false;
    }

    /// A new broker connection is up; returns its number.
    pub fn begin_connection(&self) -> u64 {
        let mut tables = self.tables.lock();
        tables.connection += 1;
        tables.connection
    }

    /// The number of the current broker connection.
    pub fn connection(&self) -> u64 {
        self.tables.lock().connection
    }

    /// The broker connection is gone, and with it everything the broker knew of us: open offers,
    /// tasks waiting for settings (forgotten) and running tasks (told to stop; the broker has
    /// already failed them). Returns how many tasks were affected.
    pub fn connection_lost(&self) -> usize {
        let mut tables = self.tables.lock();
        tables.offering = false;
        tables.offers.clear();
        let before = tables.tasks.len();
        tables.tasks.retain(|_, phase| match phase {
            TaskPhase::Running(signal) => {
                signal.fire();
                true
            }
            TaskPhase::WaitingForSettings { .. } => false,
        });
        self.task_gone.notify_all();
        before
    }

    /// Drops expired offers and creates enough new ones that offers + tasks = max concurrency;
    /// returns them with the number of the connection they are for.
    pub fn new_offers(&self, now: Instant) -> (u64, Vec<NewOffer>) {
        let mut tables = self.tables.lock();
        if !tables.offering {
            return (tables.connection, Vec::new());
        }
        tables.offers.retain(|_, expiry| *expiry >= now);
        let used = tables.offers.len() + tables.tasks.len();
        let wanted = self.max_concurrency.saturating_sub(used);
        let mut created = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            let offer = NewOffer {
                offer_id: ids::new_id(),
                valid_for_ms: OFFER_VALIDITY_MS + ids::random_up_to(OFFER_JITTER_MS),
            };
            let expiry =
                now + Duration::from_millis(offer.valid_for_ms.into()) + OFFER_LATENCY_BUFFER;
            tables.offers.insert(offer.offer_id.clone(), expiry);
            created.push(offer);
        }
        (tables.connection, created)
    }

    /// Handles `broker:taskofferaccept`: Ok to accept, or the rejection reason.
    pub fn accept(&self, task_id: &str, offer_id: &str, now: Instant) -> Result<(), &'static str> {
        let mut tables = self.tables.lock();
        match tables.offers.get(offer_id) {
            Some(expiry) if *expiry >= now => {}
            _ => return Err(REJECT_OFFER_EXPIRED),
        }
        if tables.tasks.len() >= self.max_concurrency {
            return Err(REJECT_AT_CAPACITY);
        }
        tables.offers.remove(offer_id);
        let connection = tables.connection;
        tables.tasks.insert(
            task_id.to_owned(),
            TaskPhase::WaitingForSettings { connection },
        );
        tables.last_activity = Some(now);
        Ok(())
    }

    /// Handles `broker:tasksettings`. `signal` is created by the caller, outside the lock.
    pub fn start(&self, task_id: &str, signal: Arc<CancelSignal>) -> Start {
        let mut tables = self.tables.lock();
        match tables.tasks.get_mut(task_id) {
            None => Start::Unknown,
            Some(TaskPhase::Running(_)) => Start::AlreadyRunning,
            Some(phase) => {
                let TaskPhase::WaitingForSettings { connection } = *phase else {
                    unreachable!("matched above")
                };
                *phase = TaskPhase::Running(signal.clone());
                Start::Started {
                    cancel: signal,
                    connection,
                }
            }
        }
    }

    /// Handles `broker:taskcancel`.
    pub fn cancel(&self, task_id: &str) -> Cancel {
        let mut tables = self.tables.lock();
        match tables.tasks.get(task_id) {
            None => Cancel::Unknown,
            Some(TaskPhase::WaitingForSettings { .. }) => {
                tables.tasks.remove(task_id);
                self.task_gone.notify_all();
                Cancel::DroppedWaiting
            }
            Some(TaskPhase::Running(signal)) => {
                signal.fire();
                Cancel::Signalled
            }
        }
    }

    /// Forgets a task that is still waiting for settings (its settings were unusable);
    /// true if there was such a task.
    pub fn drop_waiting(&self, task_id: &str) -> bool {
        let mut tables = self.tables.lock();
        if matches!(
            tables.tasks.get(task_id),
            Some(TaskPhase::WaitingForSettings { .. })
        ) {
            tables.tasks.remove(task_id);
            return true;
        }
        false
    }

    /// A task was answered; its slot is free.
    pub fn finish(&self, task_id: &str) {
        let mut tables = self.tables.lock();
        tables.tasks.remove(task_id);
        tables.last_activity = Some(Instant::now());
        self.task_gone.notify_all();
    }

    /// When the runner will have been idle for `timeout`: None while tasks exist or before the
    /// first registration.
    pub fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        let tables = self.tables.lock();
        if !tables.tasks.is_empty() {
            return None;
        }
        tables.last_activity.map(|at| at + timeout)
    }

    /// Waits until no task is left or `deadline` passes; true if none is left.
    pub fn wait_for_no_tasks(&self, deadline: Instant) -> bool {
        let mut tables = self.tables.lock();
        while !tables.tasks.is_empty() {
            if self.task_gone.wait_until(&mut tables, deadline).timed_out() {
                return tables.tasks.is_empty();
            }
        }
        true
    }

    /// Tasks accepted and not yet answered.
    pub fn task_count(&self) -> usize {
        self.tables.lock().tasks.len()
    }

    /// Shutdown: fires the cancel signal of every running task and forgets the tasks still
    /// waiting for settings, whose ids it returns (they are answered by the caller).
    pub fn cancel_all(&self) -> Vec<String> {
        let mut tables = self.tables.lock();
        let mut waiting = Vec::new();
        tables.tasks.retain(|task_id, phase| match phase {
            TaskPhase::Running(signal) => {
                signal.fire();
                true
            }
            TaskPhase::WaitingForSettings { .. } => {
                waiting.push(task_id.clone());
                false
            }
        });
        self.task_gone.notify_all();
        waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(max: usize) -> RunnerState {
        let state = RunnerState::new(max);
        state.set_offering(true);
        state
    }

    #[test]
    fn offers_fill_free_slots_only() {
        let state = registered(3);
        let now = Instant::now();
        let offers = state.new_offers(now).1;
        assert_eq!(offers.len(), 3);
        assert!(offers
            .iter()
            .all(|o| (5000..=5500).contains(&o.valid_for_ms)));
        assert!(state.new_offers(now).1.is_empty());
        state.accept("t1", &offers[0].offer_id, now).unwrap();
        assert!(
            state.new_offers(now).1.is_empty(),
            "the task holds the offer's slot"
        );
        state.finish("t1");
        assert_eq!(state.new_offers(now).1.len(), 1);
    }

    #[test]
    fn expired_offers_are_replaced() {
        let state = registered(1);
        let now = Instant::now();
        let first = state.new_offers(now).1;
        let later = now + Duration::from_millis(5601);
        let second = state.new_offers(later).1;
        assert_eq!(second.len(), 1);
        assert_ne!(first, second);
        assert_eq!(
            state.accept("t", &first[0].offer_id, later),
            Err(REJECT_OFFER_EXPIRED)
        );
    }

    #[test]
    fn unknown_or_reused_offers_are_rejected() {
        let state = registered(2);
        let now = Instant::now();
        let offers = state.new_offers(now).1;
        assert_eq!(state.accept("t", "nope", now), Err(REJECT_OFFER_EXPIRED));
        state.accept("t1", &offers[0].offer_id, now).unwrap();
        assert_eq!(
            state.accept("t2", &offers[0].offer_id, now),
            Err(REJECT_OFFER_EXPIRED)
        );
    }

    #[test]
    fn no_offers_before_registration_or_after_drain() {
        let state = RunnerState::new(2);
        assert!(state.new_offers(Instant::now()).1.is_empty());
        state.set_offering(true);
        let offers = state.new_offers(Instant::now()).1;
        state.stop_offering();
        assert!(state.new_offers(Instant::now()).1.is_empty());
        // Offers already out stay acceptable after a drain.
        state
            .accept("t", &offers[0].offer_id, Instant::now())
            .unwrap();
    }

    #[test]
    fn a_lost_connection_forgets_offers_and_waiting_tasks_and_stops_running_ones() {
        let state = registered(3);
        let now = Instant::now();
        let first = state.begin_connection();
        let offers = state.new_offers(now).1;
        state.accept("wait", &offers[0].offer_id, now).unwrap();
        state.accept("run", &offers[1].offer_id, now).unwrap();
        let signal = Arc::new(CancelSignal::new().unwrap());
        let Start::Started { connection, .. } = state.start("run", signal.clone()) else {
            panic!("not started")
        };
        assert_eq!(connection, first);
        assert_eq!(state.connection_lost(), 2);
        assert!(signal.is_fired());
        assert_eq!(
            state.task_count(),
            1,
            "the running task keeps its slot until it ends"
        );
        assert!(
            state.new_offers(now).1.is_empty(),
            "no offers without a connection"
        );
        assert_eq!(state.begin_connection(), first + 1);
    }

    #[test]
    fn cancel_drops_a_waiting_task_and_signals_a_running_one() {
        let state = registered(2);
        let now = Instant::now();
        let offers = state.new_offers(now).1;
        state.accept("wait", &offers[0].offer_id, now).unwrap();
        state.accept("run", &offers[1].offer_id, now).unwrap();
        let signal = Arc::new(CancelSignal::new().unwrap());
        assert!(matches!(
            state.start("run", signal.clone()),
            Start::Started { .. }
        ));
        assert!(matches!(
            state.start("run", Arc::new(CancelSignal::new().unwrap())),
            Start::AlreadyRunning
        ));
        assert_eq!(state.cancel("wait"), Cancel::DroppedWaiting);
        assert_eq!(state.task_count(), 1);
        assert_eq!(state.cancel("run"), Cancel::Signalled);
        assert!(signal.is_fired());
        assert_eq!(state.cancel("other"), Cancel::Unknown);
    }
}
