# technique: gc.get_referrers(_items) reaches the runner's own task record (a dict the user scope does not own)
# configs: default, stdlib_all
# stdlib_all: in-process — gc sees the task process's own objects
# With nothing allowed `import gc` is refused; under stdlib * the runner's task record is internal.
import gc
for holder in gc.get_referrers(_items):
    if isinstance(holder, dict) and '_items' not in holder:
        return [{'json': {'escaped': sorted(str(k) for k in holder)}}]
return [{'json': {'result': 'no foreign referrer'}}]
