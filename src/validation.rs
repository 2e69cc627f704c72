//! The security gate every task passes before a process is used for it.
//!
//! It runs the static analysis (`analyzer`) and remembers verdicts in an LRU cache of 500
//! entries, like n8n's runner, so a workflow that runs the same Code node again and again is
//! analysed once. The cache is keyed by the full code text (not a hash: no two different codes
//! can share an entry), and each validator holds the one pair of allowlists it was built with, so
//! the allowlists are part of the key by construction. Parse failures are not cached.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;
use ruff_python_ast::PythonVersion;

use crate::analyzer::{self, ParseFailure};
use crate::security_rules::ImportPolicy;

/// Entries the cache keeps, as n8n's runner.
pub const CACHE_ENTRIES: usize = 500;
/// Longer code is analysed every time rather than held in the cache, which bounds the cache's
/// memory at 500 × 64 KiB.
const MAX_CACHED_CODE: usize = 64 * 1024;

/// The outcome of validating one piece of code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// `Line <n>: <message>` entries, in order.
    Violations(Arc<Vec<String>>),
    /// The analyzer could not parse the code.
    Unparsable(ParseFailure),
}

/// Validates code against one pair of allowlists for one interpreter version.
pub struct Validator {
    policy: ImportPolicy,
    python: PythonVersion,
    cache: Mutex<LruCache<String, Arc<Vec<String>>>>,
}

impl Validator {
    /// `python` is the interpreter's version as it reports it, e.g. `3.11.7`.
    pub fn new(policy: ImportPolicy, python: &str) -> Validator {
        Validator {
            policy,
            python: parse_version(python),
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(CACHE_ENTRIES).expect("non-zero"),
            )),
        }
    }

    pub fn validate(&self, code: &str) -> Verdict {
        if self.policy.allows_everything() {
            return Verdict::Clean;
        }
        if let Some(cached) = self.cache.lock().get(code) {
            return verdict(cached.clone());
        }
        // Analysed outside the lock: workers validate in parallel.
        let violations = match analyzer::analyze(code, &self.policy, self.python) {
            Ok(violations) => Arc::new(violations),
            Err(failure) => return Verdict::Unparsable(failure),
        };
        if code.len() <= MAX_CACHED_CODE {
            self.cache.lock().put(code.to_owned(), violations.clone());
        }
        verdict(violations)
    }

    /// Entries in the cache (for tests and metrics).
    pub fn cached(&self) -> usize {
        self.cache.lock().len()
    }
}

fn verdict(violations: Arc<Vec<String>>) -> Verdict {
    if violations.is_empty() {
        Verdict::Clean
    } else {
        Verdict::Violations(violations)
    }
}

/// `3.11.7` -> 3.11; anything unreadable -> the newest version the runner supports.
fn parse_version(text: &str) -> PythonVersion {
    let mut parts = text.split('.').map(|p| p.parse::<u8>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => PythonVersion { major, minor },
        _ => PythonVersion::PY313,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Allowlist;

    fn validator(stdlib: &str, external: &str) -> Validator {
        let policy = ImportPolicy::new(
            ["os", "json"].map(String::from),
            Allowlist::parse("S", stdlib).unwrap(),
            Allowlist::parse("E", external).unwrap(),
        );
        Validator::new(policy, "3.12.1")
    }

    #[test]
    fn clean_and_violating_code_are_told_apart() {
        let v = validator("json", "");
        assert_eq!(v.validate("import json"), Verdict::Clean);
        assert!(matches!(v.validate("import os"), Verdict::Violations(list) if list.len() == 1));
    }

    #[test]
    fn a_second_validation_is_a_cache_hit() {
        let v = validator("", "");
        v.validate("x = 1");
        v.validate("x = 1");
        assert_eq!(v.cached(), 1);
        v.validate("x = 2");
        assert_eq!(v.cached(), 2);
    }

    #[test]
    fn the_cache_evicts_the_least_recently_used_entry() {
        let v = validator("", "");
        for n in 0..CACHE_ENTRIES + 10 {
            v.validate(&format!("x = {n}"));
        }
        assert_eq!(v.cached(), CACHE_ENTRIES);
        assert!(!v.cache.lock().contains("x = 0"));
        assert!(v
            .cache
            .lock()
            .contains(&format!("x = {}", CACHE_ENTRIES + 9)));
    }

    #[test]
    fn the_same_code_gets_the_verdict_of_each_validators_allowlists() {
        assert_eq!(validator("os", "").validate("import os"), Verdict::Clean);
        assert!(matches!(
            validator("", "").validate("import os"),
            Verdict::Violations(_)
        ));
    }

    #[test]
    fn both_wildcards_skip_the_analysis() {
        let v = validator("*", "*");
        assert_eq!(v.validate("x = ().__class__"), Verdict::Clean);
        assert_eq!(v.cached(), 0);
    }

    #[test]
    fn parse_failures_are_not_cached() {
        let v = validator("", "");
        assert!(matches!(v.validate("if"), Verdict::Unparsable(_)));
        assert_eq!(v.cached(), 0);
    }

    #[test]
    fn versions_are_read_from_the_interpreters_text() {
        assert_eq!(parse_version("3.10.13"), PythonVersion::PY310);
        assert_eq!(parse_version("garbage"), PythonVersion::PY313);
    }
}
