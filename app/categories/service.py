"""Use cases of the category catalogue, and checking residents' answers against it."""

import json
import math
from pathlib import Path

import marshmallow as ma
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.categories.models import GROUPS, Category
from app.categories.schemas import CategoryFileItemSchema
from app.errors import NotFound, Unprocessable

DEFAULT_CATALOGUE_FILE = Path(__file__).resolve().parents[2] / "data" / "categories.json"
FIELDS = tuple(CategoryFileItemSchema().fields)


class CatalogueFileError(Exception):
    """The catalogue file is not valid; nothing was imported."""


def catalogue(session: Session, *, include_inactive: bool = False) -> dict:
    """The categories grouped as residents see them, in display order."""
    query = select(Category).order_by(Category.position, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    by_group: dict[str, list[Category]] = {}
    for category in session.scalars(query):
        by_group.setdefault(category.group, []).append(category)
    return {
        "groups": [
            {"code": code, "name_fr": fr, "name_en": en, "categories": by_group[code]}
            for code, (fr, en) in GROUPS.items()
            if code in by_group
        ]
    }


def get_category(session: Session, code: str, *, active_only: bool = True) -> Category:
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None or (active_only and not category.active):
        raise NotFound("category_not_found", code=code)
    return category


def put_category(session: Session, code: str, data: dict) -> tuple[Category, bool]:
    """Create or replace a category; returns it and whether it was created."""
    category, created = _upsert(session, code, data)
    session.commit()
    return category, created


def import_catalogue(session: Session, items: list) -> dict:
    """Upsert every category of ``items`` (already-parsed JSON) in one transaction.

    Categories absent from the file are kept: reports refer to them (deactivate instead).
    """
    try:
        loaded = CategoryFileItemSchema(many=True).load(items)
    except ma.ValidationError as exc:
        raise CatalogueFileError(json.dumps(exc.messages, ensure_ascii=False)) from exc
    codes = [item["code"] for item in loaded]
    if len(codes) != len(set(codes)):
        raise CatalogueFileError("a category code appears twice")
    counts = {"created": 0, "updated": 0}
    for item in loaded:
        code = item.pop("code")
        try:
            _, created = _upsert(session, code, item)
        except Unprocessable as exc:
            session.rollback()
            raise CatalogueFileError(
                f"{code}: {json.dumps(exc.errors, ensure_ascii=False)}"
            ) from exc
        counts["created" if created else "updated"] += 1
    session.commit()
    return counts


def import_catalogue_file(session: Session, path: Path = DEFAULT_CATALOGUE_FILE) -> dict:
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueFileError(f"{path}: {exc}") from exc
    if not isinstance(items, list):
        raise CatalogueFileError(f"{path}: expected a JSON list of categories")
    return import_catalogue(session, items)


def seed_catalogue(session: Session, path: Path = DEFAULT_CATALOGUE_FILE) -> int:
    """Import the default catalogue into an empty table; returns how many were created.

    Once categories exist they are admins' data: running this again changes nothing.
    """
    if session.scalar(select(Category.id).limit(1)) is not None:
        return 0
    return import_catalogue_file(session, path)["created"]


def export_catalogue(session: Session) -> list[dict]:
    """Every category, active or not, in the import file format."""
    categories = session.scalars(select(Category).order_by(Category.position, Category.code))
    return CategoryFileItemSchema(many=True).dump(list(categories))


def check_definition(data: dict) -> None:
    """Rules across fields of a category definition (422 invalid_category with the fields)."""
    errors: dict = {}
    questions = data.get("questions") or []
    codes = [q["code"] for q in questions]
    by_index = {i: p for i, q in enumerate(questions) if (p := _question_problems(q))}
    if len(codes) != len(set(codes)):
        errors["questions"] = ["question codes must be unique"]
    elif by_index:
        errors["questions"] = by_index
    if bool(data.get("urgent_notice_fr")) != bool(data.get("urgent_notice_en")):
        errors["urgent_notice_en"] = ["give the urgent notice in both languages"]
    if errors:
        raise Unprocessable("invalid_category", errors={"json": errors})


def _question_problems(question: dict) -> dict:
    problems: dict[str, list[str]] = {}
    choices = question.get("choices") or []
    if question["type"] in ("single_choice", "multiple_choice"):
        keys = [c["key"] for c in choices]
        if not keys:
            problems["choices"] = ["a choice question needs choices"]
        elif len(keys) != len(set(keys)):
            problems["choices"] = ["choice keys must be unique"]
    elif choices:
        problems["choices"] = ["only choice questions have choices"]
    low, high = question.get("min"), question.get("max")
    if question["type"] != "number" and (low is not None or high is not None):
        problems["min"] = ["min and max apply to number questions only"]
    elif low is not None and high is not None and low > high:
        problems["min"] = ["min is greater than max"]
    return problems


def _upsert(session: Session, code: str, data: dict) -> tuple[Category, bool]:
    check_definition(data)
    category = session.scalar(select(Category).where(Category.code == code))
    created = category is None
    if created:
        category = Category(code=code)
        session.add(category)
    for field in FIELDS:
        if field != "code" and field in data:
            setattr(category, field, data[field])
    session.flush()
    return category, created


# --- answers -----------------------------------------------------------------------------


def validate_answers(category: Category, answers: dict) -> dict:
    """The answers, checked against the category's questions (422 with errors per question)."""
    errors: dict[str, list[str]] = {}
    clean = {}
    questions = {q["code"]: q for q in category.questions or []}
    for code in answers:
        if code not in questions:
            errors[code] = [f"no such question for category {category.code}"]
    for code, question in questions.items():
        value = answers.get(code)
        if value is None or value == "" or value == []:
            if question.get("required"):
                errors[code] = ["this question needs an answer"]
            continue
        problem = _check(question, value)
        if problem:
            errors[code] = [problem]
        else:
            clean[code] = value
    if errors:
        raise Unprocessable("invalid_answers", errors={"json": {"answers": errors}})
    return clean


def _check(question: dict, value) -> str | None:
    kind = question["type"]
    if kind == "text":
        if not isinstance(value, str):
            return "expected text"
        limit = question.get("max_length") or 2000
        return f"at most {limit} characters" if len(value) > limit else None
    if kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return "expected a number"
        low, high = question.get("min"), question.get("max")
        if low is not None and value < low:
            return f"must be at least {low:g}"
        if high is not None and value > high:
            return f"must be at most {high:g}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else "expected true or false"
    keys = [c["key"] for c in question.get("choices") or []]
    if kind == "single_choice":
        return None if value in keys else f"expected one of: {', '.join(keys)}"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "expected a list of choices"
    if len(set(value)) != len(value):
        return "a choice is repeated"
    unknown = [v for v in value if v not in keys]
    return (
        f"unknown choices: {', '.join(unknown)}; expected among: {', '.join(keys)}"
        if (unknown)
        else None
    )
