"""What the command modules share: a domain error as a message and exit code 1, and the progress bar.

Imports of the application happen inside the commands, so `mutualaid --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.progress import Progress


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a domain error into its message on stderr and exit code 1 (no traceback)."""
    from models.errors import DomainError

    try:
        yield
    except DomainError as exc:
        typer.secho(f"错误：{exc.message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def progress_bar(*, in_bytes: bool) -> Progress:
    """A rich progress bar: bytes read of a known total, or a running count when the total is unknown."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    amount = DownloadColumn() if in_bytes else MofNCompleteColumn()
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), amount, TimeElapsedColumn())
