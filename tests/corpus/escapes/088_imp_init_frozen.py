# technique: _imp.init_frozen('__phello__') creates the frozen module directly from C (__phello__ has no class
# statement, so its body also runs under the restricted builtins)
# configs: default, stdlib_all
# stdlib_all: in-process — the import machinery loads any module into the task process
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import _imp
m = _imp.init_frozen('__phello__')
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
