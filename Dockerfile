# alertbot: the bot with its embedded SQLite store. Mount a volume at /data to keep the database.
FROM python:3.11-slim

COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY alertbot ./alertbot
COPY messages ./messages
COPY config.example.toml ./
RUN uv sync --locked --no-dev

RUN useradd --system --home /data alertbot && mkdir -p /data && chown alertbot /data
USER alertbot
WORKDIR /data
# Provide the token with -e ALERTBOT_TELEGRAM_TOKEN=...; mount your config.toml at /data/config.toml.
ENTRYPOINT ["/app/.venv/bin/alertbot"]
CMD ["run"]
