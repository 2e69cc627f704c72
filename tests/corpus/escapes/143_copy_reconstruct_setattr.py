# technique: copy._reconstruct(None, None, lambda: target, (), (None, {name: value})) calls setattr(target, name, value) for the slot state: the denied setattr, with a blocked attribute name built at run time (__qualname__ here, shown by repr)
# configs: default, common
# With nothing allowed `import copy` is refused.
import copy
def target():
    pass
u = '_' * 2
copy._reconstruct(None, None, lambda: target, (), (None, {u + 'qualname' + u: 'set_through_copy'}))
text = repr(target)
if 'set_through_copy' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
