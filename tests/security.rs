//! The security gate seen from the broker: static violations, syntax errors in CPython's words,
//! valid modern syntax accepted, and the runner's tokens out of reach. Real binary, real python3.

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

/// The interpreter's (major, minor) version.
fn python_version() -> (u32, u32) {
    let out = Command::new(python())
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut parts = text.split_whitespace().map(|p| p.parse().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// What `ast.parse` of this interpreter says about `code`, as n8n formats it.
fn cpython_syntax_error(code: &str) -> String {
    let script = "import ast, sys\ntry:\n    ast.parse(sys.stdin.read())\nexcept SyntaxError as e:\n    print(f'{e.msg} (<unknown>, line {e.lineno})')";
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn static_violations_are_reported_together_with_their_lines() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = "import os\nx = ().__class__\nreturn __builtins__";
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(
        outcome.error(),
        &json!({
            "message": "Security violations detected",
            "description": "Line 1: Import of standard library module 'os' is disallowed. Allowed stdlib modules: none\n\
                            Line 2: Access to attribute '__class__' is disallowed, because it can be used to bypass security restrictions.\n\
                            Line 3: Access to name '__builtins__' is disallowed, because it can be used to bypass security restrictions."
        })
    );
}

#[test]
fn static_violations_ignore_continue_on_fail() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let mut settings = all_items("import os", json!([]));
    settings["continueOnFail"] = json!(true);
    let outcome = side.run_task("t", settings);
    assert_eq!(outcome.error()["message"], "Security violations detected");
}

#[test]
fn allowed_imports_pass_and_the_allowlist_is_named_when_not() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "json,math")]);
    let outcome = side.run_task(
        "ok",
        all_items(
            "import json, math\nreturn [{'v': math.floor(json.loads('2.5'))}]",
            json!([]),
        ),
    );
    assert_eq!(outcome.result(), &json!([{"v": 2}]));
    let outcome = side.run_task("no", all_items("import re", json!([])));
    assert_eq!(
        outcome.error()["description"],
        "Line 1: Import of standard library module 're' is disallowed. Allowed stdlib modules: json, math"
    );
}

#[test]
fn a_syntax_error_uses_the_interpreters_own_wording() {
    let (_b, _r, mut side) = registered_runner(&[]);
    for (n, code) in [
        "x = 1\nif x\n    return x",
        "return (1,",
        "def f(:\n  pass",
        "x = 1 +",
    ]
    .iter()
    .enumerate()
    {
        let outcome = side.run_task(&format!("t{n}"), all_items(code, json!([])));
        assert_eq!(
            outcome.error(),
            &json!({"message": cpython_syntax_error(code)}),
            "{code:?}"
        );
    }
}

#[test]
fn modern_syntax_the_interpreter_accepts_is_never_a_syntax_error() {
    let (_b, _r, mut side) = registered_runner(&[]);
    let mut cases = vec![
        ("match", "match _items:\n    case [{'json': {'n': n}}]:\n        return [{'n': n}]\n    case _:\n        return []", json!([{"n": 1}])),
        ("walrus", "if (n := len(_items)) > 0:\n    return [{'n': n}]\nreturn []", json!([{"n": 1}])),
        ("positional-only", "def f(a, /, b=2, *, c=3):\n    return a + b + c\nreturn [{'s': f(1)}]", json!([{"s": 6}])),
    ];
    if python_version() >= (3, 11) {
        cases.push(("except star", "caught = False\ntry:\n    raise ExceptionGroup('g', [ValueError('v')])\nexcept* ValueError:\n    caught = True\nreturn [{'caught': caught}]", json!([{"caught": true}])));
    }
    if python_version() >= (3, 12) {
        cases.push((
            "pep 701 f-string",
            r#"return [{'s': f"Hi {_items[0]["json"]["n"]}"}]"#,
            json!([{"s": "Hi 1"}]),
        ));
        cases.push((
            "type parameters",
            "def first[T](xs: list[T]) -> T:\n    return xs[0]\nreturn [{'v': first([5])}]",
            json!([{"v": 5}]),
        ));
    }
    for (name, code, expected) in cases {
        let outcome = side.run_task(name, all_items(code, json!([{"json": {"n": 1}}])));
        assert_eq!(outcome.result(), &expected, "{name}");
    }
}

#[test]
fn syntax_newer_than_the_interpreter_is_a_syntax_error() {
    if python_version() >= (3, 12) {
        return; // Nothing in 3.12+ grammar is too new for this interpreter.
    }
    let (_b, _r, mut side) = registered_runner(&[]);
    let code = r#"return [{'s': f"Hi {_items[0]["json"]["n"]}"}]"#;
    let outcome = side.run_task("t", all_items(code, json!([])));
    assert_eq!(
        outcome.error(),
        &json!({"message": cpython_syntax_error(code)})
    );
}

#[test]
fn both_wildcards_skip_the_static_analysis() {
    let (_b, _r, mut side) = registered_runner(&[
        ("N8N_RUNNERS_STDLIB_ALLOW", "*"),
        ("N8N_RUNNERS_EXTERNAL_ALLOW", "*"),
    ]);
    let outcome = side.run_task(
        "t",
        all_items("return [{'k': str(len(().__class__.__name__))}]", json!([])),
    );
    assert_eq!(outcome.result(), &json!([{"k": "5"}]));
}

#[test]
fn the_grant_token_is_in_no_environment_user_code_can_read() {
    // A token of its own, so runners of other tests (briefly unscrubbed at their start) cannot
    // be mistaken for this one.
    let token = format!(
        "secret-{}-{:?}",
        std::process::id(),
        std::time::Instant::now()
    );
    let (_b, _r, mut side) = registered_runner(&[
        ("N8N_RUNNERS_STDLIB_ALLOW", "*"),
        ("N8N_RUNNERS_GRANT_TOKEN", &token),
    ]);
    let code = format!(
        "import os\n\
         found = []\n\
         for pid in os.listdir('/proc'):\n\
         \x20   for name in ('environ', 'cmdline'):\n\
         \x20       try:\n\
         \x20           fd = os.open(f'/proc/{{pid}}/{{name}}', os.O_RDONLY)\n\
         \x20       except OSError:\n\
         \x20           continue\n\
         \x20       try:\n\
         \x20           data = os.read(fd, 1 << 20)\n\
         \x20       except OSError:\n\
         \x20           data = b''\n\
         \x20       os.close(fd)\n\
         \x20       if b'{token}' in data:\n\
         \x20           found.append(f'/proc/{{pid}}/{{name}}')\n\
         return [{{'found': found, 'env': '{token}' in str(dict(os.environ))}}]"
    );
    let outcome = side.run_task("t", all_items(&code, json!([])));
    assert_eq!(outcome.result(), &json!([{"found": [], "env": false}]));
}

#[test]
fn an_allowed_module_does_not_open_the_modules_it_imported() {
    let (_b, _r, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "json,random")]);
    for (n, code) in [
        "import json\nreturn [{'r': str(json.codecs.builtins.open)}]",
        "import json\nb = json.codecs\nreturn [{'r': str(b.sys.modules)}]",
        "import random\nreturn [{'pid': random._os.getpid()}]",
        "from json import codecs\nreturn [{'r': str(codecs)}]",
    ]
    .iter()
    .enumerate()
    {
        let outcome = side.run_task(&format!("t{n}"), all_items(code, json!([])));
        let error = outcome.error();
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("Security violation"),
            "{code}: {error}"
        );
    }
    // What the allowed modules offer still works, their own submodules included.
    let code = "import json, random\nfrom json import decoder\nrandom.seed(1)\nreturn [{'v': json.loads('[1]'), 'r': random.randint(1, 1), 'd': decoder.JSONDecodeError.__name__}]";
    let outcome = side.run_task("ok", all_items(code, json!([])));
    assert_eq!(
        outcome.result(),
        &json!([{"v": [1], "r": 1, "d": "JSONDecodeError"}])
    );
}
