# description: json.dumps with indent, ensure_ascii=False and a default= function
# allow: json
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"pretty": "{\n  \"name\": \"Zoë\",\n  \"tags\": [\n    \"ä\",\n    \"b\"\n  ],\n  \"when\": 5\n}", "escaped": "\"Zo\\u00eb\"", "fallback": "{\"s\": [1, 2]}"}}]
import json
data = {'name': 'Zoë', 'tags': ['ä', 'b'], 'when': 5}
pretty = json.dumps(data, indent=2, ensure_ascii=False)
escaped = json.dumps('Zoë')
fallback = json.dumps({'s': {1, 2}}, default=sorted)
return [{'json': {'pretty': pretty, 'escaped': escaped, 'fallback': fallback}}]
