# technique: str.format with a literal template walking attributes: '{0.__init__.__globals__[__builtins__][eval]}'.format(exit)
# configs: default, stdlib_all
# exit is site's Quitter instance (a Python object left in the builtins); its __init__.__globals__
# are _sitebuiltins' module globals, whose __builtins__ is the real builtins dict.
text = '{0.__init__.__globals__[__builtins__][eval]}'.format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
