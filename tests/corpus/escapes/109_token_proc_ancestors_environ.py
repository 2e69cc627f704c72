# technique: read /proc/<pid>/environ and cmdline of the child, the forkserver (ppid) and the runner (the forkserver's parent) looking for N8N_RUNNERS_GRANT_TOKEN
# configs: default, stdlib_all
# The grant token is forbidden in every configuration. With nothing allowed the imports are
# refused; under stdlib * they are allowed, so the token must simply not be reachable.
import pathlib
def hunt(read):
    pid = 'self'
    for _ in range(6):
        for leaf in ('environ', 'cmdline'):
            try:
                blob = read('/proc/%s/%s' % (pid, leaf))
            except OSError:
                continue
            for part in blob.split(b'\0'):
                if part.startswith(b'N8N_RUNNERS_GRANT_TOKEN=') and len(part) > 24:
                    return part.split(b'=', 1)[1].decode()
        try:
            stat = read('/proc/%s/stat' % pid).decode()
        except OSError:
            return None
        pid = stat.rsplit(')', 1)[1].split()[1]
        if pid == '0':
            return None
    return None
token = hunt(lambda path: pathlib.Path(path).read_bytes())
if token:
    return [{'json': {'escaped': token}}]
return [{'json': {'result': 'token not found'}}]
