"""Wrapping the user's code: from its text to the code object the child runs.

Owns parsing the code and putting it inside `def _user_function(): ...` at the AST level (so
multi-line strings and line numbers stay the user's and a top-level `return` works), keeping
`from __future__` imports at module level, and the rewrite that routes every format call
through the format guard. The rewrite refuses what would take a format method past the guard
(binding the guard's name, a bare `x.format`, a class pattern extracting it) and `.mro`, which
hands out the denied `object`: the static check refuses these too, and this holds without it.
"""

import ast

from .errors import security_violation
from .filenames import PARSE_FILENAME
from .formats import FORMAT_VIOLATION, GUARDED_FORMAT_METHODS, SAFE_FORMAT_NAME

OUTPUT_NAME = "__n8n_internal_user_output__"
WRAPPER_NAME = "_user_function"
# FunctionDef has type_params since 3.12; giving it explicitly keeps every version quiet.
TYPE_PARAMS = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
# Refused by attribute syntax and in class patterns (as the static check does): they hand out
# the denied `object` and `type` (`str.mro()`, `typing.Type.__origin__`, a generic alias's
# `__mro_entries__`).
INTROSPECTION_ATTRIBUTES = frozenset(("mro", "__origin__", "__mro_entries__"))


def compile_user_code(code, filename, guard_formats=True):
    """Parses the user's code and puts it inside a function at the AST level.

    Working on the tree (not on re-indented text) keeps multi-line string literals intact and
    every user statement on its own line number, so tracebacks point at the user's lines.
    """
    user_module = ast.parse(code, filename=PARSE_FILENAME)
    if guard_formats:
        FormatCallRewriter().visit(user_module)
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


class FormatCallRewriter(ast.NodeTransformer):
    """Turns `<receiver>.<format method>(args)` into
    `__n8n_internal_safe_format__('<method>', <receiver>, args)` (§10.6).

    The new nodes take the positions of the ones they replace, so line numbers (and 3.11+
    caret ranges) in tracebacks stay the user's. The rewritten calls find the guard by name,
    so code that binds that name anywhere (which would put its own function in the guard's
    place) is refused here, whatever the static check did.
    """

    def visit_Call(self, node):
        callee = node.func
        if not isinstance(callee, ast.Attribute) or callee.attr not in GUARDED_FORMAT_METHODS:
            return self.generic_visit(node)
        # The callee itself is not visited: visit_Attribute refuses a format method that is
        # not called on the spot.
        receiver = self.visit(callee.value)
        args = [self.visit(arg) for arg in node.args]
        keywords = [self.visit(keyword) for keyword in node.keywords]
        guard = ast.copy_location(ast.Name(id=SAFE_FORMAT_NAME, ctx=ast.Load()), callee)
        method = ast.copy_location(ast.Constant(value=callee.attr, kind=None), callee)
        call = ast.Call(func=guard, args=[method, receiver, *args], keywords=keywords)
        return ast.copy_location(call, node)

    def visit_Attribute(self, node):
        if node.attr in GUARDED_FORMAT_METHODS:
            # `f = t.format` or `partial(str.format, t)`: a bound method the guard never sees.
            raise security_violation(FORMAT_VIOLATION, (
                f"Line {node.lineno}: Extracting '{node.attr}' as a bound method is disallowed; "
                "call it directly on its receiver instead."
            ))
        if node.attr in INTROSPECTION_ATTRIBUTES:
            raise security_violation(FORMAT_VIOLATION, (
                f"Line {node.lineno}: Access to attribute '{node.attr}' is disallowed, because "
                "it can be used to bypass security restrictions."
            ))
        return self.generic_visit(node)

    def visit_MatchClass(self, node):
        if node.patterns:
            # The positions name attributes through the class's __match_args__, which user
            # code can set to a format method.
            raise security_violation(FORMAT_VIOLATION, (
                f"Line {node.lineno}: Positional match patterns are disallowed for security "
                "reasons."
            ))
        for name in node.kwd_attrs:
            if name in GUARDED_FORMAT_METHODS or name in INTROSPECTION_ATTRIBUTES:
                raise security_violation(FORMAT_VIOLATION, (
                    f"Line {node.lineno}: Match pattern extracting attribute '{name}' is "
                    "disallowed, because it can be used to bypass security restrictions."
                ))
        return self.generic_visit(node)

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Load):
            refuse_guard_binding(node.id, node)
        return node

    def visit_arg(self, node):
        refuse_guard_binding(node.arg, node)
        return self.generic_visit(node)

    def visit_alias(self, node):
        refuse_guard_binding(node.asname or node.name.partition(".")[0], node)
        return node

    def visit_FunctionDef(self, node):
        refuse_guard_binding(node.name, node)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_ExceptHandler(self, node):
        refuse_guard_binding(node.name, node)
        return self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            refuse_guard_binding(name, node)
        return node

    visit_Nonlocal = visit_Global

    def visit_MatchAs(self, node):
        refuse_guard_binding(node.name, node)
        return self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node):
        refuse_guard_binding(node.rest, node)
        return self.generic_visit(node)


def refuse_guard_binding(name, node):
    if name == SAFE_FORMAT_NAME:
        raise security_violation(FORMAT_VIOLATION, (
            f"Line {node.lineno}: Access to name '{SAFE_FORMAT_NAME}' is disallowed, because "
            "it can be used to bypass security restrictions."
        ))
