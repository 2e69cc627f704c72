"""Black-box tests of the child-side guards in python/n8n_task/ (protocol §10.2-§10.6).

Like test_child.py, each test drives the real forkserver over its control socket; the harness
comes from test_child.py. Each class starts one forkserver with the configuration it needs.
The static (Rust-side) analysis is not involved here, so these tests also show what the guards
hold on their own.

Run: python3 -B -m unittest discover -s tests/python
"""

import json
import select
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_child import (  # noqa: E402  (the path above makes the harness importable)
    BLOCKED_ATTRIBUTES,
    BLOCKED_NAMES,
    SANDBOX_SOURCE,
    TASK_MODULES,
    DEFAULT_DENY,
    FORKSERVER_MODULES,
    FORKSERVER_SOURCE,
    LAUNCHER,
    PYTHON,
    TIMEOUT,
    ForkServer,
    all_items,
    per_item,
)

STDLIB_MESSAGE = "Import of standard library module '{}' is disallowed. Allowed stdlib modules: {}"
EXTERNAL_MESSAGE = "Import of external package '{}' is disallowed. Allowed external packages: {}"
NO_PARENT = "attempted relative import with no known parent package"
FORMAT_MESSAGE = ("String pattern accessing '{}' is disallowed, because it can be used to bypass "
                  "security restrictions.")
# Attribute names every injected callable must refuse (§10.5 plus the brief's additions).
INTROSPECTION_NAMES = sorted(set(BLOCKED_ATTRIBUTES) | {
    "__call__", "__init__", "__new__", "__doc__", "__dir__", "__subclasshook__", "__repr__",
    "__class__", "__dict__", "__globals__", "__closure__", "__code__", "__self__", "__func__",
    "__wrapped__", "__reduce__", "__reduce_ex__", "__slots__", "__name__", "__eq__",
    "__hash__", "__getstate__", "_target", "no_such_attribute",
})
# What no namespace behind an injected callable may offer.
DANGEROUS_NAMES = ["eval", "exec", "compile", "open", "__import__", "getattr", "globals", "vars",
                   "os", "sys", "importlib", "json", "_prepared", "run_task"]


class GuardTest(unittest.TestCase):
    """One forkserver per class, started with the class's `config`."""

    config = {}
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = ForkServer(**cls.config)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def frame_of(self, task):
        frame, exit_code = self.server.run(task)
        self.assertEqual(exit_code, 0)
        return frame

    def result_of(self, code):
        frame = self.frame_of(code if isinstance(code, dict) else all_items(code))
        self.assertEqual(frame["status"], "ok", frame)
        return frame["result"]

    def error_of(self, code):
        frame = self.frame_of(code if isinstance(code, dict) else all_items(code))
        self.assertEqual(frame["status"], "error", frame)
        return frame["error"]

    def assert_import_refused(self, code, description):
        error = self.error_of(code)
        self.assertEqual(error["kind"], "security", error)
        self.assertEqual(error["message"], "Security violation detected")
        self.assertEqual(error["description"], description)
        return error

    def assert_format_refused(self, code, token):
        error = self.error_of(code)
        self.assertEqual(error["kind"], "security", error)
        self.assertEqual(error["message"], "Security violations detected")
        self.assertEqual(error["description"], FORMAT_MESSAGE.format(token))
        return error


# ---------------------------------------------------------------------------------------------
# Allowlists


class AllowlistTests(GuardTest):
    config = {
        "stdlib_allow": ["collections", "datetime", "json", "os.path", "string"],
        "external_allow": ["pip"],
    }
    STDLIB = "collections, datetime, json, os.path, string"

    def test_plain_entry_allows_the_module(self):
        self.assertEqual(self.result_of("import json\nreturn json.dumps([1])"), "[1]")

    def test_plain_entry_allows_its_submodules(self):
        code = "import json.decoder\nfrom json import encoder\nreturn [json.decoder.__name__, " \
               "encoder.__name__]"
        self.assertEqual(self.result_of(code), ["json.decoder", "json.encoder"])

    def test_stdlib_module_outside_the_list_is_refused_with_the_stdlib_message(self):
        self.assert_import_refused("import socket", STDLIB_MESSAGE.format("socket", self.STDLIB))

    def test_a_refusals_stack_ends_with_its_class_and_message(self):
        error = self.assert_import_refused("import socket",
                                           STDLIB_MESSAGE.format("socket", self.STDLIB))
        self.assertTrue(error["stack"].endswith(
            "\nn8n_child.ImportRefusedError: Security violation detected\n"), error["stack"])

    def test_refusal_names_the_full_dotted_module(self):
        self.assert_import_refused("import xml.dom", STDLIB_MESSAGE.format("xml.dom", self.STDLIB))

    def test_from_import_of_a_refused_module_is_refused(self):
        self.assert_import_refused("from socket import socket",
                                   STDLIB_MESSAGE.format("socket", self.STDLIB))

    def test_dotted_entry_allows_exactly_that_module(self):
        self.assertEqual(self.result_of("import os.path\nreturn os.path.join('a', 'b')"), "a/b")

    def test_dotted_entry_does_not_allow_its_parent(self):
        self.assert_import_refused("import os", STDLIB_MESSAGE.format("os", self.STDLIB))

    def test_dotted_entry_import_binds_a_stand_in_without_the_parents_other_names(self):
        code = (
            "import os.path\n"
            "try:\n"
            "    os.system\n"
            "except AttributeError:\n"
            "    return 'no system'\n"
            "return 'system reachable'"
        )
        self.assertEqual(self.result_of(code), "no system")

    def test_from_parent_import_of_an_allowed_submodule_works(self):
        self.assertEqual(self.result_of("from os import path\nreturn path.sep"), "/")

    def test_from_parent_import_of_other_names_is_refused(self):
        self.assert_import_refused("from os import path, sep",
                                   STDLIB_MESSAGE.format("os", self.STDLIB))

    def test_explicit_import_of_the_parent_with_an_allowed_fromlist_returns_a_stand_in(self):
        code = (
            "m = __import__('os', None, None, ['path'])\n"
            "try:\n"
            "    m.system\n"
            "except AttributeError:\n"
            "    return m.path.sep\n"
            "return 'system reachable'"
        )
        self.assertEqual(self.result_of(code), "/")

    def test_allowed_external_package_imports(self):
        self.assertEqual(self.result_of("import pip\nreturn pip.__name__"), "pip")

    def test_external_package_outside_the_list_is_refused_with_the_external_message(self):
        self.assert_import_refused("import numpy",
                                   EXTERNAL_MESSAGE.format("numpy", "pip"))

    def test_refusal_is_an_exception_user_code_can_catch(self):
        code = "try:\n    import socket\nexcept Exception as e:\n    return str(e)"
        self.assertEqual(self.result_of(code), "Security violation detected")

    def test_refusal_stack_points_at_the_users_line(self):
        error = self.error_of("x = 1\n\nimport socket")
        self.assertIn('File "<all_items_task_execution>", line 3, in _user_function',
                      error["stack"])

    def test_per_item_mode_is_guarded(self):
        self.assert_import_refused(per_item("import socket", [{}]),
                                   STDLIB_MESSAGE.format("socket", self.STDLIB))

    def test_imports_inside_nested_functions_are_guarded(self):
        code = "def f():\n    import socket\n(lambda: f())()"
        self.assert_import_refused(code, STDLIB_MESSAGE.format("socket", self.STDLIB))


class EmptyAllowlistTests(GuardTest):
    config = {"stdlib_allow": [], "external_allow": []}

    def test_empty_stdlib_list_says_none(self):
        self.assert_import_refused("import json", STDLIB_MESSAGE.format("json", "none"))

    def test_empty_external_list_says_none(self):
        self.assert_import_refused("import pip", EXTERNAL_MESSAGE.format("pip", "none"))


class StdlibWildcardTests(GuardTest):
    config = {"stdlib_allow": ["*"], "external_allow": []}

    def test_wildcard_allows_every_stdlib_module(self):
        code = "import socket, xml.dom, os\nreturn [socket.__name__, xml.dom.__name__, os.sep]"
        self.assertEqual(self.result_of(code), ["socket", "xml.dom", "/"])

    def test_wildcard_does_not_extend_to_external_packages(self):
        self.assert_import_refused("import pip", EXTERNAL_MESSAGE.format("pip", "none"))


class ExternalWildcardTests(GuardTest):
    config = {"stdlib_allow": ["json"], "external_allow": ["*"]}

    def test_wildcard_allows_every_external_package(self):
        self.assertEqual(self.result_of("import pip\nreturn pip.__name__"), "pip")

    def test_wildcard_does_not_extend_to_the_stdlib(self):
        self.assert_import_refused("import os", STDLIB_MESSAGE.format("os", "json"))

    def test_wildcard_does_not_reach_the_runners_own_modules(self):
        for name in ("n8n_sandbox", "n8n_task", "n8n_task.entry", "n8n_forkserver",
                     "n8n_forkserver.startup"):
            error = self.error_of(f"import {name}")
            self.assertEqual(error["message"], f"No module named '{name.partition('.')[0]}'")

    def test_relative_import_without_anchor_fails_as_cpython_would(self):
        error = self.error_of("__import__('x', {}, None, (), 1)")
        self.assertEqual(error["kind"], "runtime")
        self.assertEqual(error["message"], NO_PARENT)

    def test_relative_import_is_never_anchored_on_name(self):
        # CPython would fall back to __name__ and import os.path here.
        error = self.error_of("__import__('path', {'__name__': 'os.x'}, None, (), 1)")
        self.assertEqual(error["message"], NO_PARENT)

    def test_the_runner_modules_are_not_importable(self):
        # With every external package allowed, only pruning keeps user code from them. The
        # package goes first, so a submodule's import fails on the package's name.
        for package, listed in (("n8n_task", TASK_MODULES),
                                ("n8n_forkserver", FORKSERVER_MODULES)):
            modules = [package] + [f"{package}.{name}" for name, _ in listed]
            for module in modules:
                with self.subTest(module=module):
                    error = self.error_of(f"import {module}")
                    self.assertEqual(error["message"], f"No module named '{package}'")
        # The name refusals still show in their stacks (see STACK_MODULE_NAME) is no module.
        error = self.error_of("import n8n_child")
        self.assertEqual(error["message"], "No module named 'n8n_child'")


# ---------------------------------------------------------------------------------------------
# Relative imports and the importlib entry points


class RelativeImportTests(GuardTest):
    config = {"stdlib_allow": ["importlib", "json", "os.path"]}
    STDLIB = "importlib, json, os.path"

    def test_dunder_import_resolves_against_the_package_anchor(self):
        code = "return __import__('decoder', {'__package__': 'json'}, None, ('JSONDecoder',), 1)" \
               ".JSONDecoder.__name__"
        self.assertEqual(self.result_of(code), "JSONDecoder")

    def test_dunder_import_checks_the_resolved_name(self):
        self.assert_import_refused("__import__('dom', {'__package__': 'xml'}, None, (), 1)",
                                   STDLIB_MESSAGE.format("xml.dom", self.STDLIB))

    def test_dunder_import_resolves_several_levels_up(self):
        code = "return __import__('decoder', {'__package__': 'json.sub'}, None, ('x',), 2)" \
               ".__name__"
        self.assertEqual(self.result_of(code), "json.decoder")

    def test_dunder_import_without_package_is_checked_as_written(self):
        self.assert_import_refused("__import__('decoder', {}, None, (), 1)",
                                   EXTERNAL_MESSAGE.format(".decoder", "none"))

    def test_dunder_import_ignores_name_and_spec_fallbacks(self):
        self.assert_import_refused("__import__('decoder', {'__name__': 'json.x'}, None, (), 1)",
                                   EXTERNAL_MESSAGE.format(".decoder", "none"))

    def test_from_dot_import_in_user_code_is_refused(self):
        self.assert_import_refused("from . import json", EXTERNAL_MESSAGE.format(".", "none"))

    def test_import_module_resolves_against_the_package_argument(self):
        code = "import importlib\nreturn importlib.import_module('.decoder', 'json').__name__"
        self.assertEqual(self.result_of(code), "json.decoder")

    def test_import_module_resolves_into_a_dotted_entry(self):
        code = "import importlib\nreturn importlib.import_module('.path', 'os').sep"
        self.assertEqual(self.result_of(code), "/")

    def test_import_module_checks_the_resolved_name(self):
        self.assert_import_refused("import importlib\nimportlib.import_module('.dom', 'xml')",
                                   STDLIB_MESSAGE.format("xml.dom", self.STDLIB))

    def test_import_module_without_package_is_checked_as_written(self):
        self.assert_import_refused("import importlib\nimportlib.import_module('.decoder')",
                                   EXTERNAL_MESSAGE.format(".decoder", "none"))

    def test_import_module_beyond_the_top_level_is_checked_as_written(self):
        self.assert_import_refused("import importlib\nimportlib.import_module('..x', 'json')",
                                   EXTERNAL_MESSAGE.format("..x", "none"))


class ImportEntryPointTests(GuardTest):
    config = {"stdlib_allow": ["importlib", "json"]}
    REFUSED_OS = STDLIB_MESSAGE.format("os", "importlib, json")

    def test_import_module_checks_the_allowlist(self):
        self.assert_import_refused("import importlib\nimportlib.import_module('os')",
                                   self.REFUSED_OS)

    def test_import_module_allows_listed_modules(self):
        code = "import importlib\nreturn importlib.import_module('json.decoder').__name__"
        self.assertEqual(self.result_of(code), "json.decoder")

    def test_importlib_dunder_import_checks_the_allowlist(self):
        self.assert_import_refused("from importlib import __import__ as f\nf('os')",
                                   self.REFUSED_OS)

    def test_importlib_dunder_import_allows_listed_modules(self):
        code = "from importlib import __import__ as f\nreturn f('json').__name__"
        self.assertEqual(self.result_of(code), "json")

    def test_bare_dunder_import_is_guarded(self):
        self.assert_import_refused("__import__('os')", self.REFUSED_OS)

    def test_dunder_import_from_the_builtins_mapping_by_item_is_guarded(self):
        self.assert_import_refused("__builtins__['__import__']('os')", self.REFUSED_OS)

    def test_dunder_import_from_the_builtins_mapping_by_attribute_is_guarded(self):
        self.assert_import_refused("__builtins__.__import__('os')", self.REFUSED_OS)

    def test_non_string_module_name_is_a_type_error(self):
        error = self.error_of("__import__(42)")
        self.assertEqual(error["kind"], "runtime")
        self.assertEqual(error["message"], "module name must be str, not int")


class RefusalsAreImportErrorsTests(GuardTest):
    config = {"stdlib_allow": ["importlib", "zoneinfo"]}

    def test_a_refused_import_can_be_caught_as_import_error(self):
        code = ("import importlib\n"
                "try:\n"
                "    importlib.import_module('os')\n"
                "except ImportError as error:\n"
                "    return str(error)")
        self.assertEqual(self.result_of(code), "Security violation detected")

    def test_an_uncaught_refusal_keeps_n8ns_message_and_description(self):
        error = self.error_of("import importlib\nimportlib.import_module('os')")
        self.assertEqual(error["message"], "Security violation detected")
        self.assertEqual(error["description"],
                         STDLIB_MESSAGE.format("os", "importlib, zoneinfo"))
        self.assertEqual(error["kind"], "security")

    def test_zoneinfos_fallback_for_an_unknown_zone_works(self):
        code = ("from zoneinfo import ZoneInfo, ZoneInfoNotFoundError\n"
                "try:\n"
                "    ZoneInfo('Mars/Olympus_Mons')\n"
                "except ZoneInfoNotFoundError:\n"
                "    return 'fallback'")
        self.assertEqual(self.result_of(code), "fallback")

    def test_zoneinfo_lists_the_available_zones(self):
        code = "import zoneinfo\nreturn 'Europe/Berlin' in zoneinfo.available_timezones()"
        self.assertTrue(self.result_of(code))


class TransitiveImportsOffTests(GuardTest):
    config = {"stdlib_allow": ["importlib", "pkgutil"], "allow_transitive_imports": False}

    def test_library_code_importing_through_importlib_is_checked(self):
        self.assert_import_refused(
            "import pkgutil\npkgutil.resolve_name('os.path:join')",
            STDLIB_MESSAGE.format("os.path", "importlib, pkgutil"),
        )

    def test_library_code_import_statements_are_not_checked(self):
        # pkgutil's own `import importlib.util` and the like go through its real builtins.
        self.assertEqual(self.result_of("import pkgutil\nreturn pkgutil.__name__"), "pkgutil")


class TransitiveImportsOnTests(GuardTest):
    config = {"stdlib_allow": ["importlib", "pkgutil"], "allow_transitive_imports": True}
    REFUSED_OS = STDLIB_MESSAGE.format("os", "importlib, pkgutil")

    def test_library_code_importing_through_importlib_is_trusted(self):
        code = "import pkgutil\nreturn pkgutil.resolve_name('os.path:join')('a', 'b')"
        self.assertEqual(self.result_of(code), "a/b")

    def test_user_import_module_calls_are_still_checked(self):
        self.assert_import_refused("import importlib\nimportlib.import_module('os')",
                                   self.REFUSED_OS)

    def test_user_import_statements_are_still_checked(self):
        self.assert_import_refused("import os", self.REFUSED_OS)

    def test_user_dunder_import_calls_are_still_checked(self):
        self.assert_import_refused("__import__('os')", self.REFUSED_OS)


# ---------------------------------------------------------------------------------------------
# Implicit helper modules


class DatetimeOnlyTests(GuardTest):
    config = {"stdlib_allow": ["datetime"]}

    def test_datetime_strptime_works(self):
        code = "import datetime\nreturn str(datetime.datetime.strptime('2020-01-02', '%Y-%m-%d'))"
        self.assertEqual(self.result_of(code), "2020-01-02 00:00:00")

    def test_datetime_strftime_and_astimezone_work(self):
        code = (
            "import datetime\n"
            "d = datetime.datetime(2020, 1, 2, 3, 4)\n"
            "return [d.strftime('%Y/%m'), d.astimezone().year, d.timestamp() > 0]"
        )
        self.assertEqual(self.result_of(code), ["2020/01", 2020, True])

    def test_user_import_of_the_helper_is_refused(self):
        self.assert_import_refused("import _strptime",
                                   STDLIB_MESSAGE.format("_strptime", "datetime"))

    def test_explicit_call_shaped_like_the_c_level_import_is_refused(self):
        self.assert_import_refused("g = {}\n__import__('_strptime', g, g, [], 0)",
                                   STDLIB_MESSAGE.format("_strptime", "datetime"))

    def test_helper_does_not_make_its_own_dependencies_importable(self):
        self.assert_import_refused("import time", STDLIB_MESSAGE.format("time", "datetime"))


class TimeOnlyTests(GuardTest):
    config = {"stdlib_allow": ["time"]}

    def test_time_strptime_works(self):
        self.assertEqual(self.result_of("import time\nreturn time.strptime('2020', '%Y')[0]"),
                         2020)

    def test_user_import_of_the_helper_is_refused(self):
        self.assert_import_refused("import _strptime", STDLIB_MESSAGE.format("_strptime", "time"))


# ---------------------------------------------------------------------------------------------
# sys.modules and the environment


class ModulePruningTests(GuardTest):
    config = {"stdlib_allow": ["json", "sys"]}

    def test_modules_outside_the_allowlist_are_not_loaded(self):
        self.assertIs(self.result_of("import sys\nreturn 'os' in sys.modules"), False)

    def test_allowed_modules_and_their_submodules_stay_loaded(self):
        code = "import sys\nreturn ['json' in sys.modules, 'json.decoder' in sys.modules]"
        self.assertEqual(self.result_of(code), [True, True])

    def test_the_runner_modules_are_not_loaded(self):
        code = "import sys\nreturn [name for name in sys.modules if name.startswith('n8n_')]"
        self.assertEqual(self.result_of(code), [])

    def test_main_is_an_empty_module_not_the_forkserver(self):
        code = "import sys\nreturn sorted(sys.modules['__main__'].__dict__)"
        self.assertEqual(self.result_of(code),
                         ["__doc__", "__loader__", "__name__", "__package__", "__spec__"])

    def test_modules_the_forkserver_loads_later_are_dropped_too(self):
        # The forkserver imports `array` while receiving its first fork request.
        self.assertIs(self.result_of("import sys\nreturn 'array' in sys.modules"), False)

    def test_only_the_fixed_set_and_the_allowlist_remain(self):
        code = "import sys\nreturn sorted(m for m in sys.modules if not m.startswith('json'))"
        remaining = set(self.result_of(code))
        expected = {"__main__", "builtins", "importlib", "linecache", "sys", "traceback"}
        self.assertLessEqual(remaining, expected | {"importlib.machinery", "_json"})


class EnvironmentTests(GuardTest):
    config = {"stdlib_allow": ["os"], "block_env": True}

    @classmethod
    def setUpClass(cls):
        cls.server = ForkServer(env={"N8N_TEST_SECRET": "s3cret"}, **cls.config)

    def test_environment_is_cleared(self):
        self.assertEqual(self.result_of("import os\nreturn dict(os.environ)"), {})


# ---------------------------------------------------------------------------------------------
# The builtins mapping


class BuiltinsMappingTests(GuardTest):
    config = {"stdlib_allow": []}

    def refusal_of(self, statement):
        code = (f"try:\n    {statement}\nexcept Exception as e:\n"
                "    return [e.__class__.__name__, str(e)]")
        return self.result_of(code)

    def test_item_access_reads_a_builtin(self):
        self.assertIs(self.result_of("return __builtins__['len'] is len"), True)

    def test_attribute_access_reads_a_builtin(self):
        self.assertIs(self.result_of("return __builtins__.len is len"), True)

    def test_membership_length_and_iteration(self):
        code = "b = __builtins__\nreturn ['len' in b, len(b) > 100, 'len' in list(b)]"
        self.assertEqual(self.result_of(code), [True, True, True])

    def test_keys_values_items_and_get(self):
        code = (
            "b = __builtins__\n"
            "return ['abs' in b.keys(), len in list(b.values()), ('abs', abs) in b.items(),\n"
            "        b.get('abs') is abs, b.get('missing', 7)]"
        )
        self.assertEqual(self.result_of(code), [True, True, True, True, 7])

    def test_mapping_is_not_a_dict(self):
        self.assertIs(self.result_of("return isinstance(__builtins__, dict)"), False)

    def test_item_assignment_is_refused(self):
        self.assertEqual(self.refusal_of("__builtins__['len'] = None"),
                         ["TypeError", "the builtins mapping is read-only"])

    def test_item_deletion_is_refused(self):
        self.assertEqual(self.refusal_of("del __builtins__['len']"),
                         ["TypeError", "the builtins mapping is read-only"])

    def test_attribute_assignment_is_refused(self):
        self.assertEqual(self.refusal_of("__builtins__.len = None"),
                         ["AttributeError", "the builtins mapping is read-only: cannot change "
                                            "'len'"])

    def test_attribute_deletion_is_refused(self):
        self.assertEqual(self.refusal_of("del __builtins__.len"),
                         ["AttributeError", "the builtins mapping is read-only: cannot change "
                                            "'len'"])

    def test_dict_methods_applied_directly_are_refused(self):
        for statement in ("dict.__setitem__(__builtins__, 'x', 1)",
                          "dict.update(__builtins__, {'len': None})",
                          "dict.clear(__builtins__)"):
            with self.subTest(statement=statement):
                self.assertEqual(self.refusal_of(statement)[0], "TypeError")

    def test_mutating_methods_do_not_exist(self):
        for name in ("update", "pop", "clear", "setdefault", "popitem", "__setitem__"):
            with self.subTest(name=name):
                self.assertEqual(self.refusal_of(f"__builtins__.{name}")[0], "AttributeError")

    def test_class_and_dict_are_not_reachable(self):
        for name in ("__class__", "__dict__"):
            with self.subTest(name=name):
                self.assertEqual(self.refusal_of(f"__builtins__.{name}"),
                                 ["AttributeError",
                                  f"module 'builtins' has no attribute '{name}'"])

    def test_denied_builtins_are_absent(self):
        code = "return ['eval' in __builtins__, __builtins__.get('exec'), 'open' in " \
               "list(__builtins__)]"
        self.assertEqual(self.result_of(code), [False, None, False])

    def test_denied_builtin_by_item_is_a_key_error(self):
        self.assertEqual(self.refusal_of("__builtins__['eval']"), ["KeyError", "'eval'"])

    def test_denied_builtin_name_is_a_name_error(self):
        self.assertEqual(self.refusal_of("compile"),
                         ["NameError", "name 'compile' is not defined"])

    def test_importer_objects_are_absent(self):
        code = "return ['__loader__' in __builtins__, '__spec__' in __builtins__]"
        self.assertEqual(self.result_of(code), [False, False])

    def test_class_statement_fails(self):
        self.assertEqual(self.refusal_of("class A: pass"),
                         ["NameError", "__build_class__ not found"])

    def test_repr_looks_like_the_builtins_module(self):
        self.assertEqual(self.result_of("return repr(__builtins__)"),
                         "<module 'builtins' (built-in)>")


class DeniedDunderImportTests(GuardTest):
    config = {"stdlib_allow": ["json"], "builtins_deny": DEFAULT_DENY + ["__import__"]}

    def test_guarded_import_is_present_even_when_denied(self):
        code = "import json\nreturn [json.__name__, repr(__builtins__['__import__'])]"
        self.assertEqual(self.result_of(code), ["json", "<built-in function __import__>"])


# ---------------------------------------------------------------------------------------------
# Format-string guard


class FormatGuardTests(GuardTest):
    config = {"stdlib_allow": ["collections", "string"]}
    # Built at run time, so no literal in the code names the attribute.
    DYNAMIC = "u = '_' * 2\nt = '{0.' + u + 'class' + u + '}'\n"

    def test_direct_template_is_refused(self):
        self.assert_format_refused("return '{0.__class__}'.format(1)", "__class__")

    def test_a_refusals_stack_ends_with_its_class_and_message(self):
        error = self.assert_format_refused("return '{0.__class__}'.format(1)", "__class__")
        self.assertTrue(error["stack"].endswith(
            "\nn8n_child.SecurityViolationError: Security violations detected\n"),
            error["stack"])

    def test_dynamically_built_template_is_refused(self):
        self.assert_format_refused(self.DYNAMIC + "return t.format(1)", "__class__")

    def test_format_map_is_guarded(self):
        self.assert_format_refused("return '{x.__globals__}'.format_map({'x': len})",
                                   "__globals__")

    def test_unbound_str_format_is_guarded(self):
        self.assert_format_refused(self.DYNAMIC + "return str.format(t, 1)", "__class__")

    def test_string_formatter_format_is_guarded(self):
        self.assert_format_refused(self.DYNAMIC + "import string\n"
                                   "return string.Formatter().format(t, 1)", "__class__")

    def test_string_formatter_vformat_is_guarded(self):
        self.assert_format_refused(self.DYNAMIC + "import string\n"
                                   "return string.Formatter().vformat(t, (1,), {})", "__class__")

    def test_vformat_with_keyword_template_is_guarded(self):
        self.assert_format_refused(
            self.DYNAMIC + "import string\n"
            "return string.Formatter().vformat(format_string=t, args=(1,), kwargs={})",
            "__class__")

    def test_unbound_formatter_format_is_guarded(self):
        self.assert_format_refused(
            self.DYNAMIC + "import string\n"
            "return string.Formatter.format(string.Formatter(), t, 1)", "__class__")

    def test_private_vformat_is_guarded(self):
        self.assert_format_refused(
            self.DYNAMIC + "import string\n"
            "return string.Formatter()._vformat(t, (1,), {}, set(), 2)", "__class__")

    def test_get_field_is_guarded(self):
        self.assert_format_refused(
            "import string\nreturn string.Formatter().get_field('0.__globals__', [len], {})",
            "__globals__")

    def test_nested_format_spec_is_scanned(self):
        self.assert_format_refused("return '{0:{1.__class__}}'.format(1, 2)", "__class__")

    def test_subscript_forms_are_refused(self):
        for template, token in (("{0[__globals__]}", "__globals__"),
                                ("{0['__builtins__']}", "__builtins__"),
                                ('{0["__import__"]}', "__import__")):
            with self.subTest(template=template):
                self.assert_format_refused(f"return {template!r}.format({{}})", token)

    def test_user_string_receiver_is_guarded(self):
        self.assert_format_refused(self.DYNAMIC + "import collections\n"
                                   "return collections.UserString(t).format(1)", "__class__")

    def test_unbound_user_string_format_is_guarded(self):
        self.assert_format_refused(
            self.DYNAMIC + "import collections\n"
            "return collections.UserString.format(collections.UserString(t), 1)", "__class__")

    def test_user_string_safe_template_formats(self):
        code = "import collections\nreturn collections.UserString('{}-{x}').format(1, x=2)"
        self.assertEqual(self.result_of(code), "1-2")

    def test_safe_templates_format_normally(self):
        code = (
            "return ['{} {}'.format('a', 1), '{:.2f}'.format(3.14159), '{x!r:>5}'.format(x=1),\n"
            "        '{0[k]}'.format({'k': 'v'}), '{{literal}}'.format(),\n"
            "        '{a}'.format_map({'a': 'm'}), str.format('{}!', 'u')]"
        )
        self.assertEqual(self.result_of(code),
                         ["a 1", "3.14", "    1", "v", "{literal}", "m", "u!"])

    def test_safe_attribute_access_in_a_template_works(self):
        self.assertEqual(self.result_of("return '{0.real}/{0.imag}'.format(2)"), "2/0")

    def test_formatter_safe_calls_work(self):
        code = (
            "import string\n"
            "f = string.Formatter()\n"
            "return [f.format('{}+{}', 1, 2), f.vformat('{a}', (), {'a': 3}),\n"
            "        f.get_field('0', [4], {})[0]]"
        )
        self.assertEqual(self.result_of(code), ["1+2", "3", 4])

    def test_keyword_arguments_named_like_the_guards_parameters_pass(self):
        code = "return ['{method}'.format(method='ok'), '{receiver}'.format(receiver=1)]"
        self.assertEqual(self.result_of(code), ["ok", "1"])

    def test_f_strings_are_not_affected(self):
        code = "x = 3.14159\nw = 8\nreturn [f'{x:.2f}', f'{x!r:>{w}}', f'{\"a\"}']"
        self.assertEqual(self.result_of(code), ["3.14", " 3.14159", "a"])

    def test_unparsable_templates_fail_as_str_format_does(self):
        error = self.error_of("return '{0.__class__'.format(1)")
        self.assertEqual(error["kind"], "runtime")
        self.assertEqual(error["message"], "expected '}' before end of string")

    def test_missing_method_keeps_pythons_error(self):
        error = self.error_of("return (1).format()")
        self.assertEqual(error["message"], "'int' object has no attribute 'format'")

    def test_refusal_keeps_the_users_line_number(self):
        error = self.error_of("a = 1\nb = 2\nreturn '{0.__class__}'.format(1)")
        self.assertIn('File "<all_items_task_execution>", line 3, in _user_function',
                      error["stack"])
        self.assertIn("return '{0.__class__}'.format(1)", error["stack"])

    def test_per_item_mode_is_guarded(self):
        self.assert_format_refused(per_item("return '{0.__class__}'.format(1)", [{}]),
                                   "__class__")

    def test_other_method_names_are_rejected_by_the_guard(self):
        error = self.error_of("return __n8n_internal_safe_format__('__class__', 1)")
        self.assertEqual(error["message"], "invalid format call")

    def test_binding_the_guards_name_is_refused(self):
        name = "__n8n_internal_safe_format__"
        statements = [
            f"{name} = lambda m, r, *a: 'replaced'",
            f"def f({name}):\n    pass",
            f"f = lambda {name}=1: 0",
            f"import json as {name}",
            f"from json import dumps as {name}",
            f"({name} := 1)",
            f"for {name} in []:\n    pass",
            f"try:\n    pass\nexcept ValueError as {name}:\n    pass",
            f"global {name}",
            f"del {name}",
            f"def {name}():\n    pass",
            f"match 1:\n    case {{**{name}}}:\n        pass",
        ]
        description = (f"Line {{}}: Access to name '{name}' is disallowed, because it can be "
                       "used to bypass security restrictions.")
        for statement in statements:
            with self.subTest(statement=statement):
                error = self.error_of("x = 1\n" + statement)
                self.assertEqual(error["kind"], "security")
                self.assertEqual(error["message"], "Security violations detected")
                line = 2 + statement[:statement.index(name)].count("\n")
                self.assertEqual(error["description"], description.format(line))

    def test_reading_the_guards_name_is_the_guard(self):
        self.assertEqual(self.result_of("return repr(__n8n_internal_safe_format__)"),
                         "<built-in function format>")

    def test_format_guard_refusal_cannot_be_caught_as_a_different_message(self):
        code = ("try:\n    '{0.__class__}'.format(1)\nexcept Exception as e:\n"
                "    return [str(e), e.description]")
        self.assertEqual(self.result_of(code),
                         ["Security violations detected", FORMAT_MESSAGE.format("__class__")])


# ---------------------------------------------------------------------------------------------
# Injected callables resist introspection


class IntrospectionTests(GuardTest):
    # Everything but __import__ allowed, so the tests can use getattr, type, vars and classes.
    config = {"stdlib_allow": ["copy", "importlib", "json"], "builtins_deny": ["__import__"]}
    CALLABLES = {
        "print": "print",
        "__import__": "__import__",
        "format": "__n8n_internal_safe_format__",
        "import_module": "importlib.import_module",
        "importlib.__import__": "importlib.__import__",
    }

    def setup_code(self, expression):
        return f"import importlib\ntarget = {expression}\n"

    def test_every_introspection_attribute_is_refused(self):
        code_template = (
            "wrong = []\n"
            "for name in NAMES:\n"
            "    try:\n"
            "        getattr(target, name)\n"
            "    except AttributeError as e:\n"
            "        expected = \"'builtin_function_or_method' object has no attribute '\" + "
            "name + \"'\"\n"
            "        if str(e) != expected:\n"
            "            wrong.append([name, str(e)])\n"
            "    else:\n"
            "        wrong.append([name, 'readable'])\n"
            "return wrong"
        )
        for label, expression in self.CALLABLES.items():
            with self.subTest(callable=label):
                code = (self.setup_code(expression) + f"NAMES = {INTROSPECTION_NAMES!r}\n"
                        + code_template)
                self.assertEqual(self.result_of(code), [])

    def test_setattr_and_delattr_are_refused(self):
        for label, expression in self.CALLABLES.items():
            with self.subTest(callable=label):
                code = self.setup_code(expression) + (
                    "out = []\n"
                    "for action in (lambda: setattr(target, 'x', 1),\n"
                    "               lambda: delattr(target, 'x'),\n"
                    "               lambda: setattr(target, '__class__', dict)):\n"
                    "    try:\n"
                    "        action()\n"
                    "    except AttributeError as e:\n"
                    "        out.append(str(e))\n"
                    "return out"
                )
                message = "'builtin_function_or_method' object has no attribute '{}'"
                self.assertEqual(self.result_of(code), [message.format("x"), message.format("x"),
                                                        message.format("__class__")])

    def test_repr_texts_look_builtin(self):
        code = self.setup_code("None") + (
            "return [repr(print), repr(__import__), repr(__n8n_internal_safe_format__),\n"
            "        repr(importlib.import_module), str(print)]"
        )
        self.assertEqual(self.result_of(code), [
            "<built-in function print>", "<built-in function __import__>",
            "<built-in function format>", "<built-in function import_module>",
            "<built-in function print>",
        ])

    def test_the_methods_namespace_offers_nothing_dangerous(self):
        code = (
            "cls = type(print)\n"
            "namespaces = []\n"
            "for name, value in vars(cls).items():\n"
            "    if hasattr(value, '__globals__'):\n"
            "        namespaces.append(value.__globals__)\n"
            "        namespaces.append(value.__builtins__)\n"
            f"return [sorted(n for n in {DANGEROUS_NAMES!r} if n in ns) for ns in namespaces]"
        )
        for found in self.result_of(code):
            self.assertEqual(found, [])

    def test_methods_builtins_hold_only_exception_classes(self):
        code = "return sorted(type(print).__call__.__builtins__)"
        self.assertEqual(self.result_of(code), ["AttributeError", "BaseException", "TypeError"])

    def test_exceptions_from_a_guard_leak_no_runner_frames(self):
        code = (
            "try:\n"
            "    print(colour=1)\n"
            "except TypeError as e:\n"
            "    error = e\n"
            "frames = []\n"
            "tb = error.__traceback__\n"
            "while tb is not None:\n"
            "    frame = tb.tb_frame\n"
            "    frames.append([frame.f_code.co_filename, sorted(frame.f_locals),\n"
            f"                   sorted(n for n in {DANGEROUS_NAMES!r}\n"
            "                          if n in frame.f_globals)])\n"
            "    tb = tb.tb_next\n"
            "return [frames, error.__context__ is None, error.__cause__ is None]"
        )
        frames, no_context, no_cause = self.result_of(code)
        self.assertEqual(frames[0][0], "<all_items_task_execution>")
        self.assertEqual(len(frames), 2, frames)
        self.assertEqual(frames[1][1], ["args", "failure", "kwargs", "self"])
        self.assertEqual(frames[1][2], [])
        self.assertTrue(no_context and no_cause)

    def test_import_errors_leak_no_import_machinery_frames(self):
        code = (
            "try:\n"
            "    __import__('json.no_such_module')\n"
            "except ImportError as e:\n"
            "    error = e\n"
            "tb = error.__traceback__\n"
            "names = []\n"
            "while tb is not None:\n"
            "    names.append(tb.tb_frame.f_code.co_name)\n"
            "    tb = tb.tb_next\n"
            "return [names, error.__context__ is None]"
        )
        self.assertEqual(self.result_of(code), [["_user_function", "sandbox_call"], True])

    def test_sealed_callables_cannot_be_copied(self):
        code = (
            "import copy\n"
            "try:\n"
            "    copy.copy(print)\n"
            "except Exception as e:\n"
            "    return type(e).__name__\n"
            "return 'copied'"
        )
        self.assertEqual(self.result_of(code), "Error")

    def test_gc_and_inspect_are_not_importable_when_not_allowed(self):
        for module in ("gc", "inspect"):
            with self.subTest(module=module):
                self.assert_import_refused(
                    f"import {module}", STDLIB_MESSAGE.format(module, "copy, importlib, json"))

    def test_builtins_mapping_has_no_dict_for_vars(self):
        code = "try:\n    vars(__builtins__)\nexcept TypeError as e:\n    return str(e)"
        self.assertEqual(self.result_of(code), "vars() argument must have __dict__ attribute")

    def test_receiver_with_its_own_format_method_passes_through(self):
        code = (
            "class Custom:\n"
            "    def format(self, *args):\n"
            "        return ['custom'] + list(args)\n"
            "return Custom().format('anything', 2)"
        )
        self.assertEqual(self.result_of(code), ["custom", "anything", 2])

    def test_str_subclass_receiver_is_scanned_by_its_value(self):
        code = (
            "class Sneaky(str):\n"
            "    pass\n"
            "return Sneaky('{0.__class__}').format(1)"
        )
        self.assert_format_refused(code, "__class__")

    def test_str_subclass_module_name_cannot_change_what_is_imported(self):
        code = (
            "class Name(str):\n"
            "    def rpartition(self, sep):\n"
            "        return ('', '', 'os')\n"
            "    def __eq__(self, other):\n"
            "        return True\n"
            "    __hash__ = str.__hash__\n"
            "return __import__(Name('json')).__name__"
        )
        self.assertEqual(self.result_of(code), "json")


# ---------------------------------------------------------------------------------------------
# Validate-only requests


class ValidateOnlyTests(GuardTest):
    config = {"stdlib_allow": []}

    def validate(self, code):
        return self.frame_of({"code": code, "nodeMode": "runOnceForAllItems", "items": [],
                              "validateOnly": True})

    def test_syntax_error_is_reported_with_cpythons_wording(self):
        frame = self.validate("x = 1\ny = = 2")
        self.assertEqual(frame["status"], "error")
        self.assertEqual(frame["error"]["kind"], "syntax")
        self.assertEqual(frame["error"]["message"], "invalid syntax (<unknown>, line 2)")
        self.assertEqual(frame["print_args"], [])

    def test_error_found_when_compiling_is_reported(self):
        frame = self.validate("x = 1\nawait x")
        self.assertEqual(frame["error"]["kind"], "syntax")
        self.assertEqual(frame["error"]["message"],
                         "'await' outside async function (<unknown>, line 2)")

    def test_valid_code_gives_an_empty_ok_reply(self):
        self.assertEqual(self.validate("return [1, 2]"),
                         {"status": "ok", "result": None, "print_args": []})

    def test_nothing_is_executed(self):
        frame = self.validate("print('ran')\nimport os\nraise ValueError('ran')")
        self.assertEqual(frame, {"status": "ok", "result": None, "print_args": []})


# ---------------------------------------------------------------------------------------------
# Configuration


def start_with(config):
    """Starts a forkserver with exactly this config; returns (first reply or None, exit code,
    stderr). Used where the harness's ForkServer would refuse to continue."""
    settings = dict(config, forkserver_modules=FORKSERVER_MODULES, task_modules=TASK_MODULES,
                    sandbox_source=SANDBOX_SOURCE)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, tempfile.TemporaryFile() as stderr:
        command = [PYTHON, "-I", "-B", "-c", FORKSERVER_SOURCE]
        process = subprocess.Popen(
            [PYTHON, "-I", "-c", LAUNCHER, str(theirs.fileno())] + command,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env={},
            pass_fds=(theirs.fileno(),),
        )
        theirs.close()
        try:
            ours.send(json.dumps(settings).encode("utf-8"))
            reply = None
            if select.select([ours], [], [], TIMEOUT)[0]:
                reply = ours.recv(1 << 20) or None
        finally:
            ours.close()
            exit_code = process.wait(TIMEOUT)
        stderr.seek(0)
        return reply, exit_code, stderr.read().decode("utf-8", "replace")


class ConfigurationTests(unittest.TestCase):
    BASE = {"preload": [], "block_env": True, "builtins_deny": DEFAULT_DENY,
            "stdlib_allow": [], "external_allow": [], "blocked_names": BLOCKED_NAMES,
            "blocked_attributes": BLOCKED_ATTRIBUTES}

    def test_missing_blocked_attributes_stop_the_forkserver(self):
        config = {key: value for key, value in self.BASE.items() if key != "blocked_attributes"}
        reply, exit_code, stderr = start_with(config)
        self.assertIsNone(reply)
        self.assertNotEqual(exit_code, 0)
        self.assertIn("configuration lacks blocked_attributes", stderr)

    def test_malformed_allowlist_stops_the_forkserver(self):
        reply, exit_code, stderr = start_with(dict(self.BASE, stdlib_allow="json"))
        self.assertIsNone(reply)
        self.assertNotEqual(exit_code, 0)
        self.assertIn("configuration key stdlib_allow must be a list of strings", stderr)

    def test_complete_configuration_starts(self):
        reply, exit_code, _ = start_with(self.BASE)
        self.assertIs(json.loads(reply)["ready"], True)
        self.assertEqual(exit_code, 0)


if __name__ == "__main__":
    unittest.main()
