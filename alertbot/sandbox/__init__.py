"""The sandbox: the whole system offline, for trying alertbot, demos and drills (``alertbot sandbox``).

A local Bot API server (:mod:`alertbot.sandbox.botapi`) with a simulated population, the real bot pointed at it,
and a browser chat page. Nothing in it can reach Telegram, and its database is never the production one.
"""
