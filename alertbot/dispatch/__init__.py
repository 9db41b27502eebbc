"""Delivery: the dispatcher that empties the outbox at the token's pace, and the progress reporter."""
