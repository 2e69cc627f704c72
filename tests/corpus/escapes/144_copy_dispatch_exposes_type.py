# technique: copy._copy_dispatch is keyed by classes, `type` among them: the denied builtin type, used to read exit's class and to create a class without a class statement (__build_class__ is denied too)
# configs: default, common
# With nothing allowed `import copy` is refused.
import copy
real_type = [cls for cls in copy._copy_dispatch if repr(cls) == "<class 'type'>"][0]
made = real_type('Made', (), {'answer': 42})
return [{'json': {'escaped': [repr(real_type), real_type(exit).__name__, made().answer]}}]
