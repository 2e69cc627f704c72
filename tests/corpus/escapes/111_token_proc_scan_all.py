# technique: scan /proc/*/cmdline of every visible process, and /proc/<pid>/environ of every n8n runner process found, for N8N_RUNNERS_GRANT_TOKEN
# configs: default, stdlib_all
# The grant token is forbidden in every configuration. With nothing allowed the imports are
# refused; under stdlib * they are allowed, so the token must simply not be reachable.
# (Only processes whose command line mentions n8n have their environment read.)
import os
import re
token = re.compile(rb'N8N_RUNNERS_GRANT_TOKEN=([A-Za-z0-9._~+/=-]{8,})')
def read(path):
    with os.fdopen(os.open(path, os.O_RDONLY), 'rb') as handle:
        return handle.read()
for pid in os.listdir('/proc'):
    if not pid.isdigit():
        continue
    try:
        cmdline = read('/proc/%s/cmdline' % pid)
    except OSError:
        continue
    hit = token.search(cmdline)
    if hit is None and b'n8n' in cmdline:
        try:
            hit = token.search(b'\0' + read('/proc/%s/environ' % pid))
        except OSError:
            hit = None
    if hit is not None:
        return [{'json': {'escaped': hit.group(1).decode()}}]
return [{'json': {'result': 'token not found'}}]
