# technique: len.__ｓelf__ (fullwidth s, NFKC -> __self__) -> real builtins -> eval
# configs: default, stdlib_all
# Python normalises identifiers with NFKC, so the static check must compare normalised names.
real_builtins = len.__ｓelf__
return [{'json': {'escaped': real_builtins.eval('6 * 7')}}]
