# description: re.sub with backreferences and a replacement function
# allow: re
# mode: all
# items: [{"json": {"d": "2024-03-15"}}, {"json": {"d": "due 1999-12-31!"}}]
# expect: [{"json": {"dates": ["15.03.2024", "due 31.12.1999!"], "shout": "Make Every Word Start Big"}}]
import re
dates = [re.sub(r'(\d{4})-(\d{2})-(\d{2})', r'\3.\2.\1', item['json']['d']) for item in _items]
shout = re.sub(r'\b(\w)', lambda m: m.group(1).upper(), 'make every word start big')
return [{'json': {'dates': dates, 'shout': shout}}]
