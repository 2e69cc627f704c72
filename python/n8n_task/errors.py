"""Error replies: what a failed task reports, and the guards' refusals.

Owns the exception classes the guards raise (a refusal is reported with `"kind": "security"`),
the error dicts for syntax errors, runtime errors and exits, and the user-facing stack: the
traceback cut down to the user's frames and the library frames after them, never the wrapper's
or the runner's own (every module of the runner is compiled under a filename starting `<n8n_`).
"""

import json
import linecache
import traceback

from .filenames import PARSE_FILENAME

# Stacks end in `<module>.<class>: <message>`; a refusal's class keeps the module name it had
# when the child was one module, so the error texts users see stay the same.
STACK_MODULE_NAME = "n8n_child"

# Set by prepare() (set_memory_limit_message): what a MemoryError means under the runner's
# memory limit.
_memory_limit_message = None


def set_memory_limit_message(message):
    """Called by prepare() with the configuration's text (None: no limit message)."""
    global _memory_limit_message
    _memory_limit_message = message


# ---------------------------------------------------------------------------------------------
# Refusals


class SecurityViolationError(Exception):
    """A guard's refusal; reported with kind "security". No methods of its own, so nothing
    of this module hangs off an instance user code may catch."""

    __module__ = STACK_MODULE_NAME


class ImportRefusedError(SecurityViolationError, ImportError):
    """The import guard's refusal. Also an ImportError, so that a library's own fallback
    (`except ImportError:`, as zoneinfo has for tzdata) works as it would without the guard."""

    __module__ = STACK_MODULE_NAME


def security_violation(message, description, kind=SecurityViolationError):
    error = kind(message)
    error.description = description
    return error


# ---------------------------------------------------------------------------------------------
# Error replies


def error_reply(error, prints):
    return {"status": "error", "error": error, "print_args": prints}


def syntax_error(exc, code, captured):
    lineno = exc.lineno
    if "null bytes" in str(exc.msg):
        # CPython gives no location for a NUL byte in the source, and neither does n8n.
        message = exc.msg
    else:
        where = PARSE_FILENAME if lineno is None else f"{PARSE_FILENAME}, line {lineno}"
        message = f"{exc.msg} ({where})"
    return {
        "message": message,
        "description": "",
        "stack": "",
        "stderr": captured.getvalue(),
        "kind": "syntax",
    }


def runtime_error(exc, context):
    filename, code, captured = context
    stderr_text = captured.getvalue()
    description = own_description(exc) or stderr_text
    message = safe_str(exc)
    if isinstance(exc, MemoryError) and _memory_limit_message:
        # str(MemoryError()) is empty; say which limit was hit and how to raise it.
        message = _memory_limit_message
    return {
        "message": message,
        "description": description,
        "stack": user_stack(exc, filename, code),
        "stderr": stderr_text,
        # Guard refusals happen during execution, so continueOnFail applies as for "runtime".
        "kind": "security" if isinstance(exc, SecurityViolationError) else "runtime",
    }


def exit_error(exc, context):
    filename, code, captured = context
    # No code (exit(), sys.exit(), raise SystemExit) is reported as None, as n8n does.
    status = exc.code
    return {
        "message": f"Process exited with code {safe_str(status)}",
        "description": "",
        "stack": user_stack(exc, filename, code),
        "stderr": captured.getvalue(),
        "kind": "exit",
    }


def own_description(exc):
    """The exception's own `description`, passed through as n8n's runner does: text as it is,
    any other JSON value as plain JSON data, anything else as its text."""
    try:
        description = getattr(exc, "description", None)
    except BaseException:
        return ""
    if description is None:
        return ""
    if isinstance(description, str):
        return str.__str__(description)
    try:
        # A plain copy: nothing of a user's dict or list subclass reaches the reply encoder.
        return json.loads(json.dumps(description, allow_nan=False))
    except BaseException:
        return safe_str(description)


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
    """Keeps the user's frames and, after the last of them, the library frames the error came
    through (their files and lines say where in a library it happened); never the wrapper's nor
    the runner's own frames."""
    if report is None or id(report) in seen:
        return
    seen.add(id(report))
    stack = list(report.stack)
    users = [i for i, frame in enumerate(stack) if is_user_frame(frame, filename)]
    frames = [stack[i] for i in users]
    if users:
        frames += [frame for frame in stack[users[-1] + 1:] if not is_runner_frame(frame)]
    report.stack = traceback.StackSummary.from_list(frames)
    keep_user_frames(report.__cause__, filename, seen)
    keep_user_frames(report.__context__, filename, seen)
    for member in getattr(report, "exceptions", None) or ():
        keep_user_frames(member, filename, seen)


def is_user_frame(frame, filename):
    return frame.filename == filename and frame.name != "<module>"


def is_runner_frame(frame):
    # Every module of this package (<n8n_task.entry>, ...), the forkserver (<n8n_forkserver>)
    # and the sandbox (<n8n_sandbox>) are compiled under names starting <n8n_.
    return frame.filename.startswith("<n8n_") or frame.filename == "<string>"
