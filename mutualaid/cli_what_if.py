"""What-if: a policy year's claims re-run under changed rules."""

from __future__ import annotations

import typer

what_if = typer.Typer(help="Re-run a policy year's claims under changed rules.", no_args_is_help=True)
