"""The bot process's HTTP server: liveness, readiness and Prometheus metrics (later: the HTTP API)."""
