# technique: exec taken from a runner frame's f_builtins, run with those real builtins to import an external package
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
try:
    1 / 0
except ZeroDivisionError as err:
    frame = err.__traceback__.tb_frame
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        real = frame.f_builtins
        ns = {'__builtins__': real}
        real['exec']('import __hello__ as m', ns)
        return [{'json': {'escaped': str(ns['m'])}}]
    frame = frame.f_back
return [{'json': {'result': 'only user frames'}}]
