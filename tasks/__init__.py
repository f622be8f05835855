"""The domain's units of work, one sub-package per step of the programme (plus `letters` and `common`).

Functions take a keyword-only `session` and flush; the caller (a route, a flow task, a CLI command) owns the
commit. They import only `core`, `models` and their own package's `common`.
"""
