# technique: inspect.getmodule(len) looks len.__module__ up in sys.modules and hands out the real builtins module, with eval and __import__
# configs: default, common
# With nothing allowed `import inspect` is refused.
import inspect
real_builtins = inspect.getmodule(len)
return [{'json': {'escaped': real_builtins.eval('6 * 7')}}]
