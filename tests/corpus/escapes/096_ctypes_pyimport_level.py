# technique: ctypes.pythonapi.PyImport_ImportModuleLevel(b'__hello__', ...) calls the C import API directly
# configs: default, stdlib_all
# stdlib_all: in-process — ctypes reaches anything in the task process
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import ctypes
fn = ctypes.pythonapi.PyImport_ImportModuleLevel
fn.restype = ctypes.py_object
fn.argtypes = [ctypes.c_char_p, ctypes.py_object, ctypes.py_object, ctypes.py_object, ctypes.c_int]
m = fn(b'__hello__', None, None, None, 0)
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
