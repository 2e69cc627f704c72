# technique: format_map with a run-time template and a mapping argument
# configs: default, stdlib_all
# The template is built at run time, so only the runtime format-string guard can stop it; with
# nothing allowed it needs no import, under stdlib * the guard is still the only barrier.
u = '_' * 2
tpl = '{q.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = tpl.format_map({'q': exit})
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
