"""Entrypoints of the union medical mutual-aid programme (工会职工医疗互助保障): the CLI, the API server,
migrations and the demo. Nothing below this package imports it."""

__version__ = "0.1.0"
