# technique: gc.unfreeze(); gc.get_objects() finds module objects pruned from sys.modules, incl. non-stdlib internals
# configs: default, stdlib_all
# stdlib_all: in-process — gc sees the task process's own objects
# With nothing allowed the imports are refused; under stdlib * the runner's own modules must not be reachable.
import gc
import sys
import types
gc.unfreeze()
foreign = sorted({
    o.__name__ for o in gc.get_objects()
    if isinstance(o, types.ModuleType)
    and o.__name__.split('.')[0] not in sys.stdlib_module_names
    and o.__name__ != '__main__'
})
if foreign:
    return [{'json': {'escaped': foreign}}]
return [{'json': {'result': 'no foreign module objects'}}]
