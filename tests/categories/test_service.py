import json

import pytest
from sqlalchemy import select

from app.categories import service
from app.categories.models import Category
from app.errors import Unprocessable


def category(session, code="pothole") -> Category:
    return session.scalar(select(Category).where(Category.code == code))


def test_the_shipped_catalogue_is_grouped_in_display_order(session):
    groups = service.catalogue(session)["groups"]
    assert [g["code"] for g in groups] == [
        "roads",
        "lighting",
        "traffic_signals",
        "cleanliness",
        "green_spaces",
        "snow_ice",
        "safety",
        "other",
    ]
    codes = {c.code for g in groups for c in g["categories"]}
    assert len(codes) == 21
    assert {
        "pothole",
        "streetlight_out",
        "streetlight_day",
        "traffic_light_fault",
        "illegal_dumping",
        "fallen_tree",
        "snow_ice",
        "gas_smell",
        "other",
    } <= codes
    gas = category(session, "gas_smell")
    assert "0 800 47 33 33" in gas.urgent_notice_fr and gas.urgent_notice_en
    assert category(session, "illegal_dumping").photo_required


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        ({}, {"size": ["this question needs an answer"]}),
        ({"size": "huge"}, {"size": ["expected one of: small, medium, large"]}),
        ({"size": "small", "on_cycle_lane": "yes"}, {"on_cycle_lane": ["expected true or false"]}),
        ({"size": "small", "colour": "red"}, {"colour": ["no such question for category pothole"]}),
    ],
)
def test_answers_are_checked_against_the_questions(session, answers, errors):
    with pytest.raises(Unprocessable) as caught:
        service.validate_answers(category(session), answers)
    assert caught.value.errors == {"json": {"answers": errors}}


def test_numbers_texts_and_multiple_choices(session):
    lights = category(session, "streetlight_out")
    assert service.validate_answers(lights, {"how_many": 3, "pole_number": "A12"}) == {
        "how_many": 3,
        "pole_number": "A12",
    }
    for bad, message in [
        ({"how_many": 0}, "must be at least 1"),
        ({"how_many": True}, "expected a number"),
        ({"how_many": float("nan")}, "expected a number"),
        ({"pole_number": "x" * 21}, "at most 20 characters"),
    ]:
        with pytest.raises(Unprocessable) as caught:
            service.validate_answers(lights, bad)
        assert message in json.dumps(caught.value.errors)
    dumping = category(session, "illegal_dumping")
    assert service.validate_answers(dumping, {"waste": ["bulky", "green"]}) == {
        "waste": ["bulky", "green"]
    }
    for bad in (["bulky", "bulky"], ["gold"], "bulky"):
        with pytest.raises(Unprocessable):
            service.validate_answers(dumping, {"waste": bad})


def test_an_inconsistent_definition_is_refused_with_the_fields(session):
    data = {
        "group": "other",
        "name_fr": "X",
        "name_en": "X",
        "icon": "x",
        "urgent_notice_fr": "Appelez",
        "questions": [
            {"code": "a", "type": "single_choice", "label_fr": "A", "label_en": "A", "choices": []},
            {"code": "b", "type": "text", "label_fr": "B", "label_en": "B", "min": 1},
        ],
    }
    with pytest.raises(Unprocessable) as caught:
        service.put_category(session, "x", data)
    errors = caught.value.errors["json"]
    assert errors["questions"] == {
        0: {"choices": ["a choice question needs choices"]},
        1: {"min": ["min and max apply to number questions only"]},
    }
    assert "urgent_notice_en" in errors


def test_export_then_import_is_a_fixed_point(session):
    exported = service.export_catalogue(session)
    counts = service.import_catalogue(session, exported)
    assert counts == {"created": 0, "updated": 21}
    assert service.export_catalogue(session) == exported


def test_seeding_never_overrides_an_admins_edit(session):
    pothole = category(session)
    pothole.name_en = "Road hole"
    session.commit()
    assert service.seed_catalogue(session) == 0
    assert category(session).name_en == "Road hole"


def test_a_bad_import_file_changes_nothing(session):
    with pytest.raises(service.CatalogueFileError):
        service.import_catalogue(session, [{"code": "new_one", "group": "nowhere"}])
    with pytest.raises(service.CatalogueFileError):
        service.import_catalogue(
            session,
            [
                {"code": "ok_one", "group": "other", "name_fr": "A", "name_en": "A", "icon": "a"},
                {
                    "code": "bad",
                    "group": "other",
                    "name_fr": "B",
                    "name_en": "B",
                    "icon": "b",
                    "urgent_notice_fr": "x",
                },
            ],
        )
    assert category(session, "ok_one") is None
