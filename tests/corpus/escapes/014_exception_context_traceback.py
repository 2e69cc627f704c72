# technique: the traceback of an exception's __context__ (implicit chaining), then tb_frame/f_back/f_builtins
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
try:
    try:
        1 / 0
    except ZeroDivisionError:
        raise ValueError('second')
except ValueError as outer:
    frame = outer.__context__.__traceback__.tb_frame
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        real_eval = frame.f_builtins['eval']
        return [{'json': {'escaped': real_eval('6 * 7')}}]
    frame = frame.f_back
return [{'json': {'result': 'only user frames were reachable'}}]
