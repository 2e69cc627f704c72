# technique: super(int, True).__self_class__ (bool) as a class getter -> __mro__[-1] -> subclass walk -> real eval
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
root = super(int, True).__self_class__.__mro__[-1]
for cls in root.__subclasses__():
    try:
        g = cls.__init__.__globals__
    except AttributeError:
        continue
    b = g['__builtins__']
    real_eval = b['eval'] if isinstance(b, dict) else b.eval
    return [{'json': {'escaped': real_eval('6 * 7')}}]
return [{'json': {'result': 'nothing found'}}]
