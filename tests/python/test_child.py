"""Black-box tests of the forkserver (python/forkserver.py, python/n8n_forkserver/) and the task
package, python/n8n_task/.

Each test drives the real forkserver the way the Rust runner does: a SOCK_SEQPACKET socketpair
whose one end is the server's fd 3, a JSON configuration, the ready reply, then fork requests
carrying three pipes (task, result, status). The interpreter under test is N8N_RUNNERS_PYTHON,
or else the one running the tests.

Run: python3 -m unittest discover -s tests/python
"""

import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

PYTHON = os.environ.get("N8N_RUNNERS_PYTHON") or sys.executable
REPO_DIR = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO_DIR / "python"
FORKSERVER_SOURCE = (PYTHON_DIR / "forkserver.py").read_text(encoding="utf-8")
SANDBOX_SOURCE = (PYTHON_DIR / "sandbox.py").read_text(encoding="utf-8")


def package_modules(package, listed_in):
    """A package's modules as [name, source] pairs, in the order the runner sends them: read
    from that list (TASK_MODULES, FORKSERVER_MODULES) in src/forkserver.rs, so the order is
    written down once."""
    listing = (REPO_DIR / "src" / "forkserver.rs").read_text(encoding="utf-8")
    # rustfmt may put a long entry on lines of its own.
    pattern = (r'\(\s*"(\w+)",\s*include_str!\("\.\./python/' + package
               + r'/\1\.py"\),?\s*\)')
    names = re.findall(pattern, listing)
    assert names, f"{listed_in} not found in src/forkserver.rs"
    directory = PYTHON_DIR / package
    return [[name, (directory / f"{name}.py").read_text(encoding="utf-8")] for name in names]


TASK_MODULES = package_modules("n8n_task", "TASK_MODULES")
FORKSERVER_MODULES = package_modules("n8n_forkserver", "FORKSERVER_MODULES")

DEFAULT_DENY = (
    "eval,exec,compile,open,input,breakpoint,getattr,object,type,vars,setattr,delattr,"
    "hasattr,dir,memoryview,__build_class__,globals,locals,license,help,credits,copyright"
).split(",")
PRELOAD = ["json", "datetime", "math", "re"]
# The §9.2 lists. Rust sends its own copy; the tests only need a fixed one.
BLOCKED_NAMES = [
    "__loader__", "__builtins__", "__globals__", "__spec__", "__name__",
    "__n8n_internal_safe_format__",
]
BLOCKED_ATTRIBUTES = (
    "__subclasses__,__globals__,__builtins__,__traceback__,tb_frame,tb_next,f_back,f_globals,"
    "f_locals,f_code,f_builtins,__getattribute__,__qualname__,__module__,gi_frame,gi_code,"
    "gi_yieldfrom,cr_frame,cr_code,ag_frame,ag_code,obj,__thisclass__,__self_class__,"
    "__objclass__,__reduce__,__reduce_ex__,__prepare__,__instancecheck__,__subclasscheck__,"
    "__match_args__,__base__,__class__,__bases__,__code__,__closure__,__loader__,__cached__,"
    "__dict__,__import__,__mro__,__init_subclass__,__getattr__,__setattr__,__delattr__,"
    "__self__,__func__,__wrapped__,__annotations__,__spec__"
).split(",")
TIMEOUT = 30.0
LAUNCHER = (
    "import os, sys\n"
    "fd = int(sys.argv[1])\n"
    "if fd != 3:\n"
    "    os.dup2(fd, 3)\n"
    "    os.close(fd)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)
ALL_ITEMS = "runOnceForAllItems"
PER_ITEM = "runOnceForEachItem"


# ---------------------------------------------------------------------------------------------
# Driving the forkserver


def read_exactly(fd, size, timeout=TIMEOUT):
    """Reads size bytes, or returns what came before EOF."""
    chunks = []
    remaining = size
    deadline = time.monotonic() + timeout
    while remaining:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise TimeoutError(f"no data on fd {fd} within {timeout} s")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Child:
    """The Rust side of one fork request: our ends of the three pipes."""

    def __init__(self, task_w, result_r, status_r):
        self.task_w = task_w
        self.result_r = result_r
        self.status_r = status_r
        self.pid = None

    def send_task(self, task):
        write_all(self.task_w, json.dumps(task).encode("utf-8"))
        os.close(self.task_w)
        self.task_w = None

    def read_record(self, timeout=TIMEOUT):
        """The next status record as (tag, value), or None at EOF."""
        data = read_exactly(self.status_r, 5, timeout)
        if not data:
            return None
        tag, value = struct.unpack(">ci", data)
        return tag.decode("ascii"), value

    def read_pid(self):
        # "R" (request taken) always comes first, then the pid.
        tag, value = self.read_record()
        assert (tag, value) == ("R", 0), (tag, value)
        tag, pid = self.read_record()
        assert tag == "P", (tag, pid)
        self.pid = pid
        return pid

    def read_frame(self):
        """The result frame's JSON, or None when the child wrote nothing."""
        header = read_exactly(self.result_r, 4)
        if not header:
            return None
        (length,) = struct.unpack(">I", header)
        body = read_exactly(self.result_r, length)
        assert len(body) == length, (len(body), length)
        return json.loads(body.decode("utf-8"))

    def read_exit(self):
        record = self.read_record()
        assert record is not None and record[0] == "X", record
        assert self.read_record() is None, "status pipe must close after X"
        return record[1]

    def close(self):
        for fd in (self.task_w, self.result_r, self.status_r):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


class ForkServer:
    """A running forkserver and our end of its control socket."""

    def __init__(self, env=None, **config):
        settings = {
            "preload": PRELOAD,
            "block_env": True,
            "builtins_deny": DEFAULT_DENY,
            # These tests exercise the runner, not the import guard (see test_security.py).
            "stdlib_allow": ["*"],
            "external_allow": [],
            "blocked_names": BLOCKED_NAMES,
            "blocked_attributes": BLOCKED_ATTRIBUTES,
            "allow_transitive_imports": False,
        }
        settings.update(config)
        settings["forkserver_modules"] = FORKSERVER_MODULES
        settings["task_modules"] = TASK_MODULES
        settings["sandbox_source"] = SANDBOX_SOURCE
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.stderr = tempfile.TemporaryFile()
        command = [PYTHON, "-I", "-B", "-c", FORKSERVER_SOURCE]
        # A small launcher moves the control socket to fd 3 and execs the server; close_fds keeps
        # every other fd of this test process away from it, as the Rust runner does.
        self.process = subprocess.Popen(
            [PYTHON, "-I", "-c", LAUNCHER, str(theirs.fileno())] + command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            env=env or {},
            pass_fds=(theirs.fileno(),),
        )
        theirs.close()
        self.sock.send(json.dumps(settings).encode("utf-8"))
        if not select.select([self.sock], [], [], TIMEOUT)[0]:
            raise TimeoutError("forkserver did not become ready")
        message = self.sock.recv(1 << 20)
        if not message:
            raise RuntimeError(f"forkserver exited during start-up:\n{self.stderr_text()}")
        self.ready = json.loads(message)

    def spawn(self):
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        status_r, status_w = os.pipe()
        socket.send_fds(self.sock, [b"F"], [task_r, result_w, status_w])
        for fd in (task_r, result_w, status_w):
            os.close(fd)
        return Child(task_w, result_r, status_r)

    def run(self, task):
        """Runs one task; returns (reply frame, exit code)."""
        child = self.spawn()
        try:
            child.read_pid()
            child.send_task(task)
            frame = child.read_frame()
            return frame, child.read_exit()
        finally:
            child.close()

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def close(self):
        self.sock.close()
        try:
            self.process.wait(TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.stderr.close()


def all_items(code, items=None, **extra):
    task = {"code": code, "nodeMode": ALL_ITEMS, "items": [] if items is None else items}
    task.update(extra)
    return task


def per_item(code, items):
    return {"code": code, "nodeMode": PER_ITEM, "items": items}


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def group_members(pgid):
    """Pids of the live (not zombie) processes in process group pgid, read from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, ...
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def wait_until(predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# ---------------------------------------------------------------------------------------------
# Tests sharing one forkserver


class SharedServerTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = ForkServer(env={"N8N_TEST_SECRET": "s3cret"})

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def run_ok(self, task):
        frame, exit_code = self.server.run(task)
        self.assertEqual(exit_code, 0)
        self.assertEqual(frame["status"], "ok", frame)
        return frame

    def result_of(self, task):
        return self.run_ok(task)["result"]

    def error_of(self, task):
        frame, exit_code = self.server.run(task)
        self.assertEqual(exit_code, 0)
        self.assertEqual(frame["status"], "error", frame)
        return frame["error"]


class ReadyAndProcessTests(SharedServerTest):
    def test_ready_reply_reports_pid_python_and_stdlib_names(self):
        ready = self.server.ready
        self.assertIs(ready["ready"], True)
        self.assertEqual(ready["pid"], self.server.process.pid)
        self.assertRegex(ready["python"], r"^3\.\d+\.\d+")
        names = ready["stdlib_module_names"]
        self.assertIn("json", names)
        self.assertEqual(names, sorted(names))

    def test_status_pipe_reports_pid_then_exit_zero(self):
        child = self.server.spawn()
        try:
            pid = child.read_pid()
            self.assertGreater(pid, 0)
            self.assertNotEqual(pid, self.server.process.pid)
            child.send_task(all_items("return 1"))
            self.assertEqual(child.read_frame()["result"], 1)
            self.assertEqual(child.read_exit(), 0)
        finally:
            child.close()

    def test_child_leads_its_own_process_group(self):
        result = self.result_of(all_items("import os\nreturn [os.getpid(), os.getpgrp()]"))
        self.assertEqual(result[0], result[1])

    def test_child_holds_no_fd_but_stdio_and_result_pipe(self):
        code = (
            "import os\n"
            "open_fds = []\n"
            "for fd in range(3, 1024):\n"
            "    try:\n"
            "        os.fstat(fd)\n"
            "    except OSError:\n"
            "        continue\n"
            "    open_fds.append(fd)\n"
            "return open_fds"
        )
        self.assertEqual(len(self.result_of(all_items(code))), 1)

    def test_os_exit_is_reported_as_exit_code(self):
        frame, exit_code = self.server.run(all_items("import os\nos._exit(7)"))
        self.assertIsNone(frame)
        self.assertEqual(exit_code, 7)

    def test_sigkill_to_the_group_is_reported_as_minus_9(self):
        child = self.server.spawn()
        try:
            pid = child.read_pid()
            child.send_task(all_items("import time\ntime.sleep(60)"))
            os.killpg(pid, signal.SIGKILL)
            self.assertIsNone(child.read_frame())
            self.assertEqual(child.read_exit(), -9)
        finally:
            child.close()

    def test_sigterm_right_after_pid_record_terminates_child(self):
        child = self.server.spawn()
        try:
            pid = child.read_pid()
            os.kill(pid, signal.SIGTERM)
            self.assertEqual(child.read_exit(), -15)
        finally:
            child.close()

    def test_invalid_task_json_exits_70_without_a_result(self):
        child = self.server.spawn()
        try:
            child.read_pid()
            write_all(child.task_w, b"{not json")
            os.close(child.task_w)
            child.task_w = None
            self.assertIsNone(child.read_frame())
            self.assertEqual(child.read_exit(), 70)
        finally:
            child.close()

    def test_several_requests_in_flight_at_once(self):
        children = [self.server.spawn() for _ in range(6)]
        try:
            pids = [child.read_pid() for child in children]
            self.assertEqual(len(set(pids)), len(pids))
            for index, child in enumerate(reversed(children)):
                child.send_task(all_items(f"return {index}"))
            results = [child.read_frame()["result"] for child in reversed(children)]
            self.assertEqual(results, list(range(6)))
            self.assertEqual([child.read_exit() for child in children], [0] * 6)
        finally:
            for child in children:
                child.close()

    def test_request_with_wrong_fd_count_is_ignored(self):
        read_end, write_end = os.pipe()
        try:
            socket.send_fds(self.server.sock, [b"F"], [read_end, write_end])
        finally:
            os.close(read_end)
            os.close(write_end)
        self.assertEqual(self.result_of(all_items("return 'still serving'")), "still serving")
        self.assertTrue(wait_until(lambda: "malformed fork request" in self.server.stderr_text()))

    def test_environment_is_cleared(self):
        self.assertEqual(self.result_of(all_items("import os\nreturn dict(os.environ)")), {})


class AllItemsTests(SharedServerTest):
    def test_all_items_result_is_returned_unmodified(self):
        result = self.result_of(all_items("return [{'a': 1}, {'json': {'b': 2}}, 3]"))
        self.assertEqual(result, [{"a": 1}, {"json": {"b": 2}}, 3])

    def test_items_are_exposed_as_underscore_items(self):
        items = [{"json": {"n": 1}}, {"json": {"n": 2}}]
        result = self.result_of(all_items("return [i['json']['n'] for i in _items]", items))
        self.assertEqual(result, [1, 2])

    def test_no_return_gives_null(self):
        self.assertIsNone(self.result_of(all_items("x = 1")))

    def test_empty_code_gives_null(self):
        self.assertIsNone(self.result_of(all_items("")))

    def test_query_is_exposed_as_underscore_query(self):
        result = self.result_of(all_items("return _query", query={"q": [1, "two"]}))
        self.assertEqual(result, {"q": [1, "two"]})

    def test_missing_query_is_none(self):
        self.assertIsNone(self.result_of(all_items("return _query")))

    def test_item_is_not_defined_in_all_items_mode(self):
        self.assertEqual(self.error_of(all_items("return _item"))["message"],
                         "name '_item' is not defined")

    def test_non_json_values_become_strings_and_tuples_arrays(self):
        result = self.result_of(all_items("return {'t': (1, 2), 's': {3}, 'c': 1+2j, 5: 'k'}"))
        self.assertEqual(result, {"t": [1, 2], "s": "{3}", "c": "(1+2j)", "5": "k"})

    def test_non_ascii_text_is_kept(self):
        self.assertEqual(self.result_of(all_items("return 'grüße ✓'")), "grüße ✓")

    def test_lone_surrogate_becomes_replacement_character(self):
        self.assertEqual(self.result_of(all_items("return 'a\\ud800b'")), "a\ufffdb")


class PerItemTests(SharedServerTest):
    def test_dict_with_json_keeps_json_and_binary_and_drops_other_keys(self):
        items = [{"json": {"a": 1}}]
        code = "return {'json': _item['json'], 'binary': {'f': 1}, 'pairedItem': 9, 'x': 2}"
        result = self.result_of(per_item(code, items))
        self.assertEqual(result, [{"json": {"a": 1}, "pairedItem": {"item": 0},
                                   "binary": {"f": 1}}])
        self.assertEqual(list(result[0]), ["json", "pairedItem", "binary"])

    def test_dict_with_binary_but_no_json_uses_the_rest_as_json(self):
        code = "return {'binary': {'f': 1}, 'k': 'v'}"
        result = self.result_of(per_item(code, [{}]))
        self.assertEqual(result, [{"json": {"k": "v"}, "pairedItem": {"item": 0},
                                   "binary": {"f": 1}}])
        self.assertEqual(list(result[0]), ["json", "pairedItem", "binary"])

    def test_dict_with_only_binary_gives_empty_json(self):
        result = self.result_of(per_item("return {'binary': {}}", [{}]))
        self.assertEqual(result, [{"json": {}, "pairedItem": {"item": 0}, "binary": {}}])

    def test_plain_dict_becomes_json_including_a_user_paired_item(self):
        result = self.result_of(per_item("return {'a': 1, 'pairedItem': 5}", [{}]))
        self.assertEqual(result, [{"json": {"a": 1, "pairedItem": 5},
                                   "pairedItem": {"item": 0}}])

    def test_non_dict_is_used_as_json(self):
        result = self.result_of(per_item("return [5, 'x']", [{}]))
        self.assertEqual(result, [{"json": [5, "x"], "pairedItem": {"item": 0}}])

    def test_none_filters_the_item_and_others_keep_their_index(self):
        items = [{"json": {"n": n}} for n in range(5)]
        code = "n = _item['json']['n']\nif n % 2:\n    return None\nreturn {'n': n}"
        result = self.result_of(per_item(code, items))
        self.assertEqual(result, [
            {"json": {"n": 0}, "pairedItem": {"item": 0}},
            {"json": {"n": 2}, "pairedItem": {"item": 2}},
            {"json": {"n": 4}, "pairedItem": {"item": 4}},
        ])

    def test_empty_items_give_empty_list(self):
        self.assertEqual(self.result_of(per_item("return 1", [])), [])

    def test_null_items_give_empty_list(self):
        self.assertEqual(self.result_of(per_item("return 1", None)), [])

    def test_each_item_gets_fresh_globals(self):
        code = "global seen\ntry:\n    seen += 1\nexcept NameError:\n    seen = 0\nreturn seen"
        result = self.result_of(per_item(code, [{}, {}, {}]))
        self.assertEqual([entry["json"] for entry in result], [0, 0, 0])

    def test_items_is_not_defined_in_per_item_mode(self):
        error = self.error_of(per_item("return _items", [{}]))
        self.assertEqual(error["message"], "name '_items' is not defined")

    def test_error_in_a_later_item_fails_the_task(self):
        code = "if _item['fail']:\n    raise ValueError('item failed')\nreturn 1"
        error = self.error_of(per_item(code, [{"fail": False}, {"fail": True}]))
        self.assertEqual(error["message"], "item failed")


class WrappingTests(SharedServerTest):
    def test_multi_line_string_literal_is_unchanged(self):
        code = "s = '''first\nsecond\n  third'''\nreturn s"
        self.assertEqual(self.result_of(all_items(code)), "first\nsecond\n  third")

    def test_top_level_return_works(self):
        self.assertEqual(self.result_of(all_items("if True:\n    return 'early'\nreturn 'late'")),
                         "early")

    def test_stack_shows_the_users_line_numbers(self):
        code = "a = 1\nb = 2\n\ndef inner():\n    raise ValueError('deep')\ninner()"
        stack = self.error_of(all_items(code))["stack"]
        self.assertIn('File "<all_items_task_execution>", line 6, in _user_function', stack)
        self.assertIn('File "<all_items_task_execution>", line 5, in inner', stack)
        self.assertIn("    raise ValueError('deep')\n", stack)
        self.assertTrue(stack.startswith("Traceback (most recent call last):\n"), stack)
        self.assertTrue(stack.endswith("ValueError: deep\n"), stack)

    def test_stack_leaves_out_wrapper_and_runner_frames(self):
        stack = self.error_of(all_items("x = 1\nraise RuntimeError('boom')"))["stack"]
        self.assertNotIn("<module>", stack)
        self.assertNotIn("n8n_", stack)
        self.assertEqual(stack.count('File "'), 1, stack)

    def test_stack_keeps_the_library_frames_after_the_last_user_frame(self):
        stack = self.error_of(all_items("import json\njson.loads('{')"))["stack"]
        self.assertIn('File "<all_items_task_execution>", line 2, in _user_function', stack)
        self.assertRegex(stack, r'File ".*/json/decoder\.py", line \d+, in raw_decode')
        self.assertNotIn("n8n_", stack)
        self.assertTrue(stack.endswith("JSONDecodeError: Expecting property name enclosed in "
                                       "double quotes: line 1 column 2 (char 1)\n"), stack)

    def test_per_item_stack_uses_per_item_filename(self):
        stack = self.error_of(per_item("\nraise RuntimeError('x')", [{}]))["stack"]
        self.assertIn('File "<per_item_task_execution>", line 2', stack)

    def test_future_import_is_allowed_at_the_top(self):
        code = (
            "from __future__ import annotations\n"
            "def f(x: Undefined) -> int:\n"
            "    return 1\n"
            "return f(0)"
        )
        self.assertEqual(self.result_of(all_items(code)), 1)

    def test_future_import_may_follow_a_docstring(self):
        code = '"""Doc."""\nfrom __future__ import annotations\nx: Undefined = 2\nreturn x'
        self.assertEqual(self.result_of(all_items(code)), 2)

    def test_late_future_import_is_a_syntax_error_on_its_line(self):
        error = self.error_of(all_items("x = 1\nfrom __future__ import annotations"))
        self.assertEqual(error["kind"], "syntax")
        self.assertEqual(error["message"], "from __future__ imports must occur at the "
                                           "beginning of the file (<unknown>, line 2)")

    def test_top_level_yield_returns_the_generator_text(self):
        self.assertTrue(self.result_of(all_items("yield 1")).startswith("<generator object"))

    def test_syntax_error_message_shape(self):
        error = self.error_of(all_items("x = 1\ny = 2\nz = = 3"))
        self.assertEqual(error["message"], "invalid syntax (<unknown>, line 3)")
        self.assertEqual(error["description"], "")
        self.assertEqual(error["kind"], "syntax")

    def test_syntax_error_found_when_compiling_keeps_the_users_line(self):
        error = self.error_of(all_items("x = 1\nawait x"))
        self.assertEqual(error["kind"], "syntax")
        self.assertEqual(error["message"], "'await' outside async function (<unknown>, line 2)")

    def test_null_byte_in_code_is_a_syntax_error(self):
        error = self.error_of(all_items("x = 1\ny = '\0'"))
        self.assertEqual(error["kind"], "syntax")
        self.assertEqual(error["message"], "source code string cannot contain null bytes")


class ErrorTests(SharedServerTest):
    def test_runtime_error_shape(self):
        error = self.error_of(all_items("raise ValueError('bad value')"))
        self.assertEqual(error["message"], "bad value")
        self.assertEqual(error["description"], "")
        self.assertEqual(error["stderr"], "")
        self.assertEqual(error["kind"], "runtime")
        self.assertIn("ValueError: bad value", error["stack"])

    def test_key_error_message_is_the_quoted_key(self):
        self.assertEqual(self.error_of(all_items("return {}['k']"))["message"], "'k'")

    def test_exception_description_attribute_is_used(self):
        code = "e = ValueError('m')\ne.description = 'from the exception'\nraise e"
        self.assertEqual(self.error_of(all_items(code))["description"], "from the exception")

    def test_captured_stderr_is_the_description_fallback(self):
        code = "import warnings\nwarnings.warn('careful')\nraise RuntimeError('after warn')"
        error = self.error_of(all_items(code))
        expected = "<all_items_task_execution>:2: UserWarning: careful\n"
        self.assertEqual(error["description"], expected)
        self.assertEqual(error["stderr"], expected)

    def test_keyboard_interrupt_has_empty_message(self):
        error = self.error_of(all_items("raise KeyboardInterrupt()"))
        self.assertEqual(error["message"], "")
        self.assertEqual(error["kind"], "runtime")

    def test_system_exit_reports_its_code(self):
        error = self.error_of(all_items("raise SystemExit(3)"))
        self.assertEqual(error["message"], "Process exited with code 3")
        self.assertEqual(error["description"], "")
        self.assertEqual(error["kind"], "exit")

    def test_system_exit_with_text_reports_the_text(self):
        self.assertEqual(self.error_of(all_items("raise SystemExit('bye')"))["message"],
                         "Process exited with code bye")

    def test_system_exit_without_code_reports_none_as_n8n_does(self):
        for code in ("import sys\nsys.exit()", "raise SystemExit", "exit()"):
            self.assertEqual(self.error_of(all_items(code))["message"],
                             "Process exited with code None", code)

    def test_denied_builtin_raises_name_error(self):
        error = self.error_of(all_items("return eval('1')"))
        self.assertEqual(error["message"], "name 'eval' is not defined")

    def test_class_statement_fails_without_build_class(self):
        self.assertEqual(self.error_of(all_items("class A:\n    pass"))["message"],
                         "__build_class__ not found")

    def test_allowed_builtin_still_works(self):
        self.assertEqual(self.result_of(all_items("return len([1, 2]) + abs(-1)")), 3)


class PrintTests(SharedServerTest):
    def prints_of(self, code):
        return self.run_ok(all_items(code))["print_args"]

    def test_print_formats_every_kind_of_value(self):
        code = (
            "import json\n"
            "d = {}\n"
            "d['self'] = d\n"
            "print('Hello', 'q\"x', None, 42, 3.14, True, float('nan'))\n"
            "print([1, 'a'], {'k': 'v'}, {'ü': 1}, json, d)"
        )
        self.assertEqual(self.prints_of(code), [
            ["'Hello'", "'q\"x'", "None", "42", "3.14", "True", "nan"],
            ['[1, "a"]', '{"k": "v"}', '{"ü": 1}', f'"{repr_of_module("json")}"',
             "[Circular dict]"],
        ])

    def test_print_without_arguments_records_empty_list(self):
        self.assertEqual(self.prints_of("print()"), [[]])

    def test_print_keeps_100_entries_and_counts_the_rest(self):
        prints = self.prints_of("for i in range(130):\n    print(i)")
        self.assertEqual(len(prints), 101)
        self.assertEqual(prints[99], ["99"])
        self.assertEqual(prints[100], ["[Output truncated - 30 more print statements]"])

    def test_print_sep_joins_into_one_string(self):
        self.assertEqual(self.prints_of("print('a', 1, sep='-')"), [["'a'-1"]])

    def test_print_default_sep_keeps_separate_strings(self):
        self.assertEqual(self.prints_of("print('a', 1, sep=' ')\nprint('b', sep=None)"),
                         [["'a'", "1"], ["'b'"]])

    def test_print_end_file_and_flush_are_accepted(self):
        self.assertEqual(self.prints_of("print('a', end='', file=None, flush=True)"), [["'a'"]])

    def test_print_rejects_unknown_keyword(self):
        error = self.error_of(all_items("print('a', colour='red')"))
        self.assertEqual(error["message"], "'colour' is an invalid keyword argument for print()")

    def test_print_rejects_non_string_sep(self):
        error = self.error_of(all_items("print('a', sep=1)"))
        self.assertEqual(error["message"], "sep must be None or a string, not int")

    def test_print_repr_looks_builtin(self):
        self.assertEqual(self.result_of(all_items("return repr(print)")),
                         "<built-in function print>")

    def test_prints_are_returned_on_failure(self):
        frame, _ = self.server.run(all_items("print('before')\nraise ValueError('x')"))
        self.assertEqual(frame["status"], "error")
        self.assertEqual(frame["print_args"], [["'before'"]])

    def test_per_item_prints_share_one_recorder(self):
        frame = self.run_ok(per_item("print(_item)", [1, 2]))
        self.assertEqual(frame["print_args"], [["1"], ["2"]])


def repr_of_module(name):
    # A module's repr names its file, which depends on the interpreter under test.
    output = subprocess.run([PYTHON, "-I", "-c", f"import {name}; print(repr({name}))"],
                            capture_output=True, text=True, check=True)
    return output.stdout.strip()


class SerialisationTests(SharedServerTest):
    def test_nan_and_infinity_become_null(self):
        code = (
            "n = float('nan')\n"
            "return {'a': n, 'b': [float('inf'), -float('inf'), 1.5], 'c': (n,)}"
        )
        self.assertEqual(self.result_of(all_items(code)),
                         {"a": None, "b": [None, None, 1.5], "c": [None]})

    def test_circular_reference_is_an_error(self):
        error = self.error_of(all_items("a = []\na.append(a)\nreturn a"))
        self.assertEqual(error["message"], "Circular reference detected")
        self.assertEqual(error["kind"], "runtime")

    def test_circular_reference_with_nan_is_still_an_error(self):
        code = "d = {'n': float('nan')}\nd['d'] = d\nreturn d"
        self.assertEqual(self.error_of(all_items(code))["message"], "Circular reference detected")

    def test_shared_non_circular_references_serialise(self):
        code = "x = [float('nan')]\nreturn [x, x]"
        self.assertEqual(self.result_of(all_items(code)), [[None], [None]])

    def test_tuple_key_is_an_error(self):
        error = self.error_of(all_items("return {(1, 2): 'v'}"))
        self.assertEqual(error["message"], "keys must be str, int, float, bool or None, not tuple")

    def test_too_deep_result_is_an_error(self):
        code = "x = []\nfor _ in range(100000):\n    x = [x]\nreturn x"
        self.assertIn("maximum recursion depth exceeded",
                      self.error_of(all_items(code))["message"])

    def test_serialisation_error_keeps_prints(self):
        frame, _ = self.server.run(all_items("print('p')\nreturn {(1,): 1}"))
        self.assertEqual(frame["status"], "error")
        self.assertEqual(frame["print_args"], [["'p'"]])

    def test_20_mb_result_arrives_whole(self):
        code = "return [{'json': {'i': i, 'pad': 'x' * 1000}} for i in range(20000)]"
        result = self.result_of(all_items(code))
        self.assertEqual(len(result), 20000)
        self.assertEqual(result[-1]["json"]["i"], 19999)
        self.assertEqual(len(result[-1]["json"]["pad"]), 1000)

    def test_large_task_input_is_read_whole(self):
        items = [{"json": {"pad": "y" * 1000, "i": i}} for i in range(5000)]
        self.assertEqual(self.result_of(all_items("return len(_items)", items)), 5000)


# ---------------------------------------------------------------------------------------------
# Tests that need their own forkserver


class ConfigurationTests(unittest.TestCase):
    def test_environment_is_kept_when_blocking_is_off(self):
        server = ForkServer(env={"N8N_TEST_SECRET": "s3cret"}, block_env=False)
        try:
            frame, _ = server.run(all_items("import os\nreturn os.environ.get('N8N_TEST_SECRET')"))
            self.assertEqual(frame["result"], "s3cret")
        finally:
            server.close()

    def test_unknown_keys_and_missing_preload_are_tolerated(self):
        server = ForkServer(preload=["json", "no_such_module_n8n"], future_key={"x": 1})
        try:
            frame, _ = server.run(all_items("return 'ok'"))
            self.assertEqual(frame["result"], "ok")
            self.assertIn("no_such_module_n8n", server.stderr_text())
        finally:
            server.close()

    def test_empty_deny_list_allows_every_builtin(self):
        server = ForkServer(builtins_deny=[])
        try:
            frame, _ = server.run(all_items("return eval('1 + 1')"))
            self.assertEqual(frame["result"], 2)
        finally:
            server.close()

    def test_closing_the_control_socket_kills_children_and_exits(self):
        server = ForkServer()
        child = server.spawn()
        try:
            pid = child.read_pid()
            child.send_task(all_items("import time\ntime.sleep(60)"))
            server.sock.close()
            self.assertEqual(server.process.wait(TIMEOUT), 0)
            self.assertEqual(child.read_exit(), -9)
            self.assertFalse(process_exists(pid))
        finally:
            child.close()
            server.close()

    @unittest.skipUnless(os.path.isdir("/proc/self"), "needs /proc to list a process group")
    def test_closing_the_control_socket_kills_the_childs_whole_group(self):
        server = ForkServer()
        child = server.spawn()
        try:
            pgid = child.read_pid()
            child.send_task(all_items(
                "import subprocess, sys, time\n"
                # The interpreter, not /bin/sleep: the sandbox lets tasks execute only what
                # lies in the interpreter's installation.
                "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                "time.sleep(60)"
            ))
            self.assertTrue(wait_until(lambda: len(group_members(pgid)) == 2))
            server.sock.close()
            self.assertEqual(server.process.wait(TIMEOUT), 0)
            # The grandchild is reparented to init, which reaps it shortly after the kill.
            self.assertTrue(wait_until(lambda: not group_members(pgid)))
        finally:
            child.close()
            server.close()

    def test_sigterm_to_the_forkserver_kills_children_and_exits(self):
        server = ForkServer()
        child = server.spawn()
        try:
            pid = child.read_pid()
            child.send_task(all_items("import time\ntime.sleep(60)"))
            server.process.send_signal(signal.SIGTERM)
            self.assertEqual(server.process.wait(TIMEOUT), 0)
            self.assertEqual(child.read_exit(), -9)
            self.assertFalse(process_exists(pid))
        finally:
            child.close()
            server.close()


if __name__ == "__main__":
    unittest.main()
