# An n8n "Code in Python" node, run once for all items.
# _items holds the input items; return the output items.
total = 0
out = []
for item in _items:
    order = item["json"]
    amount = order["quantity"] * order["unit_price"]
    total += amount
    out.append({"json": {"id": order["id"], "customer": order["customer"].title(), "amount": round(amount, 2)}})

print(f"{len(out)} orders, {total:.2f} in total")
return sorted(out, key=lambda entry: entry["json"]["amount"], reverse=True)
