# technique: a fullwidth identifier (U+FF45) that NFKC-normalises to the denied name eval
# configs: default, stdlib_all
# eval is denied in both configurations; Python normalises the identifier before the lookup.
return [{'json': {'escaped': ｅval('6 * 7')}}]
