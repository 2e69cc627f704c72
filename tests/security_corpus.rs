//! Security corpora, run against the real binary: sandbox-escape attempts that must all be refused
//! and everyday Code-node snippets that must all pass.
//!
//! The corpora are data, one Python file per snippet, read at run time:
//!
//! * `tests/corpus/escapes/NNN_name.py` — an escape attempt. It carries out its technique end to
//!   end and returns `[{'json': {'escaped': <proof>}}]` only if the technique worked. It counts as
//!   **refused** unless the task ends in a `runner:taskdone` whose result contains an `escaped`
//!   key (a `runner:taskerror` of any kind, or a done without the marker, is a refusal). A task
//!   that never ends (runner crash, lost connection, no answer in time) is reported as a failure:
//!   nothing shows that it was refused. Headers:
//!   `# technique: ...` (required), `# configs: default, stdlib_all, common` (required: the
//!   configurations it must be refused in, any of `default`, `stdlib_all` and `common`; see
//!   [`Config`]), optional `# mode: all|each` and `# items: <json>`.
//! * `tests/corpus/legit/NNN_name.py` — a legitimate snippet with its exact expected result.
//!   Headers: `# allow: none|mod1,mod2` (N8N_RUNNERS_STDLIB_ALLOW), `# mode: all|each`,
//!   `# items: <json>`, `# expect: <json>` (the whole `data.result`), optional
//!   `# prints: <json>` (the `logNodeOutput` params, in order), optional `# min_python: 3.12`.
//!
//!
//! Under `N8N_RUNNERS_STDLIB_ALLOW=*` user code may import `os`, `ctypes`, `gc`, `inspect`,
//! `subprocess`: by design it can do whatever its own process can, and no Python-level guard
//! (n8n's included) can stop introspection *within* that process. What must hold there is the
//! process boundary: the runner, the forkserver, their tokens and memory, other tasks. Escapes
//! marked `# stdlib_all: in-process — <why>` only reach the task's own process under `*`; there
//! they are listed, not failed. Every other escape must be refused in every configuration it
//! names, and all of them with nothing allowed.
//!
//! Headers are the leading `# key: value` comment lines (other leading comment lines are free
//! text; a repeated key continues the value). The whole file, headers included, is the code sent.
//!
//! To keep it fast, each configuration gets ONE runner and one broker connection, and its
//! snippets go through it one after the other (distinct task ids), with a 5 s task timeout.
//! Legit snippets get one runner per distinct allowlist. If a task never finishes, the runner
//! is replaced and the run goes on, so every failing snippet is listed, not just the first.

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

const TASK_TIMEOUT_SECS: &str = "5";
/// `N8N_RUNNERS_STDLIB_ALLOW` of the `common` configuration: the everyday modules an operator
/// allows for data work (parsing, dates, maths, text, small data classes), and `inspect`. None of
/// them is a way into the process by design: no os, sys, subprocess, ctypes, importlib, builtins,
/// types, gc, pickle, code, pydoc, codecs, io. Several of them still carry library sinks that take
/// names or source code as strings (operator, typing, dataclasses, enum, functools, string, uuid,
/// copy), or hand out attributes by name (inspect); escapes through those must be refused here.
const COMMON_STDLIB_ALLOW: &str = "json,re,datetime,time,calendar,zoneinfo,math,statistics,random,\
decimal,fractions,collections,itertools,functools,operator,string,textwrap,typing,dataclasses,\
enum,uuid,copy,hashlib,base64,inspect";
const MIN_SNIPPETS: usize = 60;
/// How much of a reply a failure line shows.
const SHOWN_CHARS: usize = 400;

// ---------------------------------------------------------------------------------------------
// The corpora on disk

struct Snippet {
    file: String,
    code: String,
    headers: BTreeMap<String, String>,
}

impl Snippet {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers.get(key).map(String::as_str)
    }
}

fn corpus_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
        .join(name)
}

/// Every `.py` file of a corpus, sorted by file name.
fn load(name: &str) -> Vec<Snippet> {
    let dir = corpus_dir(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.expect("corpus directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let code = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            Snippet {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                headers: parse_headers(&code),
                code,
            }
        })
        .collect()
}

/// The leading `# key: value` lines; a repeated key continues its value after a space.
fn parse_headers(code: &str) -> BTreeMap<String, String> {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for line in code.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = rest.trim().split_once(':') else {
            continue;
        };
        let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !is_key {
            continue;
        }
        let value = value.trim();
        headers
            .entry(key.to_owned())
            .and_modify(|existing| {
                existing.push(' ');
                existing.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    headers
}

fn json_header(snippet: &Snippet, key: &str) -> Result<Option<Value>, String> {
    snippet
        .header(key)
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|err| format!("{}: `# {key}:` is not valid JSON: {err}", snippet.file))
        })
        .transpose()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    AllItems,
    EachItem,
}

fn mode_of(snippet: &Snippet) -> Result<Mode, String> {
    match snippet.header("mode").unwrap_or("all") {
        "all" => Ok(Mode::AllItems),
        "each" => Ok(Mode::EachItem),
        other => Err(format!(
            "{}: unknown mode {other:?} (all|each)",
            snippet.file
        )),
    }
}

fn settings_for(mode: Mode, code: &str, items: Value) -> Value {
    match mode {
        Mode::AllItems => all_items(code, items),
        Mode::EachItem => per_item(code, items),
    }
}

// ---------------------------------------------------------------------------------------------
// Escape snippets

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Config {
    /// Default allowlists: nothing importable.
    Default,
    /// `N8N_RUNNERS_STDLIB_ALLOW=*` (external packages still not allowed).
    StdlibAll,
    /// `N8N_RUNNERS_STDLIB_ALLOW` = [`COMMON_STDLIB_ALLOW`]: a realistic allowlist of everyday
    /// modules (json, re, datetime, time, calendar, zoneinfo, math, statistics, random, decimal,
    /// fractions, collections, itertools, functools, operator, string, textwrap, typing,
    /// dataclasses, enum, uuid, copy, hashlib, base64), none of which may open the process.
    Common,
}

impl Config {
    fn label(self) -> &'static str {
        match self {
            Config::Default => "default",
            Config::StdlibAll => "stdlib_all",
            Config::Common => "common",
        }
    }

    fn env(self) -> Vec<(String, String)> {
        let mut env = vec![(
            "N8N_RUNNERS_TASK_TIMEOUT".to_owned(),
            TASK_TIMEOUT_SECS.to_owned(),
        )];
        match self {
            Config::Default => {}
            Config::StdlibAll => {
                env.push(("N8N_RUNNERS_STDLIB_ALLOW".to_owned(), "*".to_owned()));
            }
            Config::Common => env.push((
                "N8N_RUNNERS_STDLIB_ALLOW".to_owned(),
                COMMON_STDLIB_ALLOW.to_owned(),
            )),
        }
        env
    }
}

struct Escape {
    snippet: Snippet,
    configs: Vec<Config>,
    mode: Mode,
    items: Value,
    /// `# stdlib_all: in-process`: under `STDLIB_ALLOW=*` this technique reaches only the task's
    /// own process (see the module comment).
    in_process_under_stdlib_all: bool,
}

fn escape_from(snippet: Snippet) -> Result<Escape, String> {
    if snippet.header("technique").unwrap_or("").is_empty() {
        return Err(format!("{}: missing `# technique:`", snippet.file));
    }
    let mut configs = Vec::new();
    for part in snippet.header("configs").unwrap_or("").split(',') {
        match part.trim() {
            "" => {}
            "default" => configs.push(Config::Default),
            "stdlib_all" => configs.push(Config::StdlibAll),
            "common" => configs.push(Config::Common),
            other => {
                return Err(format!(
                    "{}: unknown configuration {other:?} (default|stdlib_all|common)",
                    snippet.file
                ))
            }
        }
    }
    if configs.is_empty() {
        return Err(format!("{}: missing `# configs:`", snippet.file));
    }
    let mode = mode_of(&snippet)?;
    let items = json_header(&snippet, "items")?.unwrap_or_else(|| json!([{"json": {"n": 1}}]));
    let in_process_under_stdlib_all = snippet
        .header("stdlib_all")
        .is_some_and(|v| v.starts_with("in-process"));
    Ok(Escape {
        snippet,
        configs,
        mode,
        items,
        in_process_under_stdlib_all,
    })
}

fn load_escapes() -> Vec<Escape> {
    let mut escapes = Vec::new();
    let mut errors = Vec::new();
    for snippet in load("escapes") {
        match escape_from(snippet) {
            Ok(escape) => escapes.push(escape),
            Err(error) => errors.push(error),
        }
    }
    assert!(
        errors.is_empty(),
        "malformed escape snippets:\n{}",
        errors.join("\n")
    );
    escapes
}

/// Whether `value` (at any depth) has an object key named `key`.
fn has_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map.contains_key(key) || map.values().any(|v| has_key(v, key)),
        Value::Array(list) => list.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

fn escaped(last: &Value) -> bool {
    last["type"] == "runner:taskdone" && has_key(&last["data"]["result"], "escaped")
}

fn run_escapes(config: Config) {
    let escapes: Vec<Escape> = load_escapes()
        .into_iter()
        .filter(|escape| escape.configs.contains(&config))
        .collect();
    assert!(
        !escapes.is_empty(),
        "no escape snippet runs in {}",
        config.label()
    );
    let mut session = Session::new(format!("escapes/{}", config.label()), config.env());
    let mut not_refused = Vec::new();
    let mut in_process = Vec::new();
    for (index, escape) in escapes.iter().enumerate() {
        let task_id = format!("escape-{}-{:03}", config.label(), index + 1);
        let settings = settings_for(escape.mode, &escape.snippet.code, escape.items.clone());
        let (refused, shown) = match session.run(&task_id, settings) {
            Ok(outcome) => (!escaped(&outcome.last), describe(&outcome.last)),
            Err(failure) => (false, failure),
        };
        eprintln!(
            "[escapes/{}] {} {}: {}",
            config.label(),
            if refused {
                "refused    "
            } else {
                "NOT REFUSED"
            },
            escape.snippet.file,
            shown
        );
        if !refused && config == Config::StdlibAll && escape.in_process_under_stdlib_all {
            in_process.push(escape.snippet.file.clone());
        } else if !refused {
            not_refused.push(format!(
                "{} [{}]: {}",
                escape.snippet.file,
                config.label(),
                shown
            ));
        }
    }
    let total = escapes.len();
    eprintln!(
        "escapes refused ({}): {}/{}",
        config.label(),
        total - not_refused.len() - in_process.len(),
        total
    );
    if !in_process.is_empty() {
        eprintln!(
            "escapes reaching only the task's own process ({}, by design of STDLIB_ALLOW=*): {}: {}",
            config.label(),
            in_process.len(),
            in_process.join(", ")
        );
    }
    assert!(
        not_refused.is_empty(),
        "{} of {} escape attempts were not refused ({}):\n{}",
        not_refused.len(),
        total,
        config.label(),
        not_refused.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Legitimate snippets

struct Legit {
    snippet: Snippet,
    /// Normalised N8N_RUNNERS_STDLIB_ALLOW value ("" = nothing allowed).
    allow: String,
    mode: Mode,
    items: Value,
    expect: Value,
    prints: Option<Value>,
    min_python: Option<(u32, u32)>,
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut numbers = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u32>().ok());
    Some((numbers.next()??, numbers.next()??))
}

fn legit_from(snippet: Snippet) -> Result<Legit, String> {
    let allow = match snippet.header("allow") {
        None => return Err(format!("{}: missing `# allow:` (use `none`)", snippet.file)),
        Some("none") | Some("") => String::new(),
        Some(list) => {
            let mut modules: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect();
            modules.sort_unstable();
            modules.dedup();
            modules.join(",")
        }
    };
    let mode = mode_of(&snippet)?;
    let items = json_header(&snippet, "items")?
        .ok_or_else(|| format!("{}: missing `# items:`", snippet.file))?;
    let expect = json_header(&snippet, "expect")?
        .ok_or_else(|| format!("{}: missing `# expect:`", snippet.file))?;
    let prints = json_header(&snippet, "prints")?;
    let min_python = match snippet.header("min_python") {
        None => None,
        Some(text) => Some(
            parse_version(text)
                .ok_or_else(|| format!("{}: `# min_python:` must look like 3.12", snippet.file))?,
        ),
    };
    Ok(Legit {
        snippet,
        allow,
        mode,
        items,
        expect,
        prints,
        min_python,
    })
}

fn load_legit() -> Vec<Legit> {
    let mut legit = Vec::new();
    let mut errors = Vec::new();
    for snippet in load("legit") {
        match legit_from(snippet) {
            Ok(snippet) => legit.push(snippet),
            Err(error) => errors.push(error),
        }
    }
    assert!(
        errors.is_empty(),
        "malformed legit snippets:\n{}",
        errors.join("\n")
    );
    legit
}

/// The (major, minor) version of the interpreter the runner uses (`N8N_RUNNERS_PYTHON`, else
/// `python3`).
fn interpreter_version() -> (u32, u32) {
    let python = common::python();
    let output = Command::new(&python)
        .args(["-c", "import sys; print(sys.version_info[:2])"])
        .output()
        .unwrap_or_else(|err| panic!("cannot run {python}: {err}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    parse_version(&text).unwrap_or_else(|| panic!("cannot read the version of {python}: {text:?}"))
}

/// The `params` of every `logNodeOutput` RPC, in order.
fn printed(outcome: &TaskOutcome) -> Value {
    Value::Array(
        outcome
            .rpcs
            .iter()
            .filter(|rpc| rpc["name"] == "logNodeOutput")
            .map(|rpc| rpc["params"].clone())
            .collect(),
    )
}

/// None if the snippet passed, else what came back.
fn legit_failure(legit: &Legit, outcome: &TaskOutcome) -> Option<String> {
    if outcome.last["type"] != "runner:taskdone" {
        return Some(describe(&outcome.last));
    }
    let result = &outcome.last["data"]["result"];
    if result != &legit.expect {
        return Some(format!(
            "wrong result: expected {}, got {}",
            shorten(&legit.expect.to_string()),
            shorten(&result.to_string())
        ));
    }
    if let Some(expected) = &legit.prints {
        let got = printed(outcome);
        if &got != expected {
            return Some(format!(
                "wrong prints: expected {}, got {}",
                shorten(&expected.to_string()),
                shorten(&got.to_string())
            ));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// One runner per configuration, replaced when a task never finishes

struct Session {
    label: String,
    env: Vec<(String, String)>,
    live: Option<(TestBroker, Runner, BrokerSide)>,
    /// Set once the runner failed to start, so later tasks fail fast instead of waiting again.
    start_failure: Option<String>,
}

impl Session {
    fn new(label: String, env: Vec<(String, String)>) -> Session {
        Session {
            label,
            env,
            live: None,
            start_failure: None,
        }
    }

    /// Runs one task; Err describes a task that never finished (the runner is then replaced).
    fn run(&mut self, task_id: &str, settings: Value) -> Result<TaskOutcome, String> {
        if let Some(failure) = &self.start_failure {
            return Err(failure.clone());
        }
        if self.live.is_none() {
            let env: Vec<(&str, &str)> = self
                .env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            match catch_unwind(AssertUnwindSafe(|| registered_runner(&env))) {
                Ok(live) => self.live = Some(live),
                Err(panic) => {
                    let failure = format!(
                        "harness: the runner for {} did not start: {}",
                        self.label,
                        panic_text(&panic)
                    );
                    self.start_failure = Some(failure.clone());
                    return Err(failure);
                }
            }
        }
        let (_, runner, side) = self.live.as_mut().unwrap();
        match catch_unwind(AssertUnwindSafe(|| side.run_task(task_id, settings))) {
            Ok(outcome) => Ok(outcome),
            Err(panic) => {
                let log = runner.log();
                let tail = log[log.len().saturating_sub(5)..].join(" | ");
                // Dropping the session's runner kills it; its forkserver then kills its children.
                self.live = None;
                Err(format!(
                    "harness: no final message ({}); runner log tail: {}",
                    panic_text(&panic),
                    shorten(&tail)
                ))
            }
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<String>() {
        shorten(text)
    } else if let Some(text) = panic.downcast_ref::<&str>() {
        shorten(text)
    } else {
        "panic".to_owned()
    }
}

fn shorten(text: &str) -> String {
    let flat = text.replace('\n', "\\n");
    if flat.chars().count() <= SHOWN_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(SHOWN_CHARS).collect();
    format!("{cut}…")
}

/// One line for a final message: the error's message/description, or the done's result.
fn describe(last: &Value) -> String {
    match last["type"].as_str() {
        Some("runner:taskdone") => {
            format!("taskdone {}", shorten(&last["data"]["result"].to_string()))
        }
        Some("runner:taskerror") => {
            let error = &last["error"];
            let message = error["message"].as_str().unwrap_or("");
            match error["description"].as_str() {
                Some(description) if !description.is_empty() => {
                    shorten(&format!("taskerror {message:?} / {description:?}"))
                }
                _ => shorten(&format!("taskerror {message:?}")),
            }
        }
        _ => shorten(&last.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn corpora_have_at_least_60_snippets_each() {
    let name_ok = |file: &str| {
        let stem = file.strip_suffix(".py").unwrap_or("");
        let (number, rest) = stem.split_at(stem.len().min(3));
        number.len() == 3
            && number.chars().all(|c| c.is_ascii_digit())
            && rest.len() > 1
            && rest.starts_with('_')
            && rest[1..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let escapes = load_escapes();
    let legit = load_legit();
    let bad_names: Vec<&str> = escapes
        .iter()
        .map(|e| e.snippet.file.as_str())
        .chain(legit.iter().map(|l| l.snippet.file.as_str()))
        .filter(|file| !name_ok(file))
        .collect();
    assert!(
        bad_names.is_empty(),
        "file names must be NNN_short_name.py: {bad_names:?}"
    );
    let in_both = escapes
        .iter()
        .filter(|e| e.configs.contains(&Config::Default) && e.configs.contains(&Config::StdlibAll))
        .count();
    eprintln!(
        "escape snippets: {} ({} in both configurations); legit snippets: {}",
        escapes.len(),
        in_both,
        legit.len()
    );
    assert!(
        escapes.len() >= MIN_SNIPPETS,
        "only {} escape snippets",
        escapes.len()
    );
    assert!(
        in_both >= MIN_SNIPPETS,
        "only {in_both} escape snippets run in both configurations"
    );
    assert!(
        legit.len() >= MIN_SNIPPETS,
        "only {} legit snippets",
        legit.len()
    );
}

#[test]
fn every_escape_is_refused_with_default_allowlists() {
    run_escapes(Config::Default);
}

#[test]
fn with_all_stdlib_allowed_no_escape_reaches_beyond_the_task_process() {
    run_escapes(Config::StdlibAll);
}

#[test]
fn every_escape_is_refused_with_everyday_modules_allowed() {
    run_escapes(Config::Common);
}

#[test]
fn every_legitimate_snippet_passes() {
    let legit = load_legit();
    let version = interpreter_version();
    let mut groups: BTreeMap<&str, Vec<&Legit>> = BTreeMap::new();
    for snippet in &legit {
        groups
            .entry(snippet.allow.as_str())
            .or_default()
            .push(snippet);
    }
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut ran = 0;
    for (allow, snippets) in &groups {
        let shown_allow = if allow.is_empty() { "none" } else { allow };
        let mut env = vec![(
            "N8N_RUNNERS_TASK_TIMEOUT".to_owned(),
            TASK_TIMEOUT_SECS.to_owned(),
        )];
        if !allow.is_empty() {
            env.push(("N8N_RUNNERS_STDLIB_ALLOW".to_owned(), allow.to_string()));
        }
        let mut session = Session::new(format!("legit/allow={shown_allow}"), env);
        for (index, legit) in snippets.iter().enumerate() {
            if let Some(needed) = legit.min_python {
                if version < needed {
                    eprintln!(
                        "[legit/allow={shown_allow}] skipped     {}: needs Python {}.{}, have {}.{}",
                        legit.snippet.file, needed.0, needed.1, version.0, version.1
                    );
                    skipped.push(legit.snippet.file.clone());
                    continue;
                }
            }
            ran += 1;
            let task_id = format!("legit-{}-{:03}", shown_allow.replace(',', "-"), index + 1);
            let settings = settings_for(legit.mode, &legit.snippet.code, legit.items.clone());
            let failure = match session.run(&task_id, settings) {
                Ok(outcome) => legit_failure(legit, &outcome),
                Err(failure) => Some(failure),
            };
            match &failure {
                None => eprintln!(
                    "[legit/allow={shown_allow}] passed      {}",
                    legit.snippet.file
                ),
                Some(what) => {
                    eprintln!(
                        "[legit/allow={shown_allow}] FAILED      {}: {what}",
                        legit.snippet.file
                    );
                    failures.push(format!(
                        "{} [allow={shown_allow}]: {what}",
                        legit.snippet.file
                    ));
                }
            }
        }
    }
    eprintln!(
        "legit snippets passed: {}/{} ({} skipped: {})",
        ran - failures.len(),
        ran,
        skipped.len(),
        if skipped.is_empty() {
            "none".to_owned()
        } else {
            skipped.join(", ")
        }
    );
    assert!(
        failures.is_empty(),
        "{} of {} legitimate snippets failed:\n{}",
        failures.len(),
        ran,
        failures.join("\n")
    );
}
