"""`zhikong economy`: the resumption power index."""

from __future__ import annotations

import typer

economy_app = typer.Typer(
    help="经济 · economy: the resumption power index (企业复工电力指数).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
