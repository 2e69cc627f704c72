//! The runner's log output: one line per record on stdout, like n8n's runner.
//!
//! On a terminal each line carries a UTC timestamp and a coloured level
//! (`2026-01-02 03:04:05.678  INFO  message`; `NO_COLOR` turns colours off). When stdout is not a
//! terminal (n8n's launcher, Docker, systemd) only the message is printed: whoever collects the
//! output adds time and level, as n8n's launcher does.

use std::io::{IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StdoutLogger {
    decorate: bool,
    colour: bool,
    /// `exec` prints its result on stdout, so its log lines go to stderr.
    to_stderr: bool,
}

/// Where log lines go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stdout,
    Stderr,
}

/// Installs the logger; call once, before anything logs.
pub fn init(level: LevelFilter, target: Target) {
    let to_stderr = target == Target::Stderr;
    let decorate = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let logger = StdoutLogger {
        decorate,
        colour: decorate && std::env::var_os("NO_COLOR").is_none(),
        to_stderr,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

impl Log for StdoutLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        // Libraries (tungstenite) log at debug about every frame; keep to our own records.
        metadata.target().starts_with(env!("CARGO_CRATE_NAME"))
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = if self.decorate {
            let (name, colour) = match record.level() {
                Level::Error => ("ERROR", "\x1b[31m"),
                Level::Warn => ("WARNING", "\x1b[33m"),
                Level::Info => ("INFO", "\x1b[32m"),
                Level::Debug | Level::Trace => ("DEBUG", "\x1b[34m"),
            };
            let stamp = utc_timestamp(SystemTime::now());
            if self.colour {
                format!(
                    "{stamp}  {colour}{name}\x1b[0m  {colour}{}\x1b[0m\n",
                    record.args()
                )
            } else {
                format!("{stamp}  {name}  {}\n", record.args())
            }
        } else {
            format!("{}\n", record.args())
        };
        // One write per line so lines from several threads never interleave.
        if self.to_stderr {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        } else {
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC, without a date-time crate.
fn utc_timestamp(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        day_secs / 3600,
        day_secs / 60 % 60,
        day_secs % 60,
        since_epoch.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_200_123); // 2024-03-01 00:00:00.123
        assert_eq!(utc_timestamp(t), "2024-03-01 00:00:00.123");
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000");
    }
}

/// `text` with every control character (an ANSI escape, a newline or carriage return that would
/// start or overwrite a line on a terminal) shown as an escape: what user code wrote can never
/// pass for a line of the runner's own log.
pub fn escape_control(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape_control("\x1b[2J\rINFO fake\tline\nnext"),
            "\\u{1b}[2J\\rINFO fake\\tline\\nnext"
        );
        assert_eq!(escape_control("plain ü"), "plain ü");
    }
}
