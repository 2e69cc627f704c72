# technique: code.InteractiveInterpreter(ns).runsource('import __hello__'): exec inside the code module runs with the real builtins
# configs: default, stdlib_all
# stdlib_all: in-process — the import machinery loads any module into the task process
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import code
ns = {}
code.InteractiveInterpreter(ns).runsource('import __hello__')
m = ns.get('__hello__')
if m is not None and m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'import did not happen'}}]
