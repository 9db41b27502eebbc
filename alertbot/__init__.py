"""alertbot: gas-safety warnings and reminder campaigns over Telegram."""
