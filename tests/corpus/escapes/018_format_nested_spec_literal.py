# technique: nested format spec '{0:{1.__init__.__globals__...}}': the inner field is rendered into the spec; the ValueError message leaks it
# configs: default, stdlib_all
# exit is site's Quitter instance (a Python object left in the builtins); its __init__.__globals__
# are _sitebuiltins' module globals, whose __builtins__ is the real builtins dict.
try:
    text = '{0:{1.__init__.__globals__[__builtins__][eval]}}'.format('', exit)
except ValueError as err:
    text = str(err)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
