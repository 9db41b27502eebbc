"""What people read: Fluent translations, the vetted message templates and Telegram-HTML checks."""
