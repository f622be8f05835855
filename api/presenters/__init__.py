"""Presenters: table rows and task results turned into the public schemas the API (and the CLI) show.

Split by subject; routes never return table models, and no route module holds a presenter another needs.
Every timestamp leaves as aware UTC (SQLite hands them back naive).
"""
