# technique: timeit.Timer(setup='import __hello__ ...', globals=...) compiles and execs code with the timeit module's real builtins
# configs: default, stdlib_all
# stdlib_all: in-process — the import machinery loads any module into the task process
# With nothing allowed the import of the helper module is refused; under stdlib * the helper is
# allowed, but the external package it loads is not, so the runtime guard must catch it.
# __hello__/__phello__ are frozen modules every CPython has; they are not in
# sys.stdlib_module_names, so they count as external packages, which neither configuration allows.
import timeit
box = []
timeit.Timer('pass', setup='import __hello__ as m; box.append(m)', globals={'box': box}).timeit(1)
if box and box[0].initialized is True:
    return [{'json': {'escaped': str(box[0])}}]
return [{'json': {'result': 'import did not happen'}}]
