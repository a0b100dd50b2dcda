"""Commands that add carriers: `add` (by DOT number) and `seed-demo` (sample carriers)."""

from __future__ import annotations

from typing import Any

import click
from bson import ObjectId

from fmcsa_tui.cli.common import (
    Abort,
    command_settings,
    opened,
    refuse_read_only,
    run_command,
    say,
    store_option,
)
from fmcsa_tui.models import (
    parse_dot,
)
from fmcsa_tui.store import NewCompany, StoreError
from fmcsa_tui.store.seed import demo_documents


@click.command("seed-demo")
@click.option("--companies", "count", type=click.IntRange(1, 1_000_000), default=200,
              show_default=True, help="How many sample carriers to add")  # fmt: skip
@store_option
def seed_demo(count: int, store_url: str | None) -> None:
    """Add sample carriers (varied names, some never synced) to the store."""
    settings = command_settings(store=store_url)
    refuse_read_only(settings, "add sample carriers")

    async def seed() -> tuple[int, str]:
        async with opened(settings) as store:
            return await store.insert_documents(demo_documents(count)), store.description

    try:
        added, where = run_command(seed())
    except StoreError as error:
        raise Abort(str(error)) from None
    say(f"added {added} sample carriers to {where}")


@click.command()
@click.argument("dots", nargs=-1, required=True, metavar="DOT [DOT ...]")
@click.option("--name", help="Carrier name (only with one DOT; else filled on first sync)")
@click.option("--mc", "mc_number", help="MC number (only with one DOT)")
@click.option("--owner", metavar="OBJECTID",
              help="ownerId of the new companies (required on MongoDB, as the backend's "
              "schema requires it)")  # fmt: skip
@store_option
def add(
    dots: tuple[str, ...],
    name: str | None,
    mc_number: str | None,
    owner: str | None,
    store_url: str | None,
) -> None:
    """Add carriers by DOT number; an existing DOT is reported, not duplicated."""
    settings = command_settings(store=store_url)
    refuse_read_only(settings, "add carriers")
    normalized = []
    for dot in dots:
        clean = parse_dot(dot, new=True)
        if clean is None:
            raise Abort(f"malformed DOT number {dot!r}: expected 5 to 8 digits")
        normalized.append(clean)
    if (name or mc_number) and len(normalized) > 1:
        raise Abort("--name and --mc apply to one DOT number at a time")
    extra: dict[str, Any] = {}
    if owner is not None:
        if not ObjectId.is_valid(owner):
            raise Abort(f"--owner must be a 24-character hex ObjectId, not {owner!r}")
        extra["ownerId"] = ObjectId(owner)
    companies = [
        NewCompany(dot_number=dot, name=name or "", mc_number=mc_number, extra=extra)
        for dot in dict.fromkeys(normalized)
    ]

    async def insert() -> tuple[list[str], list[str]]:
        async with opened(settings) as store:
            result = await store.add_companies(companies)
            return result.added, result.existing

    try:
        added, existing = run_command(insert())
    except StoreError as error:
        raise Abort(str(error)) from None
    for dot in added:
        say(f"added DOT {dot}")
    for dot in existing:
        say(f"DOT {dot} is already in the store; left as it is")
