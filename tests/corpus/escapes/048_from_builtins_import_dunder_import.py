# technique: from builtins import __import__ as imp -> the real, unguarded __import__ loads an external package
# configs: default, stdlib_all
# '__import__' is not a blocked *name*, so under stdlib * only the runtime import guard stands in the way.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
from builtins import __import__ as imp
m = imp('__phello__')
if m.initialized is True:
    return [{'json': {'escaped': str(m)}}]
return [{'json': {'result': 'imported something else'}}]
