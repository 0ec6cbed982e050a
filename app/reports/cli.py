"""``flask photos bring-in-line``: blur the photos processed before blurring existed, now
(as the worker's sweep does, a batch every ten minutes); ``flask photos delete-withdrawn``:
delete the files queued for deletion."""

import click
from flask.cli import AppGroup

from app.extensions import db
from app.photos import service as photos
from app.reports import photos as report_photos

photos_cli = AppGroup("photos", help="Report photos: blurring the older ones, their files.")


@photos_cli.command("bring-in-line")
@click.option("--batch", default=50, show_default=True, help="Photos per batch.")
def bring_in_line_command(batch: int):
    """Run detection on every ready photo never run through it, keep its unblurred display
    image as its private original and publish it blurred; print how many."""
    total = 0
    while True:
        done = report_photos.bring_in_line(db.session, limit=batch)
        total += done
        if done < batch:
            break
    click.echo(f"{total} photo(s) brought in line")


@photos_cli.command("delete-withdrawn")
def delete_withdrawn_command():
    """Delete the files no photo uses any more (queued by moderation and retention)."""
    total = 0
    while deleted := photos.delete_withdrawn_files(db.session):
        total += deleted
    click.echo(f"{total} file(s) deleted")
