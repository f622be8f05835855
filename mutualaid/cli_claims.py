"""Claims at the service desk: file a claim with its documents, add documents, list and fetch them."""

from __future__ import annotations

import typer

claim = typer.Typer(help="File claims with their documents.", no_args_is_help=True)
