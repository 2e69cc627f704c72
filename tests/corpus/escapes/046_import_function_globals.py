# technique: __import__.__globals__ (a Python-level import guard would expose its module globals and their real builtins)
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
g = __import__.__globals__
b = g['__builtins__']
real_eval = b['eval'] if isinstance(b, dict) else b.eval
return [{'json': {'escaped': real_eval('6 * 7')}}]
