# technique: operator.attrgetter with run-time names ('f_' + 'back' joined) walks sys._getframe() up to the runner's frame globals
# configs: default, stdlib_all
# stdlib_all: in-process — operator/getattr read the task process's own frames
# With nothing allowed the imports are refused; under stdlib * this reads blocked frame attributes.
import operator
import sys
back = operator.attrgetter(''.join(['f_', 'back']))
glob = operator.attrgetter(''.join(['f_', 'globals']))
frame = sys._getframe()
while frame is not None:
    g = glob(frame)
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': sorted(g)[:12]}}]
    frame = back(frame)
return [{'json': {'result': 'only user frames'}}]
