# technique: string.Formatter().vformat with a literal attribute-walking template
# configs: default, stdlib_all
# Needs `import string` (refused with nothing allowed); under stdlib * the template is the violation.
import string
text = string.Formatter().vformat('{0.__init__.__globals__[__builtins__][eval]}', (exit,), {})
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
