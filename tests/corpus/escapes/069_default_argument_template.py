# technique: the attribute-walking template hidden in a default argument value, used by .format inside the function
# configs: default, stdlib_all
# exit's __init__.__globals__ are _sitebuiltins' globals, whose __builtins__ is the real builtins dict.
def render(tpl='{0.__init__.__globals__[__builtins__][eval]}'):
    return tpl.format(exit)
text = render()
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
