"""The innermost layer: domain types, errors, clocks and pure time rules. Imports nothing of alertbot."""
