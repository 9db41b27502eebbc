"""The `alertbot` command line. Commands that do not talk to Telegram never import aiogram."""
