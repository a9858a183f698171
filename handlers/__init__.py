"""What the product does: dispatch, conversations, classification, routing, case lifecycle. No HTTP."""
