# technique: exit.__reduce__() returns copyreg's Python-level reconstructor; its __globals__ hold the real builtins
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
recipe = exit.__reduce__()
g = recipe[0].__globals__
real_eval = g['__builtins__']['eval']
return [{'json': {'escaped': real_eval('6 * 7')}}]
