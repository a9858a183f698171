"""Points that residents, volunteers and grid workers earn (`ledger`: awards, penalties, balances,
rankings) and spend at the points shop (`shop`: items, 兑换 with a pickup code, 核销, volunteer hours)."""
