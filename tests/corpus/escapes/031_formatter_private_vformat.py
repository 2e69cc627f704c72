# technique: string.Formatter()._vformat: the private worker behind vformat, a method name the format rewriter does not know
# configs: default, stdlib_all
# Needs `import string` with nothing allowed; under stdlib * only a runtime guard could stop it.
import string
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text, _ = string.Formatter()._vformat(tpl, (exit,), {}, set(), 2)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
