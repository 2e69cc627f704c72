# technique: sys.modules still holds non-stdlib modules the task may not import (the runner's own child module, site hooks, ...)
# configs: default, stdlib_all
# With nothing allowed `import sys` is refused; under stdlib * the child must have pruned every
# module that is neither stdlib nor allowed.
import sys
foreign = sorted(
    name for name in sys.modules
    if name.split('.')[0] not in sys.stdlib_module_names and name != '__main__'
)
if foreign:
    return [{'json': {'escaped': foreign}}]
return [{'json': {'result': 'no foreign module'}}]
