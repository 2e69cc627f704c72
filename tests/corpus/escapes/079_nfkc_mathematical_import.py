# technique: __ｉmport__ / 𝚒mport-style identifiers (NFKC -> __import__) with a literal external name
# configs: default, stdlib_all
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
m = __ｉmport__('__phello__')
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
