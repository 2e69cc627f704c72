# technique: metaclass + __init_subclass__: a class statement with a metaclass whose __instancecheck__ accepts anything, used with a positional pattern to pull tb_frame
# configs: default, stdlib_all
# class statements need __build_class__, which is denied; positional patterns are refused statically.
class Meta(type):
    def __instancecheck__(cls, other):
        return True
class Base:
    def __init_subclass__(cls, **kwargs):
        cls.__match_args__ = (''.join(['tb_', 'frame']),)
class Anything(Base, metaclass=Meta):
    pass
try:
    1 / 0
except ZeroDivisionError as err:
    caught = err
match caught:
    case BaseException(__traceback__=tb):
        pass
match tb:
    case Anything(frame):
        pass
while frame is not None:
    g = frame.f_globals
    if '_items' not in g and '_item' not in g:
        return [{'json': {'escaped': sorted(g)[:12]}}]
    frame = frame.f_back
return [{'json': {'result': 'only user frames'}}]
