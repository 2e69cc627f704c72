# technique: globals()['__builtins__'] to reach eval
# configs: default, stdlib_all
# globals is a denied builtin; '__builtins__' is a blocked name; the mapping user code gets has no eval.
b = globals()['__builtins__']
real_eval = b['eval'] if isinstance(b, dict) else b.eval
return [{'json': {'escaped': real_eval('6 * 7')}}]
