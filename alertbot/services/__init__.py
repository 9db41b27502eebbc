"""Domain services: the rules of alertbot, independent of Telegram and of SQL."""
