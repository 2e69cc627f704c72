# technique: template literal spelled with \N{LOW LINE} and \x5f escapes, so the source text never shows '__'
# configs: default, stdlib_all
# The static check must look at the decoded literal value, not the source text.
tpl = '{0.\N{LOW LINE}\N{LOW LINE}init\x5f\x5f.\N{LOW LINE}_globals\x5f_[\x5f_builtins_\N{LOW LINE}][eval]}'
text = tpl.format(exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
