"""`python -m alertbot` runs the command line."""

from alertbot.cli import main

main()
