"""Demo and benchmark data, loaded into the database the service is configured for
(``DATABASE_URL``), as `make run` and the benchmarks load it:

    python -m tools.demo routing seed                  # demo routing rules and crews
    python -m tools.demo assets generate [--if-empty]  # the demo equipment register
    python -m tools.demo reports generate COUNT        # realistic reports in bulk
    python -m tools.demo feeds demo --base-url URL     # the feed simulator's feeds
    python -m tools.demo staff seed                    # demo staff accounts (demo-*)
    python -m tools.demo history generate [--if-empty] # a worked 90-day history of reports

The commands are Flask CLI groups run against ``create_app()``, like ``flask --app wsgi``'s,
but they are not the service's: nothing in production needs them.
"""

import click
from flask.cli import AppGroup, ScriptInfo
from sqlalchemy import func, select

from app import create_app, i18n
from app.errors import Problem
from app.extensions import db

routing_cli = AppGroup("routing", help="The demo organisation (routing rules, crews).")
assets_cli = AppGroup("assets", help="The demo equipment register.")
reports_cli = AppGroup("reports", help="Generated reports (benchmarks, demos).")
feeds_cli = AppGroup("feeds", help="The demo feed simulator's feeds.")
staff_cli = AppGroup("staff", help="The demo staff accounts (uids demo-*).")
history_cli = AppGroup("history", help="The demo history of reports the console shows.")


@routing_cli.command("seed")
def seed_routing():
    """Load the demo routing rules and crews, each only if none exist yet."""
    from tools.generators import organisation

    rules = organisation.seed_rules(db.session)
    crews = organisation.seed_crews(db.session)
    click.echo(f"routing rules: {rules or 'kept as edited'}; crews: {crews or 'kept as edited'}")


@assets_cli.command("generate")
@click.option("--seed", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when assets already exist")
def generate_assets(seed: int, if_empty: bool):
    """Insert the demo equipment of Dijon Métropole (deterministic, idempotent)."""
    from app.assets.models import Asset
    from tools.generators.assets import TOTAL, generate

    if if_empty and db.session.scalar(select(Asset.id).limit(1)) is not None:
        click.echo("assets: kept (already loaded)")
        return
    with click.progressbar(length=TOTAL, label="assets") as bar:
        previous = 0
        for done in generate(db.session, seed=seed):
            bar.update(done - previous)
            previous = done
    count = db.session.scalar(select(func.count()).select_from(Asset))
    click.echo(f"assets: {count} in the register")


@reports_cli.command("generate")
@click.argument("count", type=click.IntRange(1, 10_000_000))
@click.option("--seed", default=1, show_default=True)
def generate_reports(count: int, seed: int):
    """Insert COUNT realistic reports inside the service area (benchmarks, demos)."""
    from tools.generators.reports import generate

    with click.progressbar(length=count, label="reports") as bar:
        previous = 0
        for done in generate(db.session, count, seed=seed):
            bar.update(done - previous)
            previous = done


@feeds_cli.command("demo")
@click.option(
    "--base-url",
    required=True,
    help="The feed simulator's address (python -m tools.simulator), e.g. http://127.0.0.1:8001",
)
def register_demo_feeds(base_url):
    """Register the feed simulator's feeds, one per entity type, and remove the demo feeds
    they replaced (idempotent)."""
    from app.feeds import service
    from tools.simulator import DEMO_FEEDS, RETIRED_DEMO_FEEDS

    retired = service.list_feeds(db.session)
    for feed in (feed for feed in retired if feed.name in RETIRED_DEMO_FEEDS):
        service.delete_feed(db.session, feed.name)
        click.echo(f"feed {feed.name}: removed (replaced)")
    for feed in DEMO_FEEDS:
        try:
            _feed, created = service.put_feed(db.session, feed.name, feed.definition(base_url))
        except Problem as exc:
            db.session.rollback()
            raise click.ClickException(i18n.message(exc.code, "en", **exc.params)) from exc
        click.echo(f"feed {feed.name}: {'created' if created else 'updated'}")


@staff_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when demo accounts exist")
def seed_staff(if_empty: bool):
    """Create or put back the demo staff accounts: an agent per desk, a supervisor, an admin
    and a member of each crew (idempotent)."""
    from tools.generators import staff

    if if_empty and staff.exist(db.session):
        click.echo("staff: kept (demo accounts exist)")
        return
    for account in staff.seed_staff(db.session):
        where = ", ".join(account.desks) or account.crew or "-"
        click.echo(f"{account.uid}: {account.role.value} ({where})")


@history_cli.command("generate")
@click.option("--size", type=click.IntRange(10, 100_000), default=3000, show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=90, show_default=True)
@click.option("--seed", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when a demo history is there")
def generate_history(size: int, days: int, seed: int, if_empty: bool):
    """Write a history of SIZE residents' reports over the last DAYS days, worked by the
    demo staff (seeded first when there is no demo account), in one transaction."""
    import time

    from tools.generators import history, staff

    if not staff.exist(db.session):
        accounts = staff.seed_staff(db.session)
        click.echo(f"staff: {len(accounts)} demo accounts (demo-*)")
    if if_empty and not history.is_empty(db.session):
        click.echo("history: kept (already loaded)")
        return
    started = time.monotonic()
    try:
        counts = history.generate(db.session, size=size, days=days, seed=seed)
    except history.Empty as exc:
        raise click.ClickException(str(exc)) from exc
    states = ", ".join(f"{state} {n}" for state, n in counts.pop("by_status").items())
    figures = ", ".join(f"{n} {what}" for what, n in counts.items())
    click.echo(f"history: {figures} in {time.monotonic() - started:.1f} s ({states})")


cli = click.Group(
    "tools.demo",
    help="Demo and benchmark data, loaded into the database the service is configured for "
    "(DATABASE_URL), as `make run` and the benchmarks load it.",
)
for group in (routing_cli, assets_cli, reports_cli, feeds_cli, staff_cli, history_cli):
    cli.add_command(group)


def main() -> None:
    """Run a command on the app ``create_app()`` builds (tests pass their own app instead)."""
    cli.main(obj=ScriptInfo(create_app=create_app), prog_name="python -m tools.demo")


if __name__ == "__main__":
    main()
