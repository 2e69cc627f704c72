# technique: print.__call__.__func__.__globals__ -> the recorder's module globals (runner internals) and their real builtins
# configs: default, stdlib_all
# __func__ and __globals__ are blocked attributes in both configurations.
g = print.__call__.__func__.__globals__
b = g['__builtins__']
real_eval = b['eval'] if isinstance(b, dict) else b.eval
return [{'json': {'escaped': [real_eval('6 * 7'), sorted(g)[:10]]}}]
