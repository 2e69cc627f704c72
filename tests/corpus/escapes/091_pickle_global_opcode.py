# technique: pickle.loads(b'c__hello__\ninitialized\n.'): the GLOBAL opcode imports a module by name
# configs: default, stdlib_all
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import pickle
value = pickle.loads(b'c__hello__\ninitialized\n.')
if value is True:
    return [{'json': {'escaped': '__hello__.initialized loaded by pickle'}}]
return [{'json': {'result': str(value)}}]
