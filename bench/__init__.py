"""alertbot's benchmarks: `uv run --group bench python -m bench [CASE ...] [--quick]` (see bench/README.md).

Each case starts the Bot API test double in this process and the client it measures (`alertbot run`, or a
bare aiogram loop, or another broadcast library) in a process of its own, and reports ratios measured
within one run: absolute times drift on shared machines.
"""
