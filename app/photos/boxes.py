"""A photo's blur boxes as its row keeps them (``photos.boxes``, JSONB): each box of
app.photos.blur with where it came from (a detector, or the desk's hand), who drew it and
when, and, once the desk removed it, who removed it and when. A removed box is kept (the
record of what the desk decided) and no longer blurred, so re-rendering the public files
never brings back a box the desk took away. Pure functions over JSON-ready lists.
"""

from datetime import datetime

from app.photos.blur import Box
from app.photos.models import AUTO, DESK

# The most boxes a photo may have (found and drawn, removed ones included): a street scene
# has a few faces and plates; more is a client's mistake.
MAX_BOXES = 50
# The smallest side of a desk's box, in fractions of the image (a few pixels at 2048).
MIN_SIDE = 0.002
SIDES = ("left", "top", "right", "bottom")


def found(detected: list[Box]) -> list[dict]:
    """The records of the boxes detection found, numbered from 1."""
    return [_record(number, AUTO, box) for number, box in enumerate(detected, start=1)]


def _record(number: int, source: str, box: Box, *, by: str | None = None, at=None) -> dict:
    return {
        "id": number,
        "source": source,
        "kind": box.kind,
        "score": round(float(box.score), 4),
        **{side: round(float(getattr(box, side)), 6) for side in SIDES},
        "drawn_by": by,
        "drawn_at": at.isoformat() if at is not None else None,
        "removed_by": None,
        "removed_at": None,
    }


def active(records: list[dict]) -> list[Box]:
    """The boxes to blur: every box not removed."""
    return [
        Box(*(r[side] for side in SIDES), kind=r["kind"], score=r["score"])
        for r in records
        if r["removed_at"] is None
    ]


def shown(records: list[dict]) -> list[dict]:
    """The records as the API shows them (``active``: blurred now)."""
    return [{**r, "active": r["removed_at"] is None} for r in records]


def inside(box: dict) -> bool:
    """Whether a drawn box ({left, top, right, bottom}) lies within the image: [0, 1]."""
    return all(0.0 <= box[side] <= 1.0 for side in SIDES)


def sized(box: dict) -> bool:
    """Whether a drawn box has a size: right beyond left, bottom beyond top."""
    return box["right"] - box["left"] >= MIN_SIDE and box["bottom"] - box["top"] >= MIN_SIDE


def changed(
    records: list[dict], *, keep: set[int], add: list[dict], actor: str, now: datetime
) -> list[dict] | None:
    """The records once the desk has set the photo's boxes to ``keep`` (ids of boxes it has,
    the others are removed) and ``add`` (new desk boxes, {left, top, right, bottom}); None
    when that is what it already has (nothing to do: a retried request). A new box the
    desk already drew (same sides) is that box: sending the same request twice draws it
    once. Ids unknown to the photo are the caller's to refuse first."""
    now_text = now.isoformat()
    keep = set(keep)
    fresh = []
    for box in add:
        same = next((r for r in records if r["source"] == DESK and _same(r, box)), None)
        if same is None:
            fresh.append(box)
        else:
            keep.add(same["id"])
    out = []
    change = bool(fresh)
    for record in records:
        record = dict(record)
        if record["removed_at"] is None and record["id"] not in keep:
            record.update(removed_by=actor, removed_at=now_text)
            change = True
        elif record["removed_at"] is not None and record["id"] in keep:
            # Put back: the desk blurs it again.
            record.update(removed_by=None, removed_at=None)
            change = True
        out.append(record)
    number = max((r["id"] for r in records), default=0)
    for box in fresh:
        number += 1
        out.append(
            _record(number, DESK, Box(*(box[s] for s in SIDES), kind="desk"), by=actor, at=now)
        )
    return out if change else None


def _same(record: dict, box: dict) -> bool:
    return all(abs(record[side] - round(float(box[side]), 6)) < 1e-9 for side in SIDES)
