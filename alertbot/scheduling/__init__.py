"""Seasonal reminder campaigns: cron schedules, exactly-once occurrences, quiet hours, acknowledgements."""
