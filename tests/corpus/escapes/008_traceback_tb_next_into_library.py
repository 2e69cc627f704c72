# technique: make library code raise (exit() -> _sitebuiltins.Quitter.__call__), follow tb_next into its frame, read f_globals['__builtins__']
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
try:
    exit(0)
except SystemExit as stop:
    tb = stop.__traceback__
while tb.tb_next is not None:
    tb = tb.tb_next
g = tb.tb_frame.f_globals
if '_items' not in g and '_item' not in g:
    real_eval = g['__builtins__']['eval']
    return [{'json': {'escaped': real_eval('6 * 7')}}]
return [{'json': {'result': 'the last frame was the user code'}}]
