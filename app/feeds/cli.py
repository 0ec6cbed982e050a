"""``flask feeds add|list|poll``: the feed registry from the command line (the demo feeds:
``python -m tools.demo feeds demo``)."""

import click
from flask import current_app
from flask.cli import AppGroup

from app import i18n
from app.errors import Problem
from app.extensions import db
from app.feeds import formats, service

feeds_cli = AppGroup("feeds", help="City sensor feeds: registry, health, polling.")


@feeds_cli.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(formats.KINDS), required=True)
@click.option("--format", "format_", type=click.Choice(formats.NAMES), required=True)
@click.option("--url", required=True, help="http(s) URL of the broker query or document")
@click.option("--interval", type=click.IntRange(10, 86400), default=60, show_default=True)
@click.option("--freshness", type=click.IntRange(10, 7 * 86400), default=600, show_default=True)
@click.option("--disabled", is_flag=True, help="Register it without polling it")
@click.option("--subscribe", is_flag=True, help="Also receive its broker's notifications (ngsi-ld)")
def add(name, kind, format_, url, interval, freshness, disabled, subscribe):
    """Create or replace the feed NAME (idempotent)."""
    from app.feeds.schemas import FeedNamePathSchema

    if FeedNamePathSchema().validate({"name": name}):
        raise click.BadParameter(
            "lowercase letters, digits and dashes, 63 at most", param_hint="NAME"
        )
    data = {
        "kind": kind,
        "format": format_,
        "source_url": url,
        "poll_interval_seconds": interval,
        "freshness_limit_seconds": freshness,
        "enabled": not disabled,
        "subscribe": subscribe,
    }
    try:
        _feed, created = service.put_feed(db.session, name, data)
    except Problem as exc:
        db.session.rollback()
        raise click.ClickException(i18n.message(exc.code, "en", **exc.params)) from exc
    click.echo(f"feed {name}: {'created' if created else 'updated'}")


@feeds_cli.command("list")
def list_feeds():
    """Every feed with its health."""
    for feed in service.list_feeds(db.session):
        state = (
            "disabled" if not feed.enabled else ("failing" if feed.consecutive_failures else "ok")
        )
        last = (
            feed.last_success_at.isoformat(timespec="seconds") if feed.last_success_at else "never"
        )
        line = (
            f"{feed.name}  {feed.kind}  {feed.format}  every {feed.poll_interval_seconds}s  "
            f"{state}  last success: {last}  seen: {feed.entities_seen}  "
            f"skipped: {feed.entities_skipped}  failures: {feed.consecutive_failures}"
        )
        if feed.consecutive_failures:
            line += f"  last error: {feed.last_error_code}: {feed.last_error}"
        click.echo(line)


@feeds_cli.command("poll")
@click.argument("name")
def poll(name):
    """Poll the feed NAME now, here, and print what it read (exit 1 if the poll failed)."""
    try:
        feed = service.get_feed(db.session, name)
    except Problem as exc:
        raise click.ClickException(i18n.message(exc.code, "en", **exc.params)) from exc
    limits = service.PollLimits.from_config(current_app.config)
    outcome = service.poll_feed(db.session, feed.id, limits=limits)
    click.echo(
        f"feed {name}: {outcome['status']}, {outcome['seen']} entities seen, "
        f"{outcome['skipped']} skipped, {outcome['changed']} changed"
    )
    if outcome["status"] != "ok":
        feed = service.get_feed(db.session, name)
        raise click.ClickException(f"{feed.last_error_code}: {feed.last_error}")
