# technique: pkgutil.resolve_name('__hello__:initialized') imports via importlib.import_module from inside pkgutil
# configs: default, stdlib_all
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import pkgutil
value = pkgutil.resolve_name('__hello__:initialized')
if value is True:
    return [{'json': {'escaped': '__hello__ loaded by pkgutil.resolve_name'}}]
return [{'json': {'result': str(value)}}]
