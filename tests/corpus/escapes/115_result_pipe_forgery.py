# technique: find the child's result pipe among its fds (a write-only pipe above 2), write a forged length-prefixed result frame and os._exit(0)
# configs: default, stdlib_all
# stdlib_all: in-process — the result pipe belongs to the task process; a forged frame is only the task's own result
# With nothing allowed the imports are refused; under stdlib * user code must not be able to forge the frame.
import json
import os
import stat
import struct
body = json.dumps({
    'status': 'ok',
    'result': [{'json': {'escaped': 'forged result frame'}}],
    'print_args': [],
}).encode()
frame = struct.pack('>I', len(body)) + body
for name in os.listdir('/proc/self/fd'):
    fd = int(name)
    if fd < 3:
        continue
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            continue
        with os.fdopen(os.open('/proc/self/fdinfo/%d' % fd, os.O_RDONLY), 'rb') as handle:
            info = handle.read().decode()
    except OSError:
        continue
    flags = [line.split()[1] for line in info.splitlines() if line.startswith('flags:')]
    if flags and int(flags[0], 8) & 3 == os.O_WRONLY:
        os.write(fd, frame)
        os._exit(0)
return [{'json': {'result': 'no writable pipe'}}]
