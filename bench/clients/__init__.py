"""The benchmark's own clients, each run as `python -m bench.clients.NAME SPEC.json` in a process of its own:
they read their job from the JSON file, wait for the driver's go, send to the double, and write what they
counted (see `runtime.main`)."""
