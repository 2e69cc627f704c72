//! What a task computes and how it fails, seen from the broker: both node modes, print capture,
//! every error shape, timeouts and large payloads. Real binary, real WebSocket, real python3.

mod common;

use common::*;
use serde_json::{json, Value};

fn items(values: &[Value]) -> Value {
    Value::Array(values.iter().map(|v| json!({ "json": v })).collect())
}

#[test]
fn all_items_returns_the_result_verbatim() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code =
        "out = []\nfor item in _items:\n    out.append({'n': item['json']['n'] * 2})\nreturn out";
    let outcome = side.run_task(
        "t",
        all_items(code, items(&[json!({"n": 1}), json!({"n": 2})])),
    );
    assert_eq!(outcome.result(), &json!([{"n": 2}, {"n": 4}]));
    assert!(outcome.rpcs.is_empty());
}

#[test]
fn all_items_without_return_gives_null() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let outcome = side.run_task("t", all_items("x = 1", json!([])));
    assert_eq!(outcome.result(), &Value::Null);
}

#[test]
fn all_items_exposes_the_query() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let mut settings = all_items("return [{'q': _query}]", json!([]));
    settings["query"] = json!({"question": "why?"});
    let outcome = side.run_task("t", settings);
    assert_eq!(outcome.result(), &json!([{"q": {"question": "why?"}}]));
}

#[test]
fn per_item_wraps_results_with_paired_items_and_drops_none() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "n = _item['json']['n']\nif n == 0:\n    return None\nreturn {'doubled': n * 2}";
    let input = items(&[json!({"n": 0}), json!({"n": 1}), json!({"n": 2})]);
    let outcome = side.run_task("t", per_item(code, input));
    assert_eq!(
        outcome.result(),
        &json!([
            {"json": {"doubled": 2}, "pairedItem": {"item": 1}},
            {"json": {"doubled": 4}, "pairedItem": {"item": 2}},
        ])
    );
}

#[test]
fn per_item_keeps_binary_and_explicit_json() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "if _item['json']['k'] == 'both':\n    return {'json': {'a': 1}, 'binary': {'f': {'data': 'x'}}}\nreturn {'binary': {'f': {'data': 'y'}}}";
    let outcome = side.run_task(
        "t",
        per_item(code, items(&[json!({"k": "both"}), json!({"k": "bin"})])),
    );
    assert_eq!(
        outcome.result(),
        &json!([
            {"json": {"a": 1}, "pairedItem": {"item": 0}, "binary": {"f": {"data": "x"}}},
            {"json": {}, "pairedItem": {"item": 1}, "binary": {"f": {"data": "y"}}},
        ])
    );
}

#[test]
fn per_item_state_does_not_carry_over_between_items() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "try:\n    seen\n    return {'leak': True}\nexcept NameError:\n    seen = 1\n    return {'leak': False}";
    let outcome = side.run_task("t", per_item(code, items(&[json!({}), json!({})])));
    let result = outcome.result().as_array().unwrap().clone();
    assert!(
        result.iter().all(|e| e["json"]["leak"] == false),
        "{result:?}"
    );
}

#[test]
fn continue_on_fail_turns_an_error_into_one_error_item() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let mut settings = per_item(
        "return {'x': 1 / _item['json']['d']}",
        items(&[json!({"d": 1}), json!({"d": 0})]),
    );
    settings["continueOnFail"] = json!(true);
    let outcome = side.run_task("t", settings);
    assert_eq!(
        outcome.result(),
        &json!([{"json": {"error": "division by zero"}}])
    );
}

#[test]
fn a_raised_error_has_message_description_and_stack_with_the_users_line() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "x = 1\ny = 2\nraise ValueError('Intentional error')";
    let outcome = side.run_task("t", all_items(code, json!([])));
    let error = outcome.error();
    assert_eq!(error["message"], "Intentional error");
    assert_eq!(error["description"], "");
    let stack = error["stack"].as_str().unwrap();
    assert!(stack.contains("line 3"), "{stack}");
    assert!(stack.contains("ValueError: Intentional error"), "{stack}");
}

#[test]
fn a_key_error_message_is_the_repr_of_the_key() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let outcome = side.run_task("t", all_items("return {}['k']", json!([])));
    assert_eq!(outcome.error()["message"], "'k'");
}

#[test]
fn system_exit_reports_the_exit_code() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let outcome = side.run_task("t", all_items("raise SystemExit(3)", json!([])));
    assert_eq!(outcome.error()["message"], "Process exited with code 3");
}

#[test]
fn a_syntax_error_carries_only_a_message_with_the_users_line() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let mut settings = all_items("x = 1\nif x\n    return x", json!([]));
    settings["continueOnFail"] = json!(true);
    let outcome = side.run_task("t", settings);
    let error = outcome.error();
    let message = error["message"].as_str().unwrap();
    assert!(message.ends_with("(<unknown>, line 2)"), "{message}");
    assert_eq!(error.as_object().unwrap().len(), 1, "{error}");
}

#[test]
fn a_denied_builtin_is_not_defined() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let outcome = side.run_task("t", all_items("return eval('1')", json!([])));
    assert_eq!(outcome.error()["message"], "name 'eval' is not defined");
}

#[test]
fn a_multiline_string_literal_is_returned_unchanged() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "s = '''first\n  second\nthird'''\nreturn [{'s': s}]";
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(outcome.result(), &json!([{"s": "first\n  second\nthird"}]));
}

#[test]
fn nan_and_infinity_become_null() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "return [{'a': float('nan'), 'b': float('inf'), 'c': [float('-inf'), 1.5]}]";
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(
        outcome.result(),
        &json!([{"a": null, "b": null, "c": [null, 1.5]}])
    );
}

#[test]
fn print_calls_become_log_node_output_rpcs() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "print('Hello, World!')\nprint(42, 3.14, True, None)\nprint({'name': 'John'}, [1, 'two'])\nprint()\nreturn []";
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(
        outcome.prints(),
        vec![
            vec!["'Hello, World!'".to_owned()],
            vec!["42".into(), "3.14".into(), "True".into(), "None".into()],
            vec![r#"{"name": "John"}"#.into(), r#"[1, "two"]"#.into()],
            vec![],
        ]
    );
    for rpc in &outcome.rpcs {
        assert_eq!(rpc["type"], "runner:rpc");
        assert_eq!(rpc["callId"].as_str().unwrap().len(), 22);
    }
}

#[test]
fn print_accepts_sep_and_end() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let outcome = side.run_task(
        "t",
        all_items("print('a', 'b', sep='-', end='')\nreturn []", json!([])),
    );
    assert_eq!(outcome.prints(), vec![vec!["'a'-'b'".to_owned()]]);
}

#[test]
fn print_output_is_truncated_after_100_calls() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let outcome = side.run_task(
        "t",
        all_items("for i in range(105):\n    print(i)\nreturn []", json!([])),
    );
    let prints = outcome.prints();
    assert_eq!(prints.len(), 101);
    assert_eq!(prints[99], vec!["99".to_owned()]);
    assert_eq!(
        prints[100],
        vec!["[Output truncated - 5 more print statements]".to_owned()]
    );
}

#[test]
fn prints_are_sent_before_the_error_of_a_failed_task() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let outcome = side.run_task(
        "t",
        all_items("print('before')\nraise RuntimeError('after')", json!([])),
    );
    assert_eq!(outcome.prints(), vec![vec!["'before'".to_owned()]]);
    assert_eq!(outcome.error()["message"], "after");
}

#[test]
fn a_task_past_its_timeout_is_stopped_with_the_timeout_error() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_TASK_TIMEOUT", "1")]);
    let outcome = side.run_task("t", all_items("while True:\n    pass", json!([])));
    assert_eq!(
        outcome.error(),
        &json!({"message": "Task execution timed out after 1 second", "description": ""})
    );
}

#[test]
fn a_task_ignoring_sigterm_is_killed_after_the_grace_period() {
    let (_b, _r, mut side) = registered_runner(&[
        ("N8N_RUNNERS_TASK_TIMEOUT", "1"),
        ("N8N_RUNNERS_STDLIB_ALLOW", "signal"),
    ]);
    let code =
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass";
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(
        outcome.error()["message"],
        "Task execution timed out after 1 second"
    );
}

#[test]
fn a_child_that_exits_reports_its_exit_code() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "os")]);
    let outcome = side.run_task("t", all_items("import os\nos._exit(7)", json!([])));
    assert_eq!(
        outcome.error()["message"],
        "Task subprocess exited with code 7"
    );
}

#[test]
fn a_child_that_exits_0_without_a_result_reports_the_read_failure() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "os")]);
    let outcome = side.run_task("t", all_items("import os\nos._exit(0)", json!([])));
    assert_eq!(
        outcome.error(),
        &json!({"message": "Failed to read result from child process", "description": ""})
    );
}

#[test]
fn a_child_killed_by_sigkill_reports_it() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "os")]);
    let outcome = side.run_task(
        "t",
        all_items("import os\nos.kill(os.getpid(), 9)", json!([])),
    );
    assert_eq!(
        outcome.error()["message"],
        "Process was forcefully killed (SIGKILL)"
    );
}

#[test]
fn user_code_sees_an_empty_environment() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "os")]);
    let outcome = side.run_task(
        "t",
        all_items("import os\nreturn [{'n': len(os.environ)}]", json!([])),
    );
    assert_eq!(outcome.result(), &json!([{"n": 0}]));
}

#[test]
fn the_grant_token_is_hidden_even_when_env_access_is_allowed() {
    let (_b, _r, mut side) = registered_runner(&[
        ("N8N_RUNNERS_STDLIB_ALLOW", "os"),
        ("N8N_BLOCK_RUNNER_ENV_ACCESS", "false"),
    ]);
    let code = "import os\nreturn [{'token': os.environ.get('N8N_RUNNERS_GRANT_TOKEN'), 'path': 'PATH' in os.environ}]";
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(outcome.result(), &json!([{"token": null, "path": true}]));
}

#[test]
fn a_20_megabyte_result_round_trips() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "return [{'blob': 'x' * (20 * 1024 * 1024)}]";
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(
        outcome.result()[0]["blob"].as_str().unwrap().len(),
        20 * 1024 * 1024
    );
}

#[test]
fn large_items_pass_through_unchanged() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let many: Vec<Value> = (0..20_000)
        .map(|n| json!({"n": n, "s": "ü€".repeat(20)}))
        .collect();
    let input = items(&many);
    let outcome = side.run_task("t", all_items("return _items", input.clone()));
    assert_eq!(outcome.result(), &input);
}

#[test]
fn a_result_over_max_payload_is_refused_with_a_clear_error() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_MAX_PAYLOAD", "100000")]);
    let outcome = side.run_task("t", all_items("return [{'blob': 'x' * 200000}]", json!([])));
    let message = outcome.error()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("N8N_RUNNERS_MAX_PAYLOAD"), "{message}");
    // The runner is still fine.
    assert_eq!(
        side.run_task("u", all_items("return 1", json!([])))
            .result(),
        &json!(1)
    );
}

/// Whether the interpreter under test has pandas and numpy (Debian's python3-pandas in CI).
fn has_pandas() -> bool {
    std::process::Command::new(python())
        .args(["-c", "import pandas, numpy"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn pandas_and_numpy_run_in_the_sandbox_when_installed() {
    if !has_pandas() {
        eprintln!("SKIPPED: {} has no pandas and numpy", python());
        return;
    }
    let (_b, _r, mut side) = registered_runner(&[
        ("N8N_RUNNERS_STDLIB_ALLOW", "*"),
        ("N8N_RUNNERS_EXTERNAL_ALLOW", "*"),
    ]);
    let code = "import pandas as pd\nimport numpy as np\n\
                df = pd.DataFrame([i['json'] for i in _items])\n\
                totals = df.groupby('customer')['amount'].sum()\n\
                return [{'json': {'customer': c, 'total': float(t), \
                'mean': float(np.mean(df['amount']))}} for c, t in totals.items()]";
    let items = json!([
        {"json": {"customer": "ada", "amount": 2.0}},
        {"json": {"customer": "bob", "amount": 4.0}},
        {"json": {"customer": "ada", "amount": 6.0}},
    ]);
    let outcome = side.run_task("pandas", all_items(code, items));
    assert_eq!(
        outcome.result(),
        &json!([
            {"json": {"customer": "ada", "total": 8.0, "mean": 4.0}},
            {"json": {"customer": "bob", "total": 4.0, "mean": 4.0}},
        ])
    );
}

#[test]
fn pandas_imports_with_only_external_packages_allowed() {
    // pandas imports stdlib modules (platform, subprocess, io) that the pruning dropped; they
    // must come back as the forkserver's own objects, not as broken second copies.
    if !has_pandas() {
        eprintln!("SKIPPED: {} has no pandas and numpy", python());
        return;
    }
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_EXTERNAL_ALLOW", "*")]);
    let code = "import pandas as pd\n\
                return [{'json': {'sum': int(pd.Series([1, 2, 3]).sum())}}]";
    let outcome = side.run_task("pandas-external", all_items(code, json!([])));
    assert_eq!(outcome.result(), &json!([{"json": {"sum": 6}}]));
}

#[test]
fn the_same_code_run_again_in_one_slot_answers_for_its_own_items() {
    // One slot: from the second run on, its process gets the code compiled by the slot.
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_MAX_CONCURRENCY", "1")]);
    let code = "return [{'json': {'n': len(_items), 'first': _items[0]['json']['v']}}]";
    for n in 1..=4 {
        let items: Vec<Value> = (0..n).map(|v| json!({"json": {"v": v * 10 + n}})).collect();
        let outcome = side.run_task(&format!("run-{n}"), all_items(code, json!(items)));
        assert_eq!(outcome.result(), &json!([{"json": {"n": n, "first": n}}]));
    }
}

#[test]
fn the_same_code_in_the_other_node_mode_runs_in_that_mode() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_MAX_CONCURRENCY", "1")]);
    let code = "return {'json': {'seen': 1}}";
    let items = json!([{"json": {}}, {"json": {}}]);
    for id in ["each-1", "each-2"] {
        let outcome = side.run_task(id, per_item(code, items.clone()));
        assert_eq!(outcome.result().as_array().map(Vec::len), Some(2), "{id}");
    }
    // All items: the one dict is the result as it is (per item it was one result per item).
    let outcome = side.run_task("all", all_items(code, items));
    assert_eq!(outcome.result(), &json!({"json": {"seen": 1}}));
}

#[test]
fn prints_appear_in_the_runner_log_marked_as_task_output() {
    let (_b, runner, mut side) = registered_runner(&[]);
    side.run_task(
        "printer",
        all_items(
            "print('hello', 42)\nprint('Runner stopped\\nfake')\nreturn []",
            json!([]),
        ),
    );
    runner.wait_for_log("[user code] task printer: 'hello' 42");
    let line = runner.wait_for_log("[user code] task printer: 'Runner stopped");
    assert_eq!(line, "[user code] task printer: 'Runner stopped\\nfake'");
    assert!(!runner
        .log()
        .iter()
        .any(|l| l == "fake'" || l == "Runner stopped"));
}
