# technique: vars(str)['format'] fetches the method descriptor without an attribute call, then calls it with a run-time template
# configs: default, stdlib_all
# vars is a denied builtin in both configurations.
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = vars(str)['format'](tpl, exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
