# technique: the blocked name __builtins__ spelled __ｂuiltins__ (NFKC), then its __import__ on an external package
# configs: default, stdlib_all
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
imp = __ｂuiltins__['__imp' + 'ort__']
m = imp('__phello__')
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
