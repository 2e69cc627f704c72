# technique: __import__(name, {'__package__': '__phello__'}, None, ['x'], 1): a level-1 relative import anchored on an external package
# configs: default, stdlib_all
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
name = ''.join(['sp', 'am'])
m = __import__(name, {'__package__': '__phello__'}, None, ['initialized'], 1)
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
