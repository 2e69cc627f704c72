"""The format-string guard (protocol reference §10.6): templates built while the code runs.

Owns the callable behind `__n8n_internal_safe_format__`, which the wrapper's rewrite puts in
place of every `.format`, `.format_map`, `.vformat`, `.get_field` and `._vformat` call: it finds
the template the call will use (str, str subclasses, UserString, string.Formatter, unbound
calls, and the str whose own method a receiver such as super() hands out), refuses it when a
field reaches a blocked name, and otherwise makes the original call.
"""

import _string
import collections
import re

from .errors import security_violation

SAFE_FORMAT_NAME = "__n8n_internal_safe_format__"
# The four from §10.6, plus string.Formatter._vformat, which formats a template just as well.
GUARDED_FORMAT_METHODS = frozenset(("format", "format_map", "vformat", "get_field", "_vformat"))
FORMAT_VIOLATION = "Security violations detected"
FORMAT_DESCRIPTION = (
    "String pattern accessing '{}' is disallowed, because it can be used to bypass security "
    "restrictions."
)
FIELD_ATTRIBUTE = re.compile(r"\.(\w+)")
FIELD_SUBSCRIPT = re.compile(r"\[(['\"]?)(\w+)\1\]")
MAX_CACHED_TEMPLATES = 256
# The str methods that format their own str as a template.
STR_FORMAT_METHODS = ("format", "format_map")
STR_FORMAT_DESCRIPTORS = tuple(vars(str)[name] for name in STR_FORMAT_METHODS)
STOCK_USER_STRING_FUNCTIONS = tuple(
    vars(collections.UserString)[name]
    for name in GUARDED_FORMAT_METHODS
    if name in vars(collections.UserString)
)
BuiltinMethodType = type("".format)
# A UserString whose data is a UserString ...: how deep the plan follows the data.
MAX_DELEGATIONS = 64


class FormatGuard:
    """The callable behind __n8n_internal_safe_format__ (§10.6): finds the template a format
    call will use, refuses it when it reaches a blocked name, else makes the original call."""

    def __init__(self, scanner):
        self.scanner = scanner

    def call(self, method, receiver, /, *args, **kwargs):
        if type(method) is not str or method not in GUARDED_FORMAT_METHODS:
            # Only the rewrite calls this, always with one of the method names; anything
            # else would make the guard a getattr-and-call primitive.
            raise TypeError("invalid format call")
        subject, bound, arguments = format_call_plan(method, receiver, args, kwargs)
        if isinstance(subject, str):
            # A `get_field` that turned out to be a str's format method formats a template.
            field_only = method == "get_field" and not formats_own_str(bound)
            self.scanner.check(subject, field_only=field_only)
        return bound(*arguments, **kwargs)


MethodType = type(FormatGuard(None).call)


def format_call_plan(method, receiver, args, kwargs):
    """(the text to scan, the callable to call, its positional arguments).

    The text is a template, or for get_field a field expression; None when there is none.
    Where the original would read the template again at call time (UserString.data), the
    plan calls the method on the snapshot that was scanned instead.
    """
    subject, bound, arguments = receiver_plan(method, receiver, args, kwargs)
    return bound_plan(method, subject, bound, arguments)


def receiver_plan(method, receiver, args, kwargs):
    """The plan as the receiver's type suggests it."""
    if isinstance(receiver, str):
        return receiver, getattr(receiver, method), args
    if is_user_string_class(type(receiver)):
        return user_string_plan(method, receiver, type(receiver), args, unbound=False)
    if isinstance(receiver, type):
        return unbound_plan(method, receiver, args, kwargs)
    # string.Formatter and unrelated objects with a method of that name.
    return subject_argument(args, 0, kwargs), getattr(receiver, method), args


def bound_plan(method, subject, bound, args):
    """The plan as the callable the receiver handed out will carry it out.

    A str's own format method formats that str, whatever receiver handed it out: a super()
    object over a StrEnum member, a UserString whose data is such an object. And a stock
    UserString method (reached through super(), say) formats its instance's data. In both
    cases that text is what is scanned, a plain copy, and the call is made on the copy.
    """
    for _ in range(MAX_DELEGATIONS):
        if type(bound) is BuiltinMethodType or (
            type(bound) is MethodType and is_one_of(bound.__func__, STR_FORMAT_DESCRIPTORS)
        ):
            owner = bound.__self__
            name = bound.__name__
            if isinstance(owner, str) and name in STR_FORMAT_METHODS:
                text = str.__str__(owner)
                return text, getattr(text, name), args
            return subject, bound, args
        if type(bound) is MethodType and is_stock_user_string_method(bound, method):
            # What the stock method does, on the data read once.
            subject = bound.__self__.data
            bound = getattr(subject, method)
            continue
        return subject, bound, args
    raise RecursionError("maximum recursion depth exceeded while formatting")


def is_stock_user_string_method(bound, method):
    """Whether a bound method is UserString's own `method`, whoever it is bound to."""
    function = bound.__func__
    if is_one_of(function, STOCK_USER_STRING_FUNCTIONS):
        return True
    return any(
        is_user_string_itself(klass) and vars(klass).get(method) is function
        for klass in type(bound.__self__).__mro__
    )


def formats_own_str(bound):
    return (type(bound) is BuiltinMethodType and type(bound.__self__) is str
            and bound.__name__ in STR_FORMAT_METHODS)


def is_one_of(value, candidates):
    return any(value is candidate for candidate in candidates)


def unbound_plan(method, cls, args, kwargs):
    """`str.format(tpl, ...)`, `UserString.format(inst, ...)`, `Formatter.format(f, tpl, ...)`."""
    if issubclass(cls, str):
        return subject_argument(args, 0, kwargs), getattr(cls, method), args
    if is_user_string_class(cls) and args and is_user_string_class(type(args[0])):
        return user_string_plan(method, args[0], cls, args[1:], unbound=True)
    return subject_argument(args, 1, kwargs), getattr(cls, method), args


def user_string_plan(method, instance, cls, rest, unbound):
    """A UserString's template is its .data; rest are the arguments after the instance."""
    data = instance.data
    if uses_stock_user_string_method(cls, method):
        # What the stock method does, on the data read once.
        return data, getattr(data, method), rest
    if unbound:
        return data, getattr(cls, method), (instance, *rest)
    return data, getattr(instance, method), rest


def subject_argument(args, index, kwargs):
    if len(args) > index:
        return args[index]
    return kwargs.get("format_string", kwargs.get("field_name"))


def is_user_string_class(cls):
    # By name: a UserString class of a collections module imported again after pruning is
    # still one.
    return any(is_user_string_itself(klass) for klass in cls.__mro__)


def is_user_string_itself(klass):
    return klass.__name__ == "UserString" and klass.__module__ == "collections"


def uses_stock_user_string_method(cls, method):
    for klass in cls.__mro__:
        if method in vars(klass):
            return is_user_string_itself(klass)
    return False


class TemplateScanner:
    """The §9.2 template scanner: a field name reaching `.X`, `[X]`, `['X']` or `["X"]` with X
    blocked; nested format specs are scanned too; unparsable templates are ignored (formatting
    them fails anyway)."""

    def __init__(self, blocked):
        self.blocked = frozenset(blocked)
        # Templates are usually formatted again and again; remember recent verdicts.
        self.verdicts = {}

    def check(self, text, field_only):
        text = str.__str__(text)
        hit = self.first_in_field(text) if field_only else self.first_in_template(text)
        if hit is not None:
            raise security_violation(FORMAT_VIOLATION, FORMAT_DESCRIPTION.format(hit))

    def first_in_template(self, template):
        verdict = self.verdicts.get(template, self)
        if verdict is self:
            verdict = self.scan_template(template)
            if len(self.verdicts) >= MAX_CACHED_TEMPLATES:
                self.verdicts.clear()
            self.verdicts[template] = verdict
        return verdict

    def scan_template(self, template):
        # Depth first in text order with an explicit stack: specs can nest deeper than the
        # recursion limit.
        stack = [fields_of(template)]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                continue
            field, spec = entry
            hit = self.first_in_field(field) if field else None
            if hit is not None:
                return hit
            if spec:
                stack.append(fields_of(spec))
        return None

    def first_in_field(self, field):
        for match in FIELD_ATTRIBUTE.finditer(field):
            if match.group(1) in self.blocked:
                return match.group(1)
        for match in FIELD_SUBSCRIPT.finditer(field):
            if match.group(2) in self.blocked:
                return match.group(2)
        return None


def fields_of(template):
    """An iterator over (field name, format spec) of template's fields; empty if unparsable."""
    try:
        parts = list(_string.formatter_parser(template))
    except ValueError:
        return iter(())
    return iter([(field, spec) for _literal, field, spec, _conversion in parts])
