# technique: __import__ of a name stored reversed and flipped with [::-1]
# configs: default, stdlib_all
# A computed name makes this a dynamic __import__ call (statically refused); at run time the
# guarded __import__ must refuse the external package in both configurations.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
name = '__olleh__'[::-1]
m = __import__(name)
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
