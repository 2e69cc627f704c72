//! Bounded fuzzing of the parts that read untrusted input: broker messages and user code, the
//! latter both mutated and generated deeply nested in every form the grammar allows. Each target
//! must never panic nor overflow its stack, whatever it is fed. (Pipe frames are fuzzed in
//! `child_process`'s unit tests, format templates against CPython in `format_template`'s.)

use n8n_python_runner::analyzer;
use n8n_python_runner::config::Allowlist;
use n8n_python_runner::fuzz_support::{iterations, mixed_nesting, mutate, nesting_forms, Rng};
use n8n_python_runner::messages::{task_id_of_malformed, BrokerMessage};
use n8n_python_runner::nesting;
use n8n_python_runner::security_rules::ImportPolicy;
use ruff_python_ast::PythonVersion;

const MESSAGE_SEEDS: &[&str] = &[
    r#"{"type":"broker:inforequest"}"#,
    r#"{"type":"broker:taskofferaccept","taskId":"t1","offerId":"o1"}"#,
    r#"{"type":"broker:tasksettings","taskId":"t","settings":{"code":"return 1","nodeMode":"runOnceForAllItems","items":[{"json":{"a":[1,2.5e3,"x\u00e9"]}}],"continueOnFail":true,"query":null}}"#,
    r#"{"type":"broker:taskcancel","taskId":"t","reason":"x"}"#,
    r#"{"type":"broker:rpcresponse","callId":"c","taskId":"t","status":"success","data":{}}"#,
    r#"{"type":"broker:drain"}"#,
];

const MESSAGE_TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"\"settings\":",
    b"\"items\":",
    b"\"taskId\":",
    b"\xff",
    b"\xc3",
];

#[test]
fn broker_message_parsing_never_panics() {
    let mut rng = Rng::new(0x5eed_0001);
    for n in 0..iterations(20_000) {
        let seed = MESSAGE_SEEDS[n % MESSAGE_SEEDS.len()].as_bytes();
        let bytes = mutate(&mut rng, seed, MESSAGE_TOKENS);
        // Frames are UTF-8 text; the connection rejects anything else before parsing.
        let text = String::from_utf8_lossy(&bytes);
        let _ = BrokerMessage::parse(&text);
        let _ = task_id_of_malformed(&text);
    }
}

const CODE_SEEDS: &[&str] = &[
    "import json\nout = [json.dumps(i) for i in _items]\nreturn out",
    "x = ().__class__.__bases__[0].__subclasses__()",
    "'{0.__class__}'.format(1)\nf'{x!r:>{w}}'\nf\"{_items[0][\"json\"]}\"",
    "match x:\n    case E(a, obj=o):\n        pass\n    case {'k': [1, *rest]}:\n        pass",
    "def f(__name__, /, *a, k=__import__('os'), **kw):\n    global __loader__\n    return lambda __spec__: 1",
    "try:\n    pass\nexcept* ValueError as __name__:\n    pass\nasync def g():\n    async for i in x:\n        await i",
    "class C[T](B, metaclass=M):\n    x: T = 1\ntype A[U] = list[U]",
    "s = '__glob' + 'als__'\nk = b'\\x00' + r'\\N' \nt = '''\nmulti\n'''",
];

const CODE_TOKENS: &[&[u8]] = &[
    b"__class__",
    b"__import__(",
    b"'",
    b"\"",
    b"f'",
    b"{",
    b"}",
    b"(",
    b")",
    b":",
    b"\n",
    b"    ",
    b"\t",
    b"\\",
    b"#",
    b"lambda",
    b"match",
    b"case",
    b"yield",
    b"await",
    b"._A__b",
    b"\xe2\x80\xa8",
    b"\r",
    b"\x0c",
    b"\x00",
];

fn policy() -> ImportPolicy {
    ImportPolicy::new(
        ["os", "json", "re", "sys"].map(String::from),
        Allowlist::parse("S", "json").unwrap(),
        Allowlist::parse("E", "").unwrap(),
    )
}

#[test]
fn the_analyzer_never_panics() {
    let policy = policy();
    let mut rng = Rng::new(0x5eed_0002);
    for n in 0..iterations(5_000) {
        let seed = CODE_SEEDS[n % CODE_SEEDS.len()].as_bytes();
        let code = String::from_utf8_lossy(&mutate(&mut rng, seed, CODE_TOKENS)).into_owned();
        for version in [PythonVersion::PY310, PythonVersion::PY313] {
            let _ = analyzer::analyze(&code, &policy, version);
        }
    }
}

/// Runs the analyzer the way workers do: on a thread with the analysis stack.
fn analyze_on_a_worker_stack(code: String, policy: &ImportPolicy) {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(nesting::ANALYSIS_STACK)
            .spawn_scoped(scope, move || {
                let _ = analyzer::analyze(&code, policy, PythonVersion::PY313);
            })
            .expect("spawning an analysis thread")
            .join()
            .expect("the analyzer must not panic");
    });
}

#[test]
fn every_nesting_form_up_to_100000_levels_is_analysed_without_a_crash() {
    let policy = policy();
    for (name, form) in nesting_forms() {
        for depth in [10, 200, 999, 1001, 3_500, 20_000, 100_000] {
            eprintln!("{name} × {depth}");
            analyze_on_a_worker_stack(form(depth), &policy);
        }
    }
}

#[test]
fn code_nesting_mixed_forms_deeply_is_analysed_without_a_crash() {
    let policy = policy();
    let mut rng = Rng::new(0x5eed_0004);
    for _ in 0..iterations(200) {
        let depth = [rng.below(1_200), rng.below(100_000)][rng.below(2)];
        analyze_on_a_worker_stack(mixed_nesting(&mut rng, depth), &policy);
    }
}
