"""``flask workload check [--repair]``: the counters of open work against a fresh count."""

import click
from flask.cli import AppGroup

from app.extensions import db
from app.workload import service

workload_cli = AppGroup("workload", help="The counters of open work (crews, desks).")


@workload_cli.command("check")
@click.option("--repair", is_flag=True, help="Set each drifted counter to the fresh count.")
def check(repair: bool):
    """Compare every crew's and desk's counter with a fresh count of the reports; exits 1
    when one drifted and was not repaired."""
    found = service.check(db.session, repair=repair)
    for drift in found:
        where = drift.get("crew") or f"{drift['desk']} {drift['status']}"
        click.echo(f"{where}: counter {drift['counted']}, fresh count {drift['fresh']}")
    if not found:
        click.echo("counters of open work: all equal to a fresh count")
    elif repair:
        click.echo(f"{len(found)} counter(s) repaired")
    else:
        raise click.exceptions.Exit(1)
