# technique: str.mro()[-1] is the denied builtin object (mro() is not __mro__, the only one of the two on the blocked list); object.__dir__ then stands in for the denied dir() and lists the hidden attributes of a bound method
# configs: default, common
# The static check now refuses `.mro` as an attribute; 146 and 147 reach mro without attribute
# syntax.
real_object = str.mro()[-1]
names = real_object.__dir__(exit.__init__)
hidden = sorted(n for n in names if n[2:4] in ('fu', 'se'))
if repr(real_object) == "<class 'object'>":
    return [{'json': {'escaped': [repr(real_object), hidden]}}]
return [{'json': {'result': repr(real_object)}}]
