# technique: the token straight from the child's environment: os.environ, os.environb, os.getenv and libc getenv via ctypes
# configs: default, stdlib_all
# The grant token is forbidden in every configuration. With nothing allowed the imports are
# refused; under stdlib * they are allowed, so the token must simply not be reachable.
import ctypes
import os
key = 'N8N_RUNNERS_GRANT_TOKEN'
candidates = [os.environ.get(key), os.getenv(key)]
raw = os.environb.get(key.encode())
candidates.append(raw.decode() if raw else None)
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
raw = libc.getenv(key.encode())
candidates.append(raw.decode() if raw else None)
for token in candidates:
    if token:
        return [{'json': {'escaped': token}}]
return [{'json': {'result': 'environment is clean'}}]
