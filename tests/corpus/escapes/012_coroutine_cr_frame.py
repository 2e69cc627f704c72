# technique: a coroutine driven by send(None) reads its own cr_frame.f_back, then walks to the runner's frames
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
async def probe():
    return me.cr_frame.f_back
me = probe()
try:
    me.send(None)
except StopIteration as done:
    frame = done.value
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        real_eval = frame.f_builtins['eval']
        return [{'json': {'escaped': real_eval('6 * 7')}}]
    frame = frame.f_back
return [{'json': {'result': 'only user frames were reachable'}}]
