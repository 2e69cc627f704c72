# technique: template spelled as character codes: ''.join(map(chr, [...])).format(exit)
# configs: default, stdlib_all
# The template is built at run time, so only the runtime format-string guard can stop it; with
# nothing allowed it needs no import, under stdlib * the guard is still the only barrier.
tpl = ''.join(map(chr, [123, 48, 46, 95, 95, 105, 110, 105, 116, 95, 95, 46, 95, 95, 103, 108, 111, 98, 97, 108, 115, 95, 95, 91, 95, 95, 98, 117, 105, 108, 116, 105, 110, 115, 95, 95, 93, 91, 101, 118, 97, 108, 93, 125]))
text = tpl.format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
