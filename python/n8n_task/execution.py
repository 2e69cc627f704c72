"""Running one task's code: all items at once or once per item.

Owns compiling the task (a failure becomes an error reply), the scope the code runs in, running
it once for all items or once per item (a fresh scope each time, results paired with their
items), and turning what it raised, SystemExit included, into an error reply. A validate-only
request is parsed and compiled but never run, so the runner can quote CPython's own syntax-error
wording. A slot compiles each task's code again after the task (precompile), so the next task
with the same code skips its compile.
"""

import marshal
import sys
import warnings

from .errors import error_reply, exit_error, runtime_error, syntax_error
from .filenames import ALL_ITEMS_FILENAME, PER_ITEM_FILENAME
from .formats import SAFE_FORMAT_NAME
from .prints import PrintRecorder
from .scope import seal
from .wrapping import OUTPUT_NAME, compile_user_code

PER_ITEM_MODE = "runOnceForEachItem"


def execute(task, prepared, captured, precompiled=None):
    """Runs a task. Returns the reply dict (not yet serialised) and the context needed to
    describe a failure that only shows up when the result is serialised. `precompiled` is
    (code, filename, code object) from the slot's cache (see precompile), used only when it
    is this task's code."""
    recorder = PrintRecorder()
    per_item = task.get("nodeMode") == PER_ITEM_MODE
    filename = PER_ITEM_FILENAME if per_item else ALL_ITEMS_FILENAME
    code = task.get("code")
    if code is None:
        code = ""
    context = (filename, code, captured)
    if precompiled is not None and precompiled[:2] == (code, filename):
        compiled = precompiled[2]
    else:
        compiled, error = compile_task(code, filename, context, guard_formats=True)
        if error is not None:
            return error_reply(error, recorder.entries()), context

    scope = {
        "__builtins__": prepared.builtins,
        "print": seal(recorder.record, "<built-in function print>"),
        SAFE_FORMAT_NAME: prepared.format_guard,
    }
    try:
        if per_item:
            result = run_per_item(compiled, task.get("items"), scope)
        else:
            result = run_all_items(compiled, task, scope)
    except SystemExit as exc:
        return error_reply(exit_error(exc, context), recorder.entries()), context
    except BaseException as exc:
        return error_reply(runtime_error(exc, context), recorder.entries()), context
    reply = {"status": "ok", "result": result, "print_args": recorder.entries()}
    return reply, context


def precompile(node_mode, code):
    """In a slot, after a task: the task's code compiled as its process compiles it, marshalled
    as (code, filename, code object) for the next process given the same code; None when it
    does not compile cleanly (errors and warnings are for the task's own compile to report)."""
    filename = PER_ITEM_FILENAME if node_mode == PER_ITEM_MODE else ALL_ITEMS_FILENAME
    # Warnings as errors, so code that warns is not cached. The C side of the warnings machinery
    # finds its filters through sys.modules, from which the slot may have pruned `warnings`.
    added = "warnings" not in sys.modules
    if added:
        sys.modules["warnings"] = warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compiled = compile_user_code(code, filename, guard_formats=True)
    except BaseException:
        return None
    finally:
        if added:
            sys.modules.pop("warnings", None)
    return marshal.dumps((code, filename, compiled))


def validate(task, captured):
    """A validate-only request: parse and compile the wrapped code, run nothing."""
    code = task.get("code")
    if code is None:
        code = ""
    context = (ALL_ITEMS_FILENAME, code, captured)
    _, error = compile_task(code, ALL_ITEMS_FILENAME, context, guard_formats=False)
    if error is not None:
        return error_reply(error, []), context
    return {"status": "ok", "result": None, "print_args": []}, context


def compile_task(code, filename, context, guard_formats):
    """Returns (compiled wrapper, None), or (None, the error dict saying why it failed)."""
    try:
        return compile_user_code(code, filename, guard_formats), None
    except SyntaxError as exc:
        return None, syntax_error(exc, code, context[2])
    except ValueError as exc:
        # 3.10 reports NUL bytes in source as ValueError; 3.11+ as a SyntaxError without a line.
        if "null bytes" in str(exc):
            return None, syntax_error(SyntaxError(str(exc)), code, context[2])
        return None, runtime_error(exc, context)
    except BaseException as exc:
        return None, runtime_error(exc, context)


def run_all_items(compiled, task, base_scope):
    scope = dict(base_scope)
    scope["_items"] = task.get("items")
    scope["_query"] = task.get("query")
    exec(compiled, scope)
    return scope.get(OUTPUT_NAME)


def run_per_item(compiled, items, base_scope):
    results = []
    for index, item in enumerate(items or ()):
        # A fresh dict per item: nothing the code stores carries over to the next item.
        scope = dict(base_scope)
        scope["_item"] = item
        exec(compiled, scope)
        value = scope.get(OUTPUT_NAME)
        if value is not None:
            results.append(paired_entry(index, value))
    return results


def paired_entry(index, value):
    """One per-item output entry: json, pairedItem, then binary when the code returned one."""
    paired = {"item": index}
    if not isinstance(value, dict):
        return {"json": value, "pairedItem": paired}
    if "json" in value:
        entry = {"json": value["json"], "pairedItem": paired}
        if "binary" in value:
            entry["binary"] = value["binary"]
        return entry
    if "binary" in value:
        rest = {key: item for key, item in value.items() if key != "binary"}
        return {"json": rest, "pairedItem": paired, "binary": value["binary"]}
    return {"json": value, "pairedItem": paired}
