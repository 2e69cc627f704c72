# technique: template stored reversed and flipped with [::-1] before .format(exit)
# configs: default, stdlib_all
# The template is built at run time, so only the runtime format-string guard can stop it; with
# nothing allowed it needs no import, under stdlib * the guard is still the only barrier.
tpl = '}]lave[]__snitliub__[__slabolg__.__tini__.0{'[::-1]
text = tpl.format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
