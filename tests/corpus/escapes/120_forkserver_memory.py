# technique: open the forkserver's /proc/<pid>/mem and /proc/<pid>/fd/3 (its control socket) to read its memory or forge fork requests
# configs: stdlib_all
# With nothing allowed `import os` is refused, so only the stdlib-* configuration is meaningful.
import os
def parent(pid):
    fd = os.open('/proc/%s/stat' % pid, os.O_RDONLY)
    try:
        return int(os.read(fd, 4096).decode().rsplit(')', 1)[1].split()[1])
    finally:
        os.close(fd)
forkserver = parent('self')
opened = []
for path in ('/proc/%d/mem' % forkserver, '/proc/%d/fd/3' % forkserver, '/proc/%d/environ' % parent(forkserver)):
    try:
        fd = os.open(path, os.O_RDONLY)
        os.close(fd)
        opened.append(path)
    except OSError:
        pass
if opened:
    return [{'json': {'escaped': opened}}]
return [{'json': {'result': 'nothing of the forkserver or runner opens'}}]
