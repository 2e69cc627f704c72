# technique: read the print recorder's private state (print._entries / print.entries() / print._dropped) to see and forge captured output
# configs: default, stdlib_all
# No import needed: this is about what the injected print object exposes (runner internals).
print('probe-77a')
found = {}
try:
    found['_entries'] = print._entries
except AttributeError:
    pass
try:
    found['entries()'] = print.entries()
except (AttributeError, TypeError):
    pass
try:
    found['_dropped'] = print._dropped
except AttributeError:
    pass
if found:
    return [{'json': {'escaped': {k: str(v) for k, v in found.items()}}}]
return [{'json': {'result': 'recorder hides its state'}}]
