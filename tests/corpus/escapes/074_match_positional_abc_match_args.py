# technique: positional match patterns: give collections.abc.Hashable a __match_args__ of run-time names (via builtins.setattr), then case Hashable(frame) on a traceback/frame extracts tb_frame, f_back, f_globals
# configs: default, stdlib_all
# With nothing allowed the imports are refused; under stdlib * positional patterns are the violation.
import builtins
import collections.abc
import sys
Hashable = collections.abc.Hashable
args_name = '_' * 2 + 'match' + '_args' + '_' * 2
builtins.setattr(Hashable, args_name, (''.join(['tb_', 'frame']),))
try:
    1 / 0
except ZeroDivisionError:
    tb = sys.exc_info()[2]
match tb:
    case Hashable(frame):
        pass
builtins.setattr(Hashable, args_name, (''.join(['f_', 'back']), ''.join(['f_', 'globals'])))
while frame is not None:
    match frame:
        case Hashable(back, g):
            if '_items' not in g and '_item' not in g:
                return [{'json': {'escaped': sorted(g)[:12]}}]
            frame = back
return [{'json': {'result': 'only user frames'}}]
