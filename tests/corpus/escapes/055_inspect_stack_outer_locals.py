# technique: inspect.stack() + inspect.getargvalues(info.frame).locals reads the runner's frames without any blocked attribute
# configs: default, stdlib_all, common
# stdlib_all: in-process — inspect sees the task process's own frames
# With nothing allowed `import inspect` is refused; under stdlib * the runner's locals (task, result fd, recorder) are internal.
import inspect
stack = inspect.stack()
mine = stack[0].filename
found = {}
for info in stack:
    if info.filename != mine:
        found[info.function] = sorted(inspect.getargvalues(info.frame).locals)
if any(found.values()):
    return [{'json': {'escaped': found}}]
return [{'json': {'result': 'only user frames'}}]
