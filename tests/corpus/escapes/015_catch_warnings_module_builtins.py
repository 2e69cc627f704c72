# technique: the classic catch_warnings escape: find warnings.catch_warnings among object's subclasses, read ._module.__builtins__ -> real eval
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == 'catch_warnings':
        b = cls()._module.__builtins__
        real_eval = b['eval'] if isinstance(b, dict) else b.eval
        return [{'json': {'escaped': real_eval('6 * 7')}}]
return [{'json': {'result': 'warnings.catch_warnings is not loaded'}}]
