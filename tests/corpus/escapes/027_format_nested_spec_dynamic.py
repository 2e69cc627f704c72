# technique: nested format spec built at run time: the dangerous field sits inside the spec of an innocent outer field
# configs: default, stdlib_all
# The template is built at run time, so only the runtime format-string guard can stop it; with
# nothing allowed it needs no import, under stdlib * the guard is still the only barrier.
u = '_' * 2
tpl = '{0:{1.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}}'
try:
    text = tpl.format('', exit)
except ValueError as err:
    text = str(err)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
