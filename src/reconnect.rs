//! When to try the broker again: fast at first, then at n8n's pace.
//!
//! n8n's own runner waits a fixed 5 s between attempts. In queue mode that is too slow: a
//! restarted worker's broker listens within its first seconds of start-up, picks up jobs as soon
//! as it is ready, and every Code node of those jobs waits for a runner until the next attempt
//! lands. So an outage is retried quickly for its first [`FAST_WINDOW`]: the delay starts at
//! [`FIRST_DELAY`] and doubles up to [`FAST_CEILING`], so a broker that comes back has its runner
//! within about half a second. An outage older than that is retried every
//! [`RECONNECT_DELAY`], n8n's 5 s, so a broker that is gone for good costs no more than it does
//! with n8n's runner.
//!
//! Every delay is shortened by a random 0–25 % (jitter), so the runners of many workers, or
//! many replicas of one, do not hit a broker (and its rate-limited auth endpoint) in lockstep
//! when it comes back. The randomness comes from `getrandom`, which the runner already uses for
//! its ids, so no random-number crate is added for it.

use std::time::{Duration, Instant};

/// n8n's retry interval, used once an outage outlasts the fast window.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(5);
/// The delay before the first attempt after a lost connection or a first failed attempt.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest delay during the fast window.
pub const FAST_CEILING: Duration = Duration::from_millis(500);
/// How long an outage is retried quickly. Long enough to cover a worker or main restart on a
/// busy host (10–30 s in tests/e2e); each fast attempt is one refused or failed TCP connect.
pub const FAST_WINDOW: Duration = Duration::from_secs(60);
/// The largest share of a delay the jitter takes off.
const MAX_JITTER: f64 = 0.25;

/// Whether an attempt falls in the fast window or at n8n's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Fast,
    Steady,
}

/// The next wait and the pace it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub delay: Duration,
    pub pace: Pace,
}

/// The retry schedule of one runner: one outage at a time, reset by a working connection.
#[derive(Debug)]
pub struct Backoff {
    outage_began: Option<Instant>,
    attempts: u32,
    jitter: fn() -> f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(random_fraction)
    }
}

impl Backoff {
    /// A schedule whose jitter draws from `jitter`, a source of numbers in `[0, 1)`.
    pub fn new(jitter: fn() -> f64) -> Backoff {
        Backoff {
            outage_began: None,
            attempts: 0,
            jitter,
        }
    }

    /// The connection worked: the next outage starts the schedule again.
    pub fn reset(&mut self) {
        self.outage_began = None;
        self.attempts = 0;
    }

    /// How long to wait before the next attempt, `now` being the time the last one ended.
    pub fn next_wait(&mut self, now: Instant) -> Wait {
        let began = *self.outage_began.get_or_insert(now);
        let (nominal, pace) = if now.saturating_duration_since(began) < FAST_WINDOW {
            let doubled = FIRST_DELAY.saturating_mul(1u32 << self.attempts.min(16));
            (doubled.min(FAST_CEILING), Pace::Fast)
        } else {
            (RECONNECT_DELAY, Pace::Steady)
        };
        self.attempts = self.attempts.saturating_add(1);
        let cut = (self.jitter)().clamp(0.0, 1.0) * MAX_JITTER;
        Wait {
            delay: nominal.mul_f64(1.0 - cut),
            pace,
        }
    }
}

/// A number in `[0, 1)` from the OS's random source (the clock's nanoseconds if that fails:
/// jitter only needs to differ between processes, not to be unpredictable).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    let value = match getrandom::fill(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    };
    f64::from(value) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> f64 {
        0.0
    }

    fn most_jitter() -> f64 {
        0.999_999
    }

    fn delays(backoff: &mut Backoff, start: Instant, count: usize) -> Vec<Duration> {
        (0..count).map(|_| backoff.next_wait(start).delay).collect()
    }

    #[test]
    fn an_outage_is_retried_fast_doubling_up_to_the_fast_ceiling() {
        let mut backoff = Backoff::new(no_jitter);
        let ms = Duration::from_millis;
        assert_eq!(
            delays(&mut backoff, Instant::now(), 6),
            [ms(100), ms(200), ms(400), ms(500), ms(500), ms(500)]
        );
    }

    #[test]
    fn after_the_fast_window_it_is_n8ns_five_seconds() {
        let mut backoff = Backoff::new(no_jitter);
        let start = Instant::now();
        assert_eq!(backoff.next_wait(start).pace, Pace::Fast);
        let later = backoff.next_wait(start + FAST_WINDOW);
        assert_eq!(later.delay, RECONNECT_DELAY);
        assert_eq!(later.pace, Pace::Steady);
    }

    #[test]
    fn a_working_connection_starts_the_schedule_again() {
        let mut backoff = Backoff::new(no_jitter);
        let start = Instant::now();
        backoff.next_wait(start);
        backoff.next_wait(start + FAST_WINDOW);
        backoff.reset();
        let after = start + FAST_WINDOW * 3;
        assert_eq!(
            backoff.next_wait(after),
            Wait {
                delay: FIRST_DELAY,
                pace: Pace::Fast
            }
        );
    }

    #[test]
    fn jitter_only_shortens_and_by_at_most_a_quarter() {
        let mut backoff = Backoff::new(most_jitter);
        let start = Instant::now();
        let first = backoff.next_wait(start).delay;
        assert!(
            first < FIRST_DELAY && first > FIRST_DELAY.mul_f64(0.75),
            "{first:?}"
        );
        let steady = backoff.next_wait(start + FAST_WINDOW).delay;
        assert!(steady < RECONNECT_DELAY && steady > RECONNECT_DELAY.mul_f64(0.75));
    }

    #[test]
    fn the_random_source_stays_in_range_and_varies() {
        let draws: Vec<f64> = (0..64).map(|_| random_fraction()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }
}
