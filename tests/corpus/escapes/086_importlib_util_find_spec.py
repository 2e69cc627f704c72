# technique: importlib.util.find_spec + module_from_spec + spec.loader.exec_module (the import machinery without __import__)
# configs: default, stdlib_all
# stdlib_all: in-process — the import machinery loads any module into the task process; with os/subprocess allowed, EXTERNAL_ALLOW is no boundary
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import importlib.util
spec = importlib.util.find_spec('__phello__')
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
