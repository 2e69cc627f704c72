# technique: subclass walk ''.__class__.__mro__[-1].__subclasses__() -> any class whose __init__ has __globals__ -> module __builtins__ -> real eval
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
for cls in ''.__class__.__mro__[-1].__subclasses__():
    try:
        g = cls.__init__.__globals__
    except AttributeError:
        continue
    b = g['__builtins__']
    real_eval = b['eval'] if isinstance(b, dict) else b.eval
    return [{'json': {'escaped': real_eval('6 * 7')}}]
return [{'json': {'result': 'no class with Python-level __init__'}}]
