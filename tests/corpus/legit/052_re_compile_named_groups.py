# description: re.compile with named groups, flags and fullmatch
# allow: re
# mode: all
# items: [{"json": {"conf": "Retries = 3; TIMEOUT=30"}}]
# expect: [{"json": {"found": [{"key": "Retries", "value": "3"}, {"key": "TIMEOUT", "value": "30"}], "valid": [true, false, false], "split": ["a", "b", "c"]}}]
import re
pattern = re.compile(r'(?P<key>[a-z]+)\s*=\s*(?P<value>\d+)', re.IGNORECASE)
found = [m.groupdict() for m in pattern.finditer(_items[0]['json']['conf'])]
valid = [bool(re.fullmatch(r'[A-Z]{2}\d{4}', code)) for code in ['AB1234', 'ab1234', 'AB123']]
return [{'json': {'found': found, 'valid': valid, 'split': re.split(r'[;,]\s*', 'a, b;c')}}]
