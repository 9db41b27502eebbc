"""Inline keyboards, built from the person's language and the configured districts.

`common` holds the builders every keyboard uses and the residents' keyboards; `alert` and `campaign` the
officials' flows. What a keyboard offers is a convenience, never a permission: handlers and services
re-check every tap.
"""
