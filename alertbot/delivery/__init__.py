"""Getting queued deliveries to Telegram: the outbox sender, the token's pace, the dispatch lease, the scheduler."""
