"""Task child: runs one n8n Code-node task in a process forked by forkserver.py.

Owns everything that happens inside a task child: reading the task from its pipe, clearing the
environment, capturing stderr, wrapping the user's code at the AST level, the globals and builtins
the code sees, print capture, per-item aggregation, turning exceptions into error replies,
serialising the reply, and writing the single length-prefixed result frame.

The forkserver loads this source as module ``n8n_child``, calls ``prepare(config)`` once, then
calls ``run_task(task_fd, result_fd, config)`` in each fresh child. Imports are limited to modules
the forkserver has already loaded, so a task pays for none of them.
"""

import ast
import builtins
import io
import json
import linecache
import os
import struct
import sys
import traceback

OUTPUT_NAME = "__n8n_internal_user_output__"
WRAPPER_NAME = "_user_function"
# FunctionDef has type_params since 3.12; giving it explicitly keeps every version quiet.
TYPE_PARAMS = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
PARSE_FILENAME = "<unknown>"
ALL_ITEMS_FILENAME = "<all_items_task_execution>"
PER_ITEM_FILENAME = "<per_item_task_execution>"
PER_ITEM_MODE = "runOnceForEachItem"

MAX_PRINT_ENTRIES = 100
FRAME_HEADER = struct.Struct(">I")
MAX_FRAME_BODY = 0xFFFFFFFF
# Below this size the header and body go out in one write() call.
SMALL_FRAME = 1 << 16
NAN_ERROR_PREFIX = "Out of range float values"
INFINITY = float("inf")

# Filled in by prepare() inside the forkserver, so children inherit it instead of rebuilding it.
_prepared_builtins = None


# ---------------------------------------------------------------------------------------------
# Set-up done once in the forkserver


def prepare(config):
    """Does the per-configuration work once, before the forkserver starts forking."""
    global _prepared_builtins
    _prepared_builtins = make_builtins(config)
    if config.get("block_env"):
        # Cleared here too, so each child's own clear (kept as the guarantee) has nothing to do.
        os.environ.clear()
    warm_up(config)


def make_builtins(config):
    """The builtins mapping user code runs with: the interpreter's builtins minus the deny list.

    This is the seam for the read-only mapping and the guarded __import__ (later issue).
    """
    denied = set(config.get("builtins_deny") or ())
    return {name: value for name, value in vars(builtins).items() if name not in denied}


def warm_up(config):
    """Runs the success and the error paths once so lazy imports and caches are already
    filled in the forkserver and every child inherits them warm."""
    sample = "print('x', 1, [2])\nreturn [{'json': {'a': _items}}]"
    broken = "x = {}\nreturn x['missing']"
    for code in (sample, broken):
        task = {"code": code, "nodeMode": "runOnceForAllItems", "items": [], "query": None}
        encode_reply(*execute(task, builtins_for(config), io.StringIO()))
    task = {"code": "return _item", "nodeMode": PER_ITEM_MODE, "items": [{"json": {}}]}
    encode_reply(*execute(task, builtins_for(config), io.StringIO()))
    encode_reply(*execute({"code": "x = ("}, builtins_for(config), io.StringIO()))
    for filename in (ALL_ITEMS_FILENAME, PER_ITEM_FILENAME):
        linecache.cache.pop(filename, None)


def builtins_for(config):
    if _prepared_builtins is not None:
        return _prepared_builtins
    return make_builtins(config)


# ---------------------------------------------------------------------------------------------
# Entry point in the child


def run_task(task_fd, result_fd, config):
    """Reads one task from task_fd, runs it and writes exactly one result frame to result_fd."""
    # The pipe ends come from Rust; make sure neither was left non-blocking.
    os.set_blocking(task_fd, True)
    os.set_blocking(result_fd, True)
    task = json.loads(read_all(task_fd))
    if config.get("block_env"):
        os.environ.clear()
    captured = io.StringIO()
    sys.stderr = captured
    reply, context = execute(task, builtins_for(config), captured)
    write_frame(result_fd, encode_reply(reply, context))


def read_all(fd):
    # FileIO.readall grows its buffer geometrically, which matters for multi-megabyte item lists.
    with io.FileIO(fd, "r", closefd=True) as pipe:
        return pipe.readall()


# ---------------------------------------------------------------------------------------------
# Running user code


def execute(task, builtins_dict, captured):
    """Runs a task. Returns the reply dict (not yet serialised) and the context needed to
    describe a failure that only shows up when the result is serialised."""
    recorder = PrintRecorder()
    per_item = task.get("nodeMode") == PER_ITEM_MODE
    filename = PER_ITEM_FILENAME if per_item else ALL_ITEMS_FILENAME
    code = task.get("code")
    if code is None:
        code = ""
    context = (filename, code, captured)
    try:
        compiled = compile_user_code(code, filename)
    except SyntaxError as exc:
        return error_reply(syntax_error(exc, code, captured), recorder.entries()), context
    except ValueError as exc:
        # 3.10 reports NUL bytes in source as ValueError; 3.11+ as a SyntaxError without a line.
        if "null bytes" in str(exc):
            error = syntax_error(SyntaxError(str(exc)), code, captured)
        else:
            error = runtime_error(exc, context)
        return error_reply(error, recorder.entries()), context
    except BaseException as exc:
        return error_reply(runtime_error(exc, context), recorder.entries()), context

    try:
        if per_item:
            result = run_per_item(compiled, task.get("items"), builtins_dict, recorder)
        else:
            result = run_all_items(compiled, task, builtins_dict, recorder)
    except SystemExit as exc:
        return error_reply(exit_error(exc, context), recorder.entries()), context
    except BaseException as exc:
        return error_reply(runtime_error(exc, context), recorder.entries()), context
    reply = {"status": "ok", "result": result, "print_args": recorder.entries()}
    return reply, context


def run_all_items(compiled, task, builtins_dict, recorder):
    scope = {
        "__builtins__": builtins_dict,
        "_items": task.get("items"),
        "_query": task.get("query"),
        "print": recorder,
    }
    exec(compiled, scope)
    return scope.get(OUTPUT_NAME)


def run_per_item(compiled, items, builtins_dict, recorder):
    results = []
    for index, item in enumerate(items or ()):
        # A fresh dict per item: nothing the code stores carries over to the next item.
        scope = {"__builtins__": builtins_dict, "_item": item, "print": recorder}
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


# ---------------------------------------------------------------------------------------------
# Wrapping the user's code


def compile_user_code(code, filename):
    """Parses the user's code and puts it inside a function at the AST level.

    Working on the tree (not on re-indented text) keeps multi-line string literals intact and
    every user statement on its own line number, so tracebacks point at the user's lines.
    """
    user_module = ast.parse(code, filename=PARSE_FILENAME)
    futures, body = split_future_imports(user_module.body)
    module = ast.Module(body=futures + wrapper_statements(body), type_ignores=[])
    return compile(module, filename, "exec", dont_inherit=True)


def wrapper_statements(body):
    """`def _user_function(): <body>` and `__n8n_internal_user_output__ = _user_function()`.

    Built node by node, which is cheaper in a fresh child than parsing a template. The
    wrapper's own nodes sit on line 1; they never show in a user-facing traceback.
    """
    arguments = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=[],
    )
    function = at_line_one(ast.FunctionDef(
        name=WRAPPER_NAME, args=arguments, body=body or [at_line_one(ast.Pass())],
        decorator_list=[], returns=None, type_comment=None, **TYPE_PARAMS,
    ))
    call = at_line_one(ast.Call(
        func=at_line_one(ast.Name(id=WRAPPER_NAME, ctx=ast.Load())), args=[], keywords=[],
    ))
    target = at_line_one(ast.Name(id=OUTPUT_NAME, ctx=ast.Store()))
    assignment = at_line_one(ast.Assign(targets=[target], value=call, type_comment=None))
    return [function, assignment]


def at_line_one(node):
    node.lineno = node.end_lineno = 1
    node.col_offset = node.end_col_offset = 0
    return node


def split_future_imports(statements):
    """Splits off the leading `from __future__ import` statements, which must stay at module
    level to take effect. A leading docstring may precede them, as in a real module."""
    start = 0
    if statements and is_docstring(statements[0]):
        start = 1
    end = start
    while end < len(statements) and is_future_import(statements[end]):
        end += 1
    return statements[start:end], statements[:start] + statements[end:]


def is_docstring(node):
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def is_future_import(node):
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


# ---------------------------------------------------------------------------------------------
# print() capture


class PrintRecorder:
    """The `print` user code sees: records each call as a list of pre-formatted strings."""

    __slots__ = ("_entries", "_dropped")

    def __init__(self):
        self._entries = []
        self._dropped = 0

    def __call__(self, *args, **kwargs):
        sep = check_print_kwargs(kwargs)
        if len(self._entries) >= MAX_PRINT_ENTRIES:
            self._dropped += 1
            return None
        formatted = [format_print_arg(arg) for arg in args]
        if formatted and sep is not None and sep != " ":
            formatted = [sep.join(formatted)]
        self._entries.append(formatted)
        return None

    def __repr__(self):
        return "<built-in function print>"

    def entries(self):
        if not self._dropped:
            return list(self._entries)
        notice = f"[Output truncated - {self._dropped} more print statements]"
        return self._entries + [[notice]]


def check_print_kwargs(kwargs):
    """Accepts print()'s keywords like the real print does and returns `sep`.

    end, file and flush are accepted and ignored: the output is recorded, not written.
    """
    for name in kwargs:
        if name not in ("sep", "end", "file", "flush"):
            raise TypeError(f"'{name}' is an invalid keyword argument for print()")
    for name in ("sep", "end"):
        value = kwargs.get(name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be None or a string, not {type(value).__name__}")
    return kwargs.get("sep")


def format_print_arg(value):
    if isinstance(value, str):
        # join() reads the characters directly, whatever a str subclass overrides.
        return "".join(("'", value, "'"))
    if value is None or isinstance(value, (int, float)):
        return str(value)
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except Exception:
        return f"[Circular {type(value).__name__}]"


# ---------------------------------------------------------------------------------------------
# Error replies


def error_reply(error, prints):
    return {"status": "error", "error": error, "print_args": prints}


def syntax_error(exc, code, captured):
    lineno = exc.lineno
    if lineno is None and "\0" in code:
        lineno = code.count("\n", 0, code.index("\0")) + 1
    where = PARSE_FILENAME if lineno is None else f"{PARSE_FILENAME}, line {lineno}"
    return {
        "message": f"{exc.msg} ({where})",
        "description": "",
        "stack": "",
        "stderr": captured.getvalue(),
        "kind": "syntax",
    }


def runtime_error(exc, context):
    filename, code, captured = context
    stderr_text = captured.getvalue()
    description = own_description(exc) or stderr_text
    return {
        "message": safe_str(exc),
        "description": description,
        "stack": user_stack(exc, filename, code),
        "stderr": stderr_text,
        "kind": "runtime",
    }


def exit_error(exc, context):
    filename, code, captured = context
    status = exc.code
    if status is None:
        status = 0
    return {
        "message": f"Process exited with code {safe_str(status)}",
        "description": "",
        "stack": user_stack(exc, filename, code),
        "stderr": captured.getvalue(),
        "kind": "exit",
    }


def own_description(exc):
    try:
        description = getattr(exc, "description", None)
    except BaseException:
        return ""
    if isinstance(description, str) and description:
        return description
    return ""


def safe_str(value):
    try:
        return str(value)
    except BaseException:
        return f"<unprintable {type(value).__name__} object>"


def user_stack(exc, filename, code):
    """The traceback text with only the user's frames; wrapper and runner frames are dropped."""
    try:
        # Registering the source lets the traceback show the user's lines next to the numbers.
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        report = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
        keep_user_frames(report, filename, set())
        return "".join(report.format())
    except BaseException:
        return f"{type(exc).__name__}: {safe_str(exc)}\n"


def keep_user_frames(report, filename, seen):
    if report is None or id(report) in seen:
        return
    seen.add(id(report))
    frames = [
        frame
        for frame in report.stack
        if frame.filename == filename and frame.name != "<module>"
    ]
    report.stack = traceback.StackSummary.from_list(frames)
    keep_user_frames(report.__cause__, filename, seen)
    keep_user_frames(report.__context__, filename, seen)
    for member in getattr(report, "exceptions", None) or ():
        keep_user_frames(member, filename, seen)


# ---------------------------------------------------------------------------------------------
# Serialising the reply


def encode_reply(reply, context):
    """Serialises a reply dict into the frame body; a result that cannot be serialised
    (circular, bad keys, too deep) becomes an error reply."""
    try:
        return to_utf8(dump_reply(reply))
    except BaseException as exc:
        failure = error_reply(runtime_error(exc, context), reply["print_args"])
        return to_utf8(dump_json(failure))


def dump_reply(reply):
    try:
        return dump_json(reply)
    except ValueError as exc:
        if "result" not in reply or not str(exc).startswith(NAN_ERROR_PREFIX):
            raise
    reply["result"] = without_non_finite(reply["result"], set())
    return dump_json(reply)


def dump_json(value):
    return json.dumps(
        value, default=str, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def without_non_finite(value, active):
    """A copy of value with every NaN/Infinity float replaced by None.

    `active` holds the containers on the current path, so a container that contains itself
    still fails the way json.dumps reports it.
    """
    if isinstance(value, float):
        return None if is_non_finite(value) else value
    if isinstance(value, dict):
        enter(value, active)
        cleaned = {
            without_non_finite(key, active) if isinstance(key, float) else key:
            without_non_finite(item, active)
            for key, item in value.items()
        }
        active.discard(id(value))
        return cleaned
    if isinstance(value, (list, tuple)):
        enter(value, active)
        cleaned = [without_non_finite(item, active) for item in value]
        active.discard(id(value))
        return cleaned
    return value


def enter(container, active):
    if id(container) in active:
        raise ValueError("Circular reference detected")
    active.add(id(container))


def is_non_finite(value):
    # float.__float__ reads the stored double, whatever a float subclass overrides.
    number = float.__float__(value)
    return number != number or number == INFINITY or number == -INFINITY


def to_utf8(text):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (possible in Python strings, invalid in UTF-8) become U+FFFD; a
        # surrogate pair spelled as two code points becomes the character it encodes.
        repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return repaired.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# The result frame


def write_frame(fd, body):
    """Writes one frame (4-byte big-endian length, then the body) and closes fd."""
    if len(body) > MAX_FRAME_BODY:
        message = f"Result is too large to send ({len(body)} bytes)"
        error = {"message": message, "description": "", "stack": "", "stderr": "",
                 "kind": "runtime"}
        body = to_utf8(dump_json({"status": "error", "error": error, "print_args": []}))
    header = FRAME_HEADER.pack(len(body))
    try:
        if len(body) <= SMALL_FRAME:
            write_all(fd, header + body)
        else:
            # Two writes spare a copy of a possibly huge body.
            write_all(fd, header)
            write_all(fd, body)
    finally:
        os.close(fd)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
