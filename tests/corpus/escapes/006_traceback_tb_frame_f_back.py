# technique: exception __traceback__.tb_frame, then f_back up to a runner frame and its f_globals
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
try:
    raise ValueError('probe')
except ValueError as err:
    frame = err.__traceback__.tb_frame
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': sorted(g)[:12]}}]
    frame = frame.f_back
return [{'json': {'result': 'only user frames were reachable'}}]
