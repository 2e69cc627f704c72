//! The `exec` command: one Code-node snippet through the whole task path, without n8n.
//!
//! `n8n-python-runner exec CODE_FILE [--items ITEMS.json] [--mode all|each] [--query JSON]` runs
//! the snippet exactly as a broker task runs (same configuration variables, same security gate,
//! forkserver, child and result handling) and prints what n8n would receive: each `print()` on
//! stderr, then the result items as JSON on stdout. A failed task prints n8n's error (message,
//! description, stack) on stderr and exits with status 1.

use std::path::PathBuf;

use serde_json::value::RawValue;

use crate::config::Config;
use crate::messages::{NodeMode, TaskSettings};
use crate::runner;
use crate::task_state::CancelSignal;

/// What `exec` was asked to run.
#[derive(Debug, PartialEq, Eq)]
pub struct ExecArgs {
    pub code_file: PathBuf,
    pub items_file: Option<PathBuf>,
    pub mode: NodeMode,
    pub query: Option<String>,
}

pub const USAGE: &str =
    "usage: n8n-python-runner exec CODE_FILE [--items ITEMS.json] [--mode all|each] [--query JSON]";

impl ExecArgs {
    pub fn parse(args: &[String]) -> Result<ExecArgs, String> {
        let mut code_file = None;
        let mut items_file = None;
        let mut mode = NodeMode::AllItems;
        let mut query = None;
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let mut value = |name: &str| {
                rest.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--items" => items_file = Some(PathBuf::from(value("--items")?)),
                "--query" => query = Some(value("--query")?),
                "--mode" => {
                    mode = match value("--mode")?.as_str() {
                        "all" | "runOnceForAllItems" => NodeMode::AllItems,
                        "each" | "runOnceForEachItem" => NodeMode::PerItem,
                        other => return Err(format!("unknown mode '{other}'\n{USAGE}")),
                    }
                }
                flag if flag.starts_with("--") => {
                    return Err(format!("unknown option '{flag}'\n{USAGE}"))
                }
                file if code_file.is_none() => code_file = Some(PathBuf::from(file)),
                extra => return Err(format!("unexpected argument '{extra}'\n{USAGE}")),
            }
        }
        Ok(ExecArgs {
            code_file: code_file.ok_or_else(|| USAGE.to_owned())?,
            items_file,
            mode,
            query,
        })
    }
}

/// Runs the snippet; returns the exit code.
pub fn run(args: ExecArgs, config: Config) -> i32 {
    let fail = |message: String| {
        eprintln!("n8n-python-runner exec: {message}");
        2
    };
    let code = match std::fs::read_to_string(&args.code_file) {
        Ok(code) => code,
        Err(err) => return fail(format!("cannot read {}: {err}", args.code_file.display())),
    };
    // Without an items file, one empty item, like a manual trigger.
    let items_text = match &args.items_file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => return fail(format!("cannot read {}: {err}", path.display())),
        },
        None => "[{\"json\": {}}]".to_owned(),
    };
    let items = match RawValue::from_string(items_text) {
        Ok(items) => items,
        Err(err) => return fail(format!("the items are not valid JSON: {err}")),
    };
    // A query that is not JSON is taken as a plain string, as an AI agent would send it.
    let query = args.query.map(|text| {
        RawValue::from_string(text.clone()).unwrap_or_else(|_| {
            RawValue::from_string(serde_json::Value::String(text).to_string())
                .expect("a JSON string")
        })
    });
    let settings = TaskSettings {
        code,
        node_mode: args.mode,
        items,
        continue_on_fail: false,
        query,
        workflow_name: "exec".into(),
        workflow_id: "exec".into(),
        node_name: args.code_file.display().to_string(),
        node_id: "exec".into(),
    };

    let executor = match runner::start_executor(&config) {
        Ok(executor) => executor,
        Err(err) => return fail(err),
    };
    let cancel = CancelSignal::new().expect("creating an eventfd");
    executor.execute("exec", &settings, &cancel, |settled| {
        for params in &settled.prints {
            eprintln!("print: {}", params.join(" "));
        }
        match settled.result {
            Ok(result) => {
                println!("{}", pretty(result.get()));
                0
            }
            Err(failure) => {
                let body = failure.body();
                eprintln!("Error: {}", body.message);
                match body.description {
                    Some(serde_json::Value::String(text)) if !text.is_empty() => {
                        eprintln!("{text}")
                    }
                    None | Some(serde_json::Value::String(_)) => {}
                    Some(other) => eprintln!("{other}"),
                }
                if let Some(stack) = body.stack {
                    eprintln!("{stack}");
                }
                1
            }
        }
    })
}

/// Indents compact JSON text, keeping its key order (a parsed `Value` would sort the keys).
fn pretty(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.push(chars.next().expect("peeked"));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pretty_printing_keeps_key_order_and_strings() {
        assert_eq!(
            super::pretty(r#"[{"b":1,"a":"x, {y}: \"z\"","e":[]}]"#),
            "[\n  {\n    \"b\": 1,\n    \"a\": \"x, {y}: \\\"z\\\"\",\n    \"e\": []\n  }\n]"
        );
    }

    use super::*;

    fn args(list: &[&str]) -> Result<ExecArgs, String> {
        ExecArgs::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options_are_read_in_any_order() {
        let parsed = args(&["--mode", "each", "code.py", "--items", "i.json"]).unwrap();
        assert_eq!(parsed.code_file, PathBuf::from("code.py"));
        assert_eq!(parsed.items_file, Some(PathBuf::from("i.json")));
        assert_eq!(parsed.mode, NodeMode::PerItem);
    }

    #[test]
    fn a_missing_code_file_or_a_bad_mode_is_an_error() {
        assert!(args(&[]).is_err());
        assert!(args(&["x.py", "--mode", "sideways"])
            .unwrap_err()
            .contains("unknown mode"));
        assert!(args(&["x.py", "--items"])
            .unwrap_err()
            .contains("needs a value"));
    }
}
