# technique: functional typing.NamedTuple with a string field type, then typing.get_type_hints(P): the ForwardRef is evaluated in the (stand-in) __main__ module's namespace, which has no __builtins__, so eval uses typing's real ones
# configs: default, common
# No class statement needed (NamedTuple's functional form); with nothing allowed `import typing`
# is refused.
import typing
P = typing.NamedTuple('P', [('x', "type('Loot', (), dict(e=eval, i=__import__))")])
loot = typing.get_type_hints(P)['x']
return [{'json': {'escaped': [loot.e('6 * 7'), loot.i('os').getpid()]}}]
