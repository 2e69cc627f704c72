# technique: a mapping pattern over the builtins mapping captures entries by key: case {'eval': ev}
# configs: default, stdlib_all
# '__builtins__' is a blocked name; the mapping user code sees must not contain eval at all.
match __builtins__:
    case {'eval': ev}:
        return [{'json': {'escaped': ev('6 * 7')}}]
return [{'json': {'result': 'no eval key'}}]
