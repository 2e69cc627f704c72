# technique: tb_frame + f_back walk, reading f_locals of the runner's own frames (task, pipe fds, recorder)
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
try:
    raise ValueError('probe')
except ValueError as err:
    frame = err.__traceback__.tb_frame
found = {}
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        found[frame.f_code.co_name] = sorted(frame.f_locals)
    frame = frame.f_back
if any(found.values()):
    return [{'json': {'escaped': found}}]
return [{'json': {'result': 'no runner locals'}}]
