# technique: pydoc.locate('__hello__.initialized') imports through pydoc's own (real) __import__
# configs: default, stdlib_all
# stdlib_all: in-process — the import machinery loads any module into the task process
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import pydoc
value = pydoc.locate('__hello__.initialized')
if value is True:
    return [{'json': {'escaped': '__hello__ loaded by pydoc.locate'}}]
return [{'json': {'result': str(value)}}]
