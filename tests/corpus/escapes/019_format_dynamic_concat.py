# technique: template built at run time: '{0.' + '_'*2 + 'init' + '_'*2 + ... + '}', then .format(exit)
# configs: default, stdlib_all
# The template is built at run time, so only the runtime format-string guard can stop it; with
# nothing allowed it needs no import, under stdlib * the guard is still the only barrier.
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = tpl.format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
