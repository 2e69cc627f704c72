//! A drop-in replacement for n8n's Python task runner.
//!
//! The modules, in the order a task flows through them:
//! configuration and logging; the broker connection (one WebSocket thread); the outbox other
//! threads send through; offers (the offer timer); the task table; the worker pool; the
//! forkserver; one child process per task and its result pipe; the reply to the broker.

pub mod config;
pub mod logging;

pub mod broker_auth;
pub mod broker_connection;
pub mod messages;
pub mod outbox;
pub mod reconnect;

pub mod ids;
pub mod offers;
pub mod task_state;

pub mod exec;
pub mod executor;
pub mod worker;

pub mod analyzer;
pub mod format_template;
pub mod nesting;
pub mod security_rules;
pub mod validation;

pub mod child_process;
pub mod forkserver;
pub mod sandbox;

pub mod task_result;

pub mod health;
pub mod metrics;
pub mod runner;
pub mod secrets;

#[doc(hidden)]
pub mod fuzz_support;
