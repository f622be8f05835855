"""Benefit rules per policy year (show, change, versions) and quotes."""

from __future__ import annotations

import typer

rules = typer.Typer(help="The benefit rules of a policy year.", no_args_is_help=True)
