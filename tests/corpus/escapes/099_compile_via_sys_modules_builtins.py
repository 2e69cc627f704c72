# technique: import sys; sys.modules['builtins'].compile + exec of the compiled code
# configs: default
# Default only: under stdlib * sys and builtins are allowed by design, so compile/exec from there are
# legitimate (the imports they run still go through their own builtins; see the external-import snippets).
import sys
real = sys.modules['builtins']
code = real.compile('value = 6 * 7', '<probe>', 'exec')
ns = {}
real.exec(code, ns)
return [{'json': {'escaped': ns['value']}}]
