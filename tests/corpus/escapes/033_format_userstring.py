# technique: collections.UserString(tpl).format(exit): the str.format call happens inside collections
# configs: default, stdlib_all
# Needs `import collections` with nothing allowed; under stdlib * the runtime guard must handle UserString receivers.
import collections
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = collections.UserString(tpl).format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
