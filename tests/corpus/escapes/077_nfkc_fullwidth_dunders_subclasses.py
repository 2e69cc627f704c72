# technique: blocked attributes written with fullwidth letters: ().__ｃlass__.__ｂases__[0].__ｓubclasses__() (NFKC -> __class__ ...) -> real os
# configs: default, stdlib_all
# Python normalises identifiers with NFKC, so the static check must compare normalised names.
for cls in ().__ｃlass__.__ｂases__[0].__ｓubclasses__():
    if cls.__name__ == '_wrap_close':
        return [{'json': {'escaped': cls.__init__.__ｇlobals__['getpid']()}}]
return [{'json': {'result': 'no _wrap_close subclass'}}]
