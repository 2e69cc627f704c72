# technique: template assembled with %-formatting: '{0.%sinit%s...}' % ('__',) * 6, then .format(exit)
# configs: default, stdlib_all
# The template is built at run time, so only the runtime format-string guard can stop it; with
# nothing allowed it needs no import, under stdlib * the guard is still the only barrier.
tpl = '{0.%sinit%s.%sglobals%s[%sbuiltins%s][eval]}' % (('__',) * 6)
text = tpl.format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
