"""Everything that speaks Telegram: the bot and dispatcher factories, routers, keyboards, middlewares."""
