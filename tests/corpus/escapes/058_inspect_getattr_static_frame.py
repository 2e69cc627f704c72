# technique: inspect.getattr_static(frame, 'f_back'/'f_globals' built at run time) returns the getset descriptors; .__get__(frame) reads them
# configs: default, stdlib_all
# stdlib_all: in-process — inspect sees the task process's own frames
# With nothing allowed the imports are refused; under stdlib * this reads blocked frame attributes.
import inspect
import sys
back = inspect.getattr_static(sys._getframe(), ''.join(['f_', 'back']))
glob = inspect.getattr_static(sys._getframe(), ''.join(['f_', 'globals']))
frame = sys._getframe()
while frame is not None:
    g = glob.__get__(frame)
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': sorted(g)[:12]}}]
    frame = back.__get__(frame)
return [{'json': {'result': 'only user frames'}}]
