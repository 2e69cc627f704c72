# technique: inspect.getclosurevars(print.__call__) lists the recorder implementation's globals (runner internals)
# configs: default, stdlib_all, common
# With nothing allowed `import inspect` is refused; under stdlib * the recorder's internals must stay hidden.
import inspect
cv = inspect.getclosurevars(print.__call__)
names = sorted(cv.globals) + sorted(cv.nonlocals)
if names:
    return [{'json': {'escaped': names}}]
return [{'json': {'result': 'nothing captured'}}]
