"""Black-box tests of the run-time checks on library sinks (python/n8n_task/sinks.py), of the
module views' private-name rule and of the module stash (python/n8n_task/imports.py).

Each technique here gets past the wrapper's checks of the user's source: the name or the source
is a run-time string, handed to a stdlib function that reads an attribute or compiles code.
Templates and names are written plainly: the Rust-side static analysis is not involved here.

Run: python3 -B -m unittest discover -s tests/python
"""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_security import DEFAULT_DENY, STDLIB_MESSAGE, GuardTest  # noqa: E402

ATTRIBUTE_MESSAGE = ("Access to attribute '{}' is disallowed, because it can be used to bypass "
                     "security restrictions.")
PRIVATE_MESSAGE = ("Access to private attribute '{}' of module '{}' is disallowed, because it "
                   "can be used to bypass security restrictions.")
EVERYDAY = ["collections", "copy", "dataclasses", "enum", "functools", "operator", "string",
            "typing", "uuid"]


# Class statements allowed: the sinks are reached through user classes too.
DENY_BUT_CLASSES = [name for name in DEFAULT_DENY if name != "__build_class__"]


class SinkTest(GuardTest):
    config = {"stdlib_allow": EVERYDAY, "builtins_deny": DENY_BUT_CLASSES}
    STDLIB = ", ".join(sorted(EVERYDAY))

    def assert_attribute_refused(self, code, name):
        error = self.error_of(code)
        self.assertEqual(error["kind"], "security", error)
        self.assertEqual(error["message"], "Security violation detected")
        self.assertEqual(error["description"], ATTRIBUTE_MESSAGE.format(name))

    def assert_compile_refused(self, code, description):
        error = self.error_of(code)
        self.assertEqual(error["kind"], "security", error)
        self.assertEqual(error["message"], "Security violations detected")
        self.assertEqual(error["description"], description)


class AttributeHelperTests(SinkTest):
    def test_attrgetter_refuses_a_blocked_name(self):
        self.assert_attribute_refused(
            "import operator\nreturn operator.attrgetter('__init__.__globals__')(exit)",
            "__globals__")

    def test_attrgetter_refuses_a_format_method(self):
        self.assert_attribute_refused(
            "from operator import attrgetter\nreturn attrgetter('format')('{0}')", "format")

    def test_attrgetter_of_plain_names_still_reads_them(self):
        self.assertEqual(self.result_of("import operator\nreturn operator.attrgetter('real', "
                                        "'imag')(3+4j)"), [3.0, 4.0])

    def test_methodcaller_refuses_a_blocked_name(self):
        self.assert_attribute_refused(
            "import operator\nreturn operator.methodcaller('__getattribute__', 'x')(exit)",
            "__getattribute__")

    def test_methodcaller_refuses_mro(self):
        self.assert_attribute_refused("import operator\nreturn operator.methodcaller('mro')(str)",
                                      "mro")

    def test_methodcaller_of_format_meets_the_format_guard(self):
        self.assert_format_refused(
            "import operator\nreturn operator.methodcaller('format', exit)("
            "'{0.__init__.__globals__}')", "__globals__")

    def test_methodcaller_of_format_with_a_harmless_template_formats(self):
        self.assertEqual(
            self.result_of("import operator\nreturn operator.methodcaller('format', 5)('{0:>3}')"),
            "  5")

    def test_update_wrapper_refuses_a_chosen_blocked_name(self):
        self.assert_attribute_refused(
            "import functools\ndef w(): pass\n"
            "functools.update_wrapper(w, exit.__init__, updated=('__globals__',))",
            "__globals__")

    def test_wraps_with_its_defaults_still_wraps(self):
        code = ("import functools\ndef deco(f):\n"
                "    @functools.wraps(f)\n    def inner(*a):\n        return f(*a) + 1\n"
                "    return inner\n@deco\ndef add(a, b):\n    'Adds.'\n    return a + b\n"
                "return [add(1, 2), add.__doc__]")
        self.assertEqual(self.result_of(code), [4, "Adds."])

    def test_cached_property_refuses_a_format_name(self):
        self.assert_attribute_refused(
            "import functools\np = functools.cached_property(len)\n"
            "p.__set_name__(None, 'format')\nreturn p.__get__(str)('{0}', 1)", "format")

    def test_enum_convert_of_a_refused_module_is_refused(self):
        self.assert_import_refused(
            "import enum\nE = enum.IntEnum._convert_('E', 'builtins', lambda n: n == 'eval')",
            STDLIB_MESSAGE.format("builtins", self.STDLIB))


class LyingNameTests(SinkTest):
    """Names of a str subclass whose own methods lie: the checks read a plain copy, and the
    copy is what the library function gets."""

    def test_attrgetter_checks_the_characters_not_what_split_says(self):
        code = ("import operator\nclass Liar(str):\n"
                "    def split(self, sep=None):\n        return ['harmless']\n"
                "return operator.attrgetter(Liar('__init__.__globals__'))(exit)")
        self.assert_attribute_refused(code, "__globals__")

    def test_methodcaller_decides_on_the_characters_not_on_eq(self):
        # __eq__ says "not a format method" while the sink checks, "format" afterwards.
        code = ("import operator\nlying = [True]\nclass Name(str):\n"
                "    def __eq__(self, other):\n"
                "        return False if lying[0] else str.__eq__(self, other)\n"
                "    def __hash__(self):\n        return str.__hash__(self)\n"
                "call = operator.methodcaller(Name('format'), exit)\nlying[0] = False\n"
                "return call('{0.__init__.__globals__}')")
        self.assert_format_refused(code, "__globals__")

    def test_update_wrapper_checks_a_name_claiming_to_be_a_stock_one(self):
        code = ("import functools\nclass Name(str):\n"
                "    def __eq__(self, other):\n        return True\n"
                "    def __hash__(self):\n        return hash('__module__')\n"
                "def w(): pass\n"
                "functools.update_wrapper(w, exit.__init__, (), (Name('__globals__'),))")
        self.assert_attribute_refused(code, "__globals__")

    def test_wraps_checks_a_name_claiming_to_be_a_stock_one(self):
        code = ("import functools\nclass Name(str):\n"
                "    def __eq__(self, other):\n        return True\n"
                "    def __hash__(self):\n        return hash('__doc__')\n"
                "functools.wraps(exit.__init__, (Name('__globals__'),), ())")
        self.assert_attribute_refused(code, "__globals__")

    def test_cached_property_checks_the_characters_of_its_name(self):
        code = ("import functools\nlying = [True]\nclass Name(str):\n"
                "    def __eq__(self, other):\n"
                "        return False if lying[0] else str.__eq__(self, other)\n"
                "    def __hash__(self):\n"
                "        return 0 if lying[0] else str.__hash__(self)\n"
                "p = functools.cached_property(len)\np.__set_name__(None, Name('format'))\n"
                "lying[0] = False\nreturn p.__get__(str)('{0}', 1)")
        self.assert_attribute_refused(code, "format")

    def test_enum_convert_checks_the_characters_of_the_module_name(self):
        code = ("import enum\nclass Name(str):\n"
                "    def startswith(self, *args):\n        return True\n"
                "    def partition(self, sep):\n        return ('enum', '', '')\n"
                "E = enum.IntEnum._convert_('E', Name('builtins'), lambda n: n == 'eval')")
        self.assert_import_refused(code, STDLIB_MESSAGE.format("builtins", self.STDLIB))


# Assume breach: `type` is denied and no route to it is known (ReflectionTests), so these tests
# run with it allowed, to show that what it would open stays closed.
DENY_BUT_CLASSES_AND_TYPE = [name for name in DENY_BUT_CLASSES if name != "type"]


class SealedHelperTests(SinkTest):
    """What the checked helpers return is sealed: no real object of the unchecked helper."""

    config = {"stdlib_allow": EVERYDAY, "builtins_deny": DENY_BUT_CLASSES_AND_TYPE}
    TYPE = "T = type\n"

    def test_attrgetters_class_is_not_the_unchecked_attrgetter(self):
        code = self.TYPE + "import operator\nreturn repr(T(operator.attrgetter('real')))"
        self.assertEqual(self.result_of(code), "<class 'builtin_function_or_method'>")

    def test_methodcallers_class_is_not_the_unchecked_methodcaller(self):
        code = self.TYPE + "import operator\nreturn repr(T(operator.methodcaller('upper')))"
        self.assertEqual(self.result_of(code), "<class 'builtin_function_or_method'>")

    def test_the_attrgetters_class_makes_no_getter(self):
        code = self.TYPE + ("import operator\n"
                            "return T(operator.attrgetter('real'))('__init__.__globals__')(exit)")
        error = self.error_of(code)
        self.assertEqual(error["message"], "builtin_function_or_method() takes no arguments")

    def test_wraps_hands_out_no_update_wrapper(self):
        error = self.error_of("import functools\nreturn str(functools.wraps(len).func)")
        self.assertEqual(error["message"],
                         "'builtin_function_or_method' object has no attribute 'func'")

    def test_attrgetter_refuses_the_names_update_wrapper_copies_by_default(self):
        self.assert_attribute_refused(
            "import operator\nreturn operator.attrgetter('__dict__')(str)['format']", "__dict__")

    def test_methodcaller_refuses_the_names_update_wrapper_copies_by_default(self):
        self.assert_attribute_refused(
            "import operator\nreturn operator.methodcaller('__qualname__')", "__qualname__")

    def test_sealed_helpers_still_work(self):
        code = ("import operator\n"
                "return [str(sorted([3 + 4j, 1 + 0j], key=operator.attrgetter('real'))),"
                " operator.methodcaller('split', ',')('a,b'), repr(operator.attrgetter('real'))]")
        self.assertEqual(self.result_of(code),
                         ["[(1+0j), (3+4j)]", ["a", "b"], "operator.attrgetter('real')"])


class SourceSinkTests(SinkTest):
    def test_a_string_annotation_imports_through_the_guard(self):
        self.assert_import_refused(
            "import typing\ndef f(x: \"__import__('os').getpid()\"): pass\n"
            "return typing.get_type_hints(f, {})", STDLIB_MESSAGE.format("os", self.STDLIB))

    def test_a_string_annotation_cannot_name_a_denied_builtin(self):
        error = self.error_of("import typing\ndef f(x: 'eval'): pass\n"
                              "return str(typing.get_type_hints(f, {}))")
        self.assertEqual(error["message"], "name 'eval' is not defined")

    def test_a_string_annotation_with_a_blocked_attribute_is_refused(self):
        self.assert_attribute_refused(
            "import typing\nr = typing.ForwardRef('int.__subclasses__')", "__subclasses__")

    def test_a_string_annotation_formatting_a_blocked_field_is_refused(self):
        self.assert_format_refused(
            "import typing\ndef f(x: \"'{0.__class__}'.format(1)\"): pass\n"
            "return str(typing.get_type_hints(f))", "__class__")

    def test_ordinary_string_annotations_still_evaluate(self):
        # The user's imports are locals of the wrapper function, so annotations name builtins.
        code = ("import typing\ndef f(x: 'int', y: 'list[str]') -> 'dict': pass\n"
                "return sorted(str(v) for v in typing.get_type_hints(f).values())")
        self.assertEqual(self.result_of(code), ["<class 'dict'>", "<class 'int'>", "list[str]"])

    def test_dataclasses_still_generate_their_methods(self):
        code = ("import dataclasses\n@dataclasses.dataclass(frozen=True, order=True)\n"
                "class P:\n    x: int\n    y: list = dataclasses.field(default_factory=list)\n"
                "a, b = P(1), P(2, [3])\n"
                "return [repr(a), a < b, a == P(1), dataclasses.astuple(b)]")
        self.assertEqual(self.result_of(code), ["_user_function.<locals>.P(x=1, y=[])", True, True, [2, [3]]])

    @unittest.skipIf(sys.version_info < (3, 11), "3.10's TypedDict refuses an InitVar")
    def test_a_dataclass_field_name_pasted_into_its_source_is_checked(self):
        # An InitVar keeps the name out of __init__'s body, so the injected default parses.
        code = ("import dataclasses, typing\n"
                "name = \"x=().__class__.__base__,*_a,**_k):\\n#\"\n"
                "T = typing.TypedDict('T', {name: dataclasses.InitVar[int]})\n"
                "dataclasses.dataclass(T, repr=False, eq=False, match_args=False)")
        self.assert_attribute_refused(code, "__base__")

    @unittest.skipIf(sys.version_info < (3, 11), "3.10's TypedDict refuses an InitVar")
    def test_a_dataclass_field_name_cannot_reach_the_real_builtins(self):
        code = ("import dataclasses, typing\n"
                "name = \"x=setattr(exit,'loot',eval),*_a,**_k):\\n#\"\n"
                "T = typing.TypedDict('T', {name: dataclasses.InitVar[int]})\n"
                "dataclasses.dataclass(T, repr=False, eq=False, match_args=False)")
        error = self.error_of(code)
        self.assertEqual(error["message"], "name 'setattr' is not defined")


class EvaluationNamespaceTests(SinkTest):
    """typing evaluates in a module's own namespace: only an allowed module's, as its view
    shows it; builtins' is the task's builtins."""

    def test_a_forward_ref_in_the_builtins_module_gets_the_task_builtins(self):
        error = self.error_of(
            "import typing\nreturn str(typing.ForwardRef('eval', module='builtins')"
            "._evaluate(None, None, recursive_guard=frozenset()))")
        self.assertEqual(error["message"], "name 'eval' is not defined")

    def test_a_class_in_builtins_has_its_annotations_evaluated_with_the_task_builtins(self):
        # A user class's module is builtins: get_type_hints evaluates in builtins' namespace.
        error = self.error_of("import typing\nclass C:\n    f: 'eval'\n"
                              "return str(typing.get_type_hints(C))")
        self.assertEqual(error["message"], "name 'eval' is not defined")

    def test_a_forward_ref_in_an_allowed_module_sees_no_refused_module(self):
        error = self.error_of(
            "import typing\nreturn str(typing.ForwardRef('sys', module='typing')"
            "._evaluate(None, None, recursive_guard=frozenset()))")
        self.assertEqual(error["message"], "name 'sys' is not defined")

    def test_a_forward_ref_in_an_allowed_module_sees_no_private_name(self):
        error = self.error_of(
            "import typing\nreturn str(typing.ForwardRef('_reconstruct', module='copy')"
            "._evaluate(None, None, recursive_guard=frozenset()))")
        self.assertEqual(error["message"], "name '_reconstruct' is not defined")

    def test_a_forward_ref_in_typing_does_not_see_typings_own_eval(self):
        error = self.error_of(
            "import typing\nreturn str(typing.ForwardRef('compile', module='typing')"
            "._evaluate(None, None, recursive_guard=frozenset()))")
        self.assertEqual(error["message"], "name 'compile' is not defined")

    def test_a_forward_ref_in_an_allowed_module_gets_the_checked_helpers(self):
        code = ("import typing, operator\n"
                "got = typing.ForwardRef('attrgetter', module='operator')"
                "._evaluate(None, None, recursive_guard=frozenset())\n"
                "return got is operator.attrgetter")
        self.assertIs(self.result_of(code), True)

    def test_the_namespace_of_a_module_the_allowlists_refuse_is_refused(self):
        # get_type_hints follows __wrapped__ to a function and evaluates in its globals: here
        # abc's (typing.abstractmethod), a module pruned from sys.modules. Up to 3.12 the same
        # reaches reprlib's, which hold the real builtins module (ChainMap.__repr__).
        code = ("import typing\nclass W:\n    x: 'int'\n"
                "W.__wrapped__ = typing.abstractmethod\n"
                "return str(typing.get_type_hints(W()))")
        self.assert_import_refused(code, STDLIB_MESSAGE.format("abc", self.STDLIB))

    def test_string_annotations_of_a_dataclass_made_by_make_dataclass_still_evaluate(self):
        code = ("import dataclasses, typing\n"
                "D = dataclasses.make_dataclass('D', [('a', 'int')], namespace={'__module__': "
                "'builtins'})\nreturn [repr(D(1)), str(typing.get_type_hints(D))]")
        self.assertEqual(self.result_of(code), ["D(a=1)", "{'a': <class 'int'>}"])


class CodeObjectTests(SinkTest):
    config = {"stdlib_allow": EVERYDAY + ["codeop"], "builtins_deny": DENY_BUT_CLASSES}
    STDLIB = ", ".join(sorted(EVERYDAY + ["codeop"]))
    UNCHECKED = ("Running a code object that was not compiled from checked source is "
                 "disallowed, because it can be used to bypass security restrictions.")

    def test_a_code_object_not_compiled_from_checked_source_is_refused(self):
        code = ("import codeop, typing\nref = typing.ForwardRef('x')\n"
                "ref.__forward_code__ = codeop.compile_command('x', '<s>', 'eval')\n"
                "return ref._evaluate({'x': 1}, None, recursive_guard=frozenset())")
        error = self.error_of(code)
        self.assertEqual(error["kind"], "security", error)
        self.assertEqual(error["message"], "Security violation detected")
        self.assertEqual(error["description"], self.UNCHECKED)

    def test_a_forward_refs_code_is_no_code_object_to_edit(self):
        error = self.error_of("import typing\nref = typing.ForwardRef('x.a')\n"
                              "return str(ref.__forward_code__.replace(co_names=('x', 'b')))")
        self.assertEqual(error["message"],
                         "'builtin_function_or_method' object has no attribute 'replace'")

    def test_forward_refs_still_evaluate_and_copy(self):
        code = ("import copy, typing\nref = typing.ForwardRef('list[int]')\n"
                "return [str(ref._evaluate({}, None, recursive_guard=frozenset())),"
                " str(copy.deepcopy(typing.List['int'])), copy.copy(ref) == ref]")
        self.assertEqual(self.result_of(code),
                         ["list[int]", "typing.List[ForwardRef('int')]", True])


class CodeHandleWithTypeTests(SinkTest):
    """A code handle stays opaque even to `type` (assumed at hand, see SealedHelperTests)."""

    config = {"stdlib_allow": EVERYDAY, "builtins_deny": DENY_BUT_CLASSES_AND_TYPE}

    def test_a_forward_refs_code_makes_no_function(self):
        code = ("import typing\n"
                "return type(lambda: 0)(typing.ForwardRef('x').__forward_code__, {'x': 1})()")
        error = self.error_of(code)
        self.assertEqual(error["message"], "function() argument 'code' must be code, not code")

class FormatterWalkTests(SinkTest):
    def test_a_formatter_whose_parse_hides_the_field_is_refused_at_the_walk(self):
        code = ("import string\nclass F(string.Formatter):\n    def parse(self, s):\n"
                "        yield ('', '0.__init__.__globals__', '', None)\n"
                "return F().format('{0}', exit)")
        self.assert_format_refused(code, "__globals__")

    def test_get_field_refuses_to_hand_out_a_format_method(self):
        self.assert_format_refused(
            "import string\nreturn string.Formatter().get_field('0.format', ('{0}',), {})[0]",
            "format")

    def test_a_formatter_with_harmless_fields_still_formats(self):
        code = ("import string\nclass F(string.Formatter):\n"
                "    def format_field(self, value, spec):\n"
                "        return '<' + super().format_field(value, spec) + '>'\n"
                "return F().format('{0.real}-{k[a]}', 2, k={'a': 'b'})")
        self.assertEqual(self.result_of(code), "<2>-<b>")


class FormatReceiverTests(SinkTest):
    """The format guard scans the template the call formats, whatever receiver handed out the
    method."""

    TEMPLATE = "'{0.__init__.__globals__[sys].modules}'"

    @unittest.skipIf(sys.version_info < (3, 11), "StrEnum is 3.11+")
    def test_super_over_a_str_enum_member_scans_the_members_template(self):
        code = (f"import enum\nE = enum.StrEnum('E', {{'T': {self.TEMPLATE}}})\n"
                "return super(E, E.T).format(exit)")
        self.assert_format_refused(code, "__globals__")

    def test_super_over_a_str_subclass_scans_the_instances_template(self):
        code = (f"class S(str):\n    pass\ns = S({self.TEMPLATE})\n"
                "return super(S, s).format(exit)")
        self.assert_format_refused(code, "__globals__")

    def test_super_over_a_user_string_scans_its_data(self):
        code = ("import collections\nclass U(collections.UserString):\n"
                "    def format(self, *args):\n        return 'mine'\n"
                f"u = U({self.TEMPLATE})\nreturn super(U, u).format(exit)")
        self.assert_format_refused(code, "__globals__")

    def test_a_user_string_whose_data_hands_out_a_strs_format_is_scanned(self):
        code = (f"import collections\nclass S(str):\n    pass\ns = S({self.TEMPLATE})\n"
                "u = collections.UserString('')\nu.data = super(S, s)\n"
                "return u.format(exit)")
        self.assert_format_refused(code, "__globals__")

    def test_super_format_with_a_harmless_template_still_formats(self):
        code = ("class S(str):\n    pass\ns = S('{0}-{1}')\n"
                "return [super(S, s).format(1, 2), super(S, S('{a}')).format_map({'a': 3})]")
        self.assertEqual(self.result_of(code), ["1-2", "3"])


class CopyStateTests(SinkTest):
    """copy.copy/deepcopy set an object's slot state by name."""

    REDUCE = ("def target():\n    pass\n"
              "class Box:\n    def __reduce_ex__(self, protocol):\n"
              "        return (lambda: target, (), STATE)\n")

    def test_copy_refuses_slot_state_naming_a_blocked_attribute(self):
        code = (self.REDUCE.replace("STATE", "(None, {'__qualname__': 'renamed'})")
                + "import copy\ncopy.copy(Box())\nreturn repr(target)")
        self.assert_attribute_refused(code, "__qualname__")

    def test_deepcopy_refuses_slot_state_that_its_copy_names(self):
        # The state's own __deepcopy__ decides what the deep copy's slot state is.
        code = ("class State:\n    def __deepcopy__(self, memo):\n"
                "        return (None, {'__qualname__': 'renamed'})\n"
                + self.REDUCE.replace("STATE", "State()")
                + "import copy\ncopy.deepcopy(Box())\nreturn repr(target)")
        self.assert_attribute_refused(code, "__qualname__")

    def test_copy_sets_the_characters_of_a_str_subclass_name(self):
        code = ("class Name(str):\n    def __eq__(self, other):\n        return False\n"
                "    def __hash__(self):\n        return 0\n"
                + self.REDUCE.replace("STATE", "(None, {Name('__qualname__'): 'renamed'})")
                + "import copy\ncopy.copy(Box())\nreturn repr(target)")
        self.assert_attribute_refused(code, "__qualname__")

    def test_copies_of_objects_with_slots_still_work(self):
        code = ("import copy\nclass S:\n    __slots__ = ('a', 'b')\n"
                "s = S()\ns.a = 1\ns.b = [2]\nd = copy.deepcopy(s)\nc = copy.copy(s)\n"
                "return [d.a, d.b, d.b is s.b, c.b is s.b]")
        self.assertEqual(self.result_of(code), [1, [2], False, True])


class EnumNamespaceTests(SinkTest):
    """enum reads and writes the namespace of sys.modules[name] (_convert_, global_enum)."""

    config = {"stdlib_allow": EVERYDAY + ["calendar"], "builtins_deny": DENY_BUT_CLASSES}
    STDLIB = ", ".join(sorted(EVERYDAY + ["calendar"]))

    NAMESPACE = ("Access to the namespace of module '{}' through enum is disallowed, because "
                 "it can be used to bypass security restrictions.")

    def test_enum_convert_cannot_read_an_allowed_modules_namespace(self):
        code = ("import enum\nX = enum.Enum._convert_('X', 'typing', lambda n: n == 'sys')\n"
                "return repr(X.sys.value)")
        error = self.assert_import_refused(code, self.NAMESPACE.format("typing"))
        self.assertEqual(error["kind"], "security")

    @unittest.skipIf(sys.version_info < (3, 11), "global_enum is 3.11+")
    def test_global_enum_cannot_write_into_an_allowed_modules_namespace(self):
        # A callable member in place of typing's eval would be handed typing's globals.
        code = ("import enum, functools, typing\n"
                "E = enum.Enum('E', {'eval': functools.partial(print)}, module='typing', "
                "type=functools.partial)\nenum.global_enum(E)")
        self.assert_import_refused(code, self.NAMESPACE.format("typing"))

    @unittest.skipIf(sys.version_info < (3, 11), "global_enum is 3.11+")
    def test_global_enum_cannot_write_into_builtins(self):
        code = "import enum\nclass E(enum.IntEnum):\n    len = 1\nenum.global_enum(E)"
        self.assert_import_refused(code, self.NAMESPACE.format("builtins"))

    def test_enum_module_does_not_hand_out_its_sys(self):
        error = self.error_of("import enum\nreturn str(enum.sys)")
        self.assertEqual(error["message"], "module 'enum' has no attribute 'sys'")

    @unittest.skipIf(sys.version_info < (3, 12), "calendar's enums are global_enum from 3.12")
    def test_a_module_exporting_its_enum_members_as_it_is_imported_still_imports(self):
        code = "import calendar\nreturn [int(calendar.MONDAY), repr(calendar.Month(2))]"
        self.assertEqual(self.result_of(code), [0, "calendar.FEBRUARY"])

    def test_enums_still_work(self):
        code = ("import enum\nclass Color(enum.Enum):\n    RED = 1\n"
                "F = enum.IntFlag('F', 'A B')\nreturn [repr(Color.RED), int(F.A | F.B)]")
        self.assertEqual(self.result_of(code), ["<Color.RED: 1>", 3])


class WrapperRefusalTests(SinkTest):
    def test_a_bare_format_method_is_refused(self):
        self.assert_compile_refused(
            "f = '{0}'.format", "Line 1: Extracting 'format' as a bound method is disallowed; "
            "call it directly on its receiver instead.")

    def test_a_class_pattern_extracting_format_is_refused(self):
        self.assert_compile_refused(
            "match '{0}':\n    case str(format=f):\n        pass",
            "Line 2: Match pattern extracting attribute 'format' is disallowed, because it can "
            "be used to bypass security restrictions.")

    def test_a_positional_class_pattern_is_refused(self):
        self.assert_compile_refused(
            "match 1:\n    case int(x):\n        pass",
            "Line 2: Positional match patterns are disallowed for security reasons.")

    def test_mro_is_refused(self):
        self.assert_compile_refused(
            "return str(str.mro())",
            "Line 1: " + ATTRIBUTE_MESSAGE.format("mro"))


class ReflectionTests(SinkTest):
    """inspect, functools and typing hand out nothing attribute syntax may not reach."""

    config = {"stdlib_allow": EVERYDAY + ["inspect", "json"], "builtins_deny": DENY_BUT_CLASSES}
    STDLIB = ", ".join(sorted(EVERYDAY + ["inspect", "json"]))
    REFUSED_HELPERS = ["getclosurevars", "getargvalues", "getgeneratorlocals",
                       "getcoroutinelocals", "getmro", "classify_class_attrs"]

    def test_getmembers_leaves_out_blocked_attributes(self):
        self.assertEqual(self.result_of(
            "import inspect, json\n"
            "return [n for n, _ in inspect.getmembers(json.dumps) "
            "if n in ('__globals__', '__builtins__', '__code__', '__class__')]"), [])

    def test_getmembers_still_lists_the_other_members(self):
        self.assertEqual(self.result_of(
            "import inspect\nclass C:\n    a = 1\n    b = 'x'\n"
            "return [m for m in inspect.getmembers(C) if not m[0].startswith('_')]"),
            [["a", 1], ["b", "x"]])

    def test_getattr_static_refuses_a_blocked_name(self):
        self.assert_attribute_refused(
            "import inspect, json\nreturn str(inspect.getattr_static(json.dumps, '__globals__'))",
            "__globals__")

    def test_getattr_static_of_a_plain_name_still_reads_it(self):
        self.assertEqual(self.result_of(
            "import inspect\nclass C:\n    a = 1\nreturn inspect.getattr_static(C(), 'a')"), 1)

    def test_helpers_handing_out_variables_or_bases_are_refused(self):
        for name in self.REFUSED_HELPERS:
            with self.subTest(name):
                error = self.error_of(f"import inspect, json\nreturn str(inspect.{name}(json.dumps))")
                self.assertEqual(error["kind"], "security", error)
                self.assertEqual(error["description"], (
                    f"Access to 'inspect.{name}' is disallowed, because it can be used to bypass "
                    "security restrictions."))

    def test_getmodule_gives_a_module_view(self):
        error = self.error_of("import inspect, json\n"
                              "return str(inspect.getmodule(json.dumps)._default_encoder)")
        self.assertEqual(error["description"], PRIVATE_MESSAGE.format("_default_encoder", "json"))

    def test_getmodule_refuses_a_module_the_allowlists_refuse(self):
        error = self.error_of("import inspect\nreturn str(inspect.getmodule(len))")
        self.assertEqual(error["kind"], "security", error)
        self.assertEqual(error["description"], STDLIB_MESSAGE.format("builtins", self.STDLIB))

    def test_a_singledispatch_registry_leaves_out_object(self):
        self.assertEqual(self.result_of(
            "import functools\n"
            "d = functools.singledispatch(lambda x: 'any')\n"
            "d.register(int, lambda x: 'int')\n"
            "return [[c.__name__ for c in d.registry], len(d.registry), d(1), d('s')]"),
            [["int"], 1, "int", "any"])

    def test_a_singledispatchmethod_registry_leaves_out_object(self):
        self.assertEqual(self.result_of(
            "import functools\n"
            "m = functools.singledispatchmethod(lambda self, x: 'any')\n"
            "return [c.__name__ for c in m.dispatcher.registry]"), [])

    def test_get_origin_refuses_to_hand_out_type(self):
        self.assert_attribute_refused(
            "import typing\nreturn str(typing.get_origin(typing.Type[int]))", "__origin__")

    def test_get_origin_still_gives_other_origins(self):
        self.assertEqual(self.result_of(
            "import typing\nreturn str(typing.get_origin(typing.List[int]))"), "<class 'list'>")

    def test_typing_origins_are_refused_as_attributes(self):
        for name in ("__origin__", "__mro_entries__"):
            with self.subTest(name):
                self.assert_compile_refused(
                    f"import typing\nreturn str(typing.Type.{name})",
                    "Line 2: " + ATTRIBUTE_MESSAGE.format(name))


class ModuleViewTests(SinkTest):
    def test_a_private_attribute_of_a_stdlib_module_is_refused(self):
        error = self.error_of("import copy\nreturn str(copy._reconstruct)")
        self.assertEqual(error["message"], "Security violation detected")
        self.assertEqual(error["description"], PRIVATE_MESSAGE.format("_reconstruct", "copy"))

    def test_a_private_name_is_refused_in_a_from_import(self):
        error = self.error_of("from uuid import _get_command_stdout")
        self.assertEqual(error["description"],
                         PRIVATE_MESSAGE.format("_get_command_stdout", "uuid"))

    def test_public_names_and_dunders_of_a_module_still_read(self):
        self.assertEqual(self.result_of("import copy\nreturn [copy.copy([1]), copy.__name__]"),
                         [[1], "copy"])


class ModuleStashTests(GuardTest):
    config = {"stdlib_allow": ["io", "subprocess", "sys"]}

    def test_a_pruned_module_imported_again_is_the_forkservers_object(self):
        # subprocess imports io again; a second copy of io leaves its TextIOWrapper None.
        code = "import io, subprocess\nreturn subprocess.io.TextIOWrapper is io.TextIOWrapper"
        self.assertIs(self.result_of(code), True)

    def test_the_stash_hands_out_nothing_when_called_directly(self):
        code = ("import sys\nfinder = sys.meta_path[0]\n"
                "return str(finder.create_module(finder.find_spec('os')))")
        error = self.error_of(code)
        self.assertEqual(error["message"], "No module named 'os'")


class DescriptionTests(GuardTest):
    config = {"stdlib_allow": []}

    def test_a_non_text_description_is_passed_through(self):
        error = self.error_of("e = ValueError('bad')\ne.description = {'code': 7}\nraise e")
        self.assertEqual(error["description"], {"code": 7})

    def test_a_description_that_is_not_json_is_sent_as_text(self):
        error = self.error_of("e = ValueError('bad')\ne.description = {1, 2}\nraise e")
        self.assertEqual(error["description"], "{1, 2}")


if __name__ == "__main__":
    unittest.main()
