# syntax=docker/dockerfile:1
# alertbot: the bot in a small image without uv, running as a non-root user.
#   docker build -t alertbot .
#   docker run -e ALERTBOT_TELEGRAM_TOKEN=123456:ABC... -e ALERTBOT_CONFIG=/config/config.toml \
#       -v "$PWD/config.toml:/config/config.toml:ro" -v alertbot-data:/data alertbot
# Pass secrets in the environment (ALERTBOT_TELEGRAM_TOKEN, ALERTBOT_WEBHOOK_SECRET, ALERTBOT_STORAGE_URL,
# ALERTBOT_REDIS_URL), never in the image or the config file. The config is read from $ALERTBOT_CONFIG, else
# /data/config.toml; in a container its [server] host must be "0.0.0.0". With the embedded SQLite store
# (sqlite:///alertbot.db, relative to /data) the volume at /data keeps the database.
# docker-compose.yml runs the production setup (README: "Running in production").

# Both stages use the same Python image: the venv's interpreter links to /usr/local/bin/python3.11.
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: resolve and install the locked dependencies and the app into /app/.venv -----------------------
FROM ${PYTHON_IMAGE} AS builder

COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev --no-install-project
COPY alertbot ./alertbot
COPY messages ./messages
COPY config.example.toml ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev \
    && .venv/bin/python -m compileall -q alertbot

# --- runtime: the venv and the app, nothing else -------------------------------------------------------------
FROM ${PYTHON_IMAGE}

# MPLCONFIGDIR: matplotlib's font cache, outside the data volume (built at the first chart).
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/app/.venv/bin:$PATH MPLCONFIGDIR=/tmp/matplotlib

# A CJK font for the /stats chart's Chinese labels (without one it is drawn with the districts' English names).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --user-group --uid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin alertbot \
    && mkdir -p /data && chown alertbot:alertbot /data

# Same paths as in the builder (the venv's scripts and the project's install point at /app). Owned by root:
# the bot cannot change its own code.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/alertbot /app/alertbot
COPY --from=builder /app/messages /app/messages
COPY --from=builder /app/config.example.toml /app/config.example.toml

USER alertbot
WORKDIR /data

# [server] port: /healthz, /readyz, /metrics and, in webhook mode, the webhook path.
EXPOSE 8080
# On SIGTERM the bot stops taking updates, lets in-flight work finish within [server] stop_timeout (10 s)
# and releases the dispatch lease. Give the container longer than that to stop (compose: stop_grace_period).
STOPSIGNAL SIGTERM
# Ready = the database answers, migrations are current and, on the lease holder, the sender runs.
# Python's stdlib, as slim images have no curl. Assumes [server] enabled = true and port = 8080.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=3).status == 200 else 1)"]

ENTRYPOINT ["/app/.venv/bin/alertbot"]
CMD ["run"]
