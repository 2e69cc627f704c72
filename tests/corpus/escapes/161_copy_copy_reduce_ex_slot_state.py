# technique: copy.copy (public) of an object whose own __reduce_ex__ returns (constructor, args, (None, {name: value})) reaches the hidden copy._reconstruct, which setattr()s each slot-state item: the denied setattr with a blocked name built at run time (__qualname__ here, shown by repr)
# configs: default, common
# With nothing allowed `import copy` is refused.
import copy
import dataclasses
u = '_' * 2
def target():
    pass
Box = dataclasses.make_dataclass('Box', [], namespace={
    u + 'reduce_ex' + u: lambda self, proto: (lambda: target, (), (None, {u + 'qualname' + u: 'set_through_copy_copy'})),
})
copy.copy(Box())
text = repr(target)
if 'set_through_copy_copy' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
