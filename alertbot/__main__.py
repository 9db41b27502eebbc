"""`python -m alertbot` runs the command line."""

from alertbot.cli.main import main

main()
