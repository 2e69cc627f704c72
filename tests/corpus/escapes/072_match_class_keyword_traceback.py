# technique: match class pattern extracting attributes: case BaseException(__traceback__=tb), then tb_frame/f_back/f_builtins
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
try:
    1 / 0
except ZeroDivisionError as err:
    caught = err
match caught:
    case BaseException(__traceback__=tb):
        frame = tb.tb_frame
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': frame.f_builtins['eval']('6 * 7')}}]
    frame = frame.f_back
return [{'json': {'result': 'only user frames'}}]
