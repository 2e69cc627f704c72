# technique: __builtins__['__import__']('__phello__') (the name __builtins__ and the key '__import__')
# configs: default, stdlib_all
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
imp = __builtins__['__import__']
m = imp('__phello__')
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
