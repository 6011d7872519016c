"""`zhikong code`: scheduled transitions, region risk changes, colour profiles."""

from __future__ import annotations

from typing import Annotated

import typer

from zhikong.console import CliError, clock_at, console, engine_from_context, settings_from_context

code_app = typer.Typer(help="Health codes: tick, region risk, profiles.", no_args_is_help=True)


@code_app.command("tick")
def tick(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option("--at", help="Instant to apply (default now).")] = None,
) -> None:
    """Apply time-based transitions (red/yellow → green, expired overrides); safe to rerun."""
    from zhikong.code.notify import notifier_from_settings
    from zhikong.code.policy import ColourPolicy
    from zhikong.code.recolour import tick as run_tick
    from zhikong.store.engine import make_sessionmaker, transaction

    settings = settings_from_context(ctx)
    engine = engine_from_context(ctx)
    clock = clock_at(at)
    policy = ColourPolicy.named(settings.code_profile, settings.timezone)
    with transaction(make_sessionmaker(engine)) as session:
        checked, changed, notices = run_tick(session, clock, policy)
    notifier_from_settings(settings.notifier, settings.notifier_secret).notify(notices)
    console.print(
        f"code tick at {clock.now().isoformat()}: {checked} codes checked, "
        f"{changed} changed colour",
        soft_wrap=True,
    )


@code_app.command("designate")
def designate(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="Region code, e.g. 330382.")],
    level: Annotated[str, typer.Argument(help="low, medium or high.")],
    basis: Annotated[str, typer.Option("--basis", help="Why (notice, decision).")],
    window: Annotated[int, typer.Option("--window", min=1, max=28, help="Days looked back.")] = 14,
) -> None:
    """Change a region's risk level; everyone who was there in the window is recoloured."""
    from zhikong.clock import SystemClock
    from zhikong.code.events import CodeInputError
    from zhikong.code.notify import notifier_from_settings
    from zhikong.code.policy import ColourPolicy
    from zhikong.code.recolour import designate_region
    from zhikong.store.engine import make_sessionmaker, transaction

    if level not in {"low", "medium", "high"}:
        raise CliError("LEVEL must be low, medium or high")
    if len(basis.strip()) < 5:
        raise CliError("--basis must say why (at least 5 characters)")
    settings = settings_from_context(ctx)
    engine = engine_from_context(ctx)
    policy = ColourPolicy.named(settings.code_profile, settings.timezone)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            _, affected, recoloured, notices = designate_region(
                session,
                SystemClock(),
                policy,
                actor="cli:operator",
                region_code=region,
                level=level,
                window_days=window,
                basis=basis,
            )
    except CodeInputError as exc:
        raise CliError(str(exc)) from exc
    notifier_from_settings(settings.notifier, settings.notifier_secret).notify(notices)
    console.print(f"{region} → {level}: {affected} visitors found, {recoloured} recoloured")


@code_app.command("profiles")
def profiles() -> None:
    """List the shipped colour profiles with their release rules."""
    from datetime import date

    from zhikong.code.policy import PROFILES, ColourPolicy, load_profile

    for profile_id in PROFILES:
        document = load_profile(profile_id)
        policy = ColourPolicy.named(profile_id)
        day = max(document.validity.from_, date(2020, 2, 20))
        releases = {
            colour: policy.release_requirements(colour, day)
            for colour in ("red", "orange", "yellow")
        }
        console.print(
            f"[bold]{profile_id}[/] {document.version} — {document.title.zh} · {document.title.en}",
            soft_wrap=True,
        )
        for colour, need in releases.items():
            if any(need.values()):
                console.print(f"  {colour} → green: {need}", soft_wrap=True, highlight=False)
