# technique: sys.modules['__main__'] is the forkserver's main module; list the functions it defines (the control-socket code)
# configs: default, stdlib_all
# With nothing allowed the imports are refused; under stdlib * the runner's main-module internals must not be reachable.
import inspect
import sys
main = sys.modules.get('__main__')
functions = sorted(name for name, value in inspect.getmembers(main) if inspect.isfunction(value))
if functions:
    return [{'json': {'escaped': functions}}]
return [{'json': {'result': 'empty __main__'}}]
