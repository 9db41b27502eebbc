"""Tests of the Bot API double, :mod:`alertbot.sandbox.botapi` (the sandbox's local server, which the tests drive)."""
