"""A case's public progress page (`/p/<token>.<signature>`, routes.py) and its link signer (links.py)."""
