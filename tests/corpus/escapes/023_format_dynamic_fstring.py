# technique: template assembled with an f-string from a '__' variable, then .format(exit)
# configs: default, stdlib_all
# The template is built at run time, so only the runtime format-string guard can stop it; with
# nothing allowed it needs no import, under stdlib * the guard is still the only barrier.
u = '_' * 2
tpl = f'{{0.{u}init{u}.{u}globals{u}[{u}builtins{u}][eval]}}'
text = tpl.format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
