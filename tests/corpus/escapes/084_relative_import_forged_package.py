# technique: relative import after forging the module-level __package__: global __package__; __package__ = '__phello__'; from . import spam
# configs: default, stdlib_all
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
global __package__
__package__ = '__phello__'
from . import spam
if spam.initialized is True:
    return [{'json': {'escaped': str(spam)}}]
return [{'json': {'result': 'imported something else'}}]
