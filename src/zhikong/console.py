"""CLI plumbing every `zhikong` sub-command shares: errors, output, global options, progress.

The sub-CLIs (`audit`, `code`, `map`, `trace`, ...) import from here; `zhikong.cli` only
assembles them. Heavy modules (SQLAlchemy engines, the key directory) are imported inside the
helpers so that the command starts fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from zhikong.config import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from zhikong.clock import Clock
    from zhikong.keys import FileKeyStore

console = Console()
errors = Console(stderr=True)

AtOption = Annotated[str | None, typer.Option("--at", help="Instant to act at (default now).")]


class CliError(Exception):
    """A problem with what the user asked for: one line on stderr, exit code 2."""


@dataclass
class State:
    """Options given before the command."""

    database_url: str | None = None
    var_dir: Path | None = None
    log_level: str | None = None
    key_dir: Path | None = None
    prepare: Callable[[], None] | None = None
    """Run before a command first opens the database (the CLI root connects the domains)."""

    def settings(self, **more: object) -> Settings:
        """Settings from the environment with the CLI flags on top."""
        return load_settings(
            database_url=self.database_url,
            var_dir=self.var_dir,
            log_level=self.log_level,
            key_dir=self.key_dir,
            **more,
        )


def state_of(ctx: typer.Context) -> State:
    """The global options of the running command (defaults when none were given)."""
    state = ctx.obj
    if not isinstance(state, State):
        state = State()
    return state


def engine_for(settings: Settings) -> Engine:
    """A database engine for the settings (no schema check)."""
    from zhikong.store.engine import make_engine

    return make_engine(settings.resolved_database_url, echo=settings.sql_echo)


def settings_from_context(ctx: typer.Context) -> Settings:
    """Settings in force for a command: environment plus the global CLI flags."""
    return state_of(ctx).settings()


def require_current_schema(engine: Engine) -> None:
    """CliError unless the database schema is at the code's newest revision."""
    from zhikong.store import migrate

    if not migrate.is_up_to_date(engine):
        raise CliError("the database schema is not current; run: zhikong db upgrade")


def engine_from_context(ctx: typer.Context, *, migrated: bool = True) -> Engine:
    """The database engine for a command; with `migrated`, refuse an out-of-date schema."""
    state = state_of(ctx)
    if state.prepare is not None:
        state.prepare()
    engine = engine_for(state.settings())
    if migrated:
        require_current_schema(engine)
    return engine


def keystore_from_context(ctx: typer.Context) -> FileKeyStore:
    """The key directory for a command (CliError when missing or unsafe)."""
    from zhikong.keys import FileKeyStore, KeyDirectoryError

    try:
        return FileKeyStore.load(settings_from_context(ctx).resolved_key_dir)
    except KeyDirectoryError as exc:
        raise CliError(str(exc)) from exc


def clock_at(at: str | None) -> Clock:
    """The clock a command acts at: the system clock, or one fixed at an ISO-8601 instant."""
    from zhikong.clock import FixedClock, SystemClock

    if at is None:
        return SystemClock()
    try:
        instant = datetime.fromisoformat(at)
    except ValueError:
        raise CliError(f"--at must be an ISO-8601 instant, not {at!r}") from None
    if instant.tzinfo is None:
        raise CliError("--at needs a time zone, e.g. 2020-02-20T08:00:00+08:00")
    return FixedClock(instant)


def say(message: str, *, emoji: bool = True) -> None:
    """Print one plain message (no markup, no highlighting) on standard output."""
    console.print(message, markup=False, highlight=False, emoji=emoji, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Print `zhikong: error: <message>` on stderr and exit with code 2."""
    errors.print(f"zhikong: error: {message}", highlight=False, soft_wrap=True)
    raise SystemExit(2)


class RichProgress:
    """Rich progress bars for long steps (the demo build)."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, step: str, total: int | None) -> None:
        """Show a new step."""
        self._task = self._progress.add_task(step, total=total)

    def advance(self, amount: int) -> None:
        """Move the current step's bar."""
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        """Mark the current step as complete."""
        if self._task is not None:
            task = self._progress.tasks[self._task]
            if task.total is None:
                self._progress.update(self._task, total=1, completed=1)
            else:
                self._progress.update(self._task, completed=task.total)
        self._task = None


class Spinner:
    """A transient spinner around a short step."""

    def __init__(self, label: str) -> None:
        self._status = console.status(label)

    def __enter__(self) -> None:
        self._status.start()

    def __exit__(self, *exc: object) -> None:
        self._status.stop()
