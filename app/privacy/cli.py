"""``flask privacy retention [--dry-run]``: apply the retention schedule now, here (as the
worker does nightly), or say what it would delete."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.privacy import retention

privacy_cli = AppGroup("privacy", help="Personal data: the retention schedule.")


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
def retention_command(dry_run: bool):
    """Delete or clear the personal data past its delay, rule by rule, and print the counts."""
    try:
        configured = retention.delays(current_app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    done = retention.run(db.session, current_app.config, dry_run=dry_run)
    verb = {"delete": "deleted", "clear": "cleared"}
    for rule in retention.SCHEDULE:
        count = done.counts[rule.name]
        said = f"would be {verb[rule.action]}" if dry_run else verb[rule.action]
        click.echo(
            f"{rule.name}: {count} {said} ({_days(configured[rule.name])} after "
            f"{rule.counted_from['en']})"
        )
    click.echo(f"retention run {done.id}{' (dry run: nothing changed)' if dry_run else ''}")


def _days(delay) -> str:
    days = delay.total_seconds() / 86400
    return f"{days:g} day{'s' if days != 1 else ''}"
