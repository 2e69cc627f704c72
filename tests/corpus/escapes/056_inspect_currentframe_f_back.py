# technique: inspect.currentframe().f_back walk to a runner frame -> f_builtins -> real eval
# configs: default, stdlib_all, common
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
import inspect
frame = inspect.currentframe()
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': frame.f_builtins['eval']('6 * 7')}}]
    frame = frame.f_back
return [{'json': {'result': 'only user frames'}}]
