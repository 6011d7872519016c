"""`zhikong users`: staff accounts created from the command line."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from zhikong.console import CliError, console, engine_from_context

users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@users_app.command("create-admin")
def users_create_admin(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name of the new administrator.")],
    region: Annotated[
        str | None, typer.Option("--region", help="Limit the admin to a region (code).")
    ] = None,
) -> None:
    """Create an administrator; the password is read from ZHIKONG_ADMIN_PASSWORD or a prompt."""
    from zhikong.auth.service import InvalidRequestError, bootstrap_admin
    from zhikong.clock import SystemClock
    from zhikong.store.engine import make_sessionmaker, transaction

    password = os.environ.get("ZHIKONG_ADMIN_PASSWORD") or ""
    if not password:
        if not sys.stdin.isatty():
            raise CliError("set ZHIKONG_ADMIN_PASSWORD (no terminal to prompt on)")
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise CliError("the password must have at least 12 characters")
    engine = engine_from_context(ctx)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            user = bootstrap_admin(
                session, SystemClock(), username=username, password=password, region_code=region
            )
    except InvalidRequestError as exc:
        raise CliError(f"{exc.field}: {exc}") from exc
    console.print(f"administrator {username} created (id {user.id})")
