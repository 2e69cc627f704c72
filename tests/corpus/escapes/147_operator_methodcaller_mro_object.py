# technique: operator.methodcaller('mro')(str)[-1] is the denied builtin object without `.mro` in the source (the word itself is allowed in strings); object.__dir__ then stands in for the denied dir()
# configs: default, common
# With nothing allowed `import operator` is refused.
import operator
real_object = operator.methodcaller('mro')(str)[-1]
names = real_object.__dir__(exit.__init__)
hidden = sorted(n for n in names if n[2:4] in ('fu', 'se'))
if repr(real_object) == "<class 'object'>":
    return [{'json': {'escaped': [repr(real_object), hidden]}}]
return [{'json': {'result': repr(real_object)}}]
