# technique: gc.get_referents(print), searched breadth-first, finds the print recorder's private storage (and could forge entries)
# configs: default, stdlib_all
# stdlib_all: in-process — gc sees the task process's own objects
# With nothing allowed `import gc` is refused; under stdlib * the recorder's internals must stay out of reach.
import gc
print('probe-5b1e')
wanted = "'probe-5b1e'"
seen = set()
queue = [print]
while queue and len(seen) < 50000:
    current = queue.pop(0)
    if id(current) in seen:
        continue
    seen.add(id(current))
    if isinstance(current, list) and any(isinstance(e, list) and wanted in e for e in current):
        return [{'json': {'escaped': current}}]
    queue.extend(gc.get_referents(current))
return [{'json': {'result': 'recorder storage not found'}}]
