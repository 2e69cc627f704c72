# technique: builtins.getattr (the real getattr, from the builtins module) with run-time names on sys._getframe()
# configs: default, stdlib_all
# stdlib_all: in-process — operator/getattr read the task process's own frames
# With nothing allowed the imports are refused; under stdlib * this reads blocked frame attributes.
import builtins
import sys
frame = sys._getframe()
while frame is not None:
    g = builtins.getattr(frame, ''.join(['f_', 'globals']))
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': sorted(g)[:12]}}]
    frame = builtins.getattr(frame, ''.join(['f_', 'back']))
return [{'json': {'result': 'only user frames'}}]
