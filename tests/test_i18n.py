"""Every error code the code can raise has a French and an English message."""

import ast
from pathlib import Path

from app import errors, i18n
from app.ops import gunicorn_errors
from app.triage import transitions

APP = Path(__file__).resolve().parents[1] / "app"
PROBLEM_CLASSES = {"Problem", "NotFound", "Unauthorized", "Forbidden", "Conflict", "Unprocessable"}


def raised_codes() -> set[str]:
    codes = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in PROBLEM_CLASSES
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(node.args[0].value)
            # A handler answering directly, as the limiter's own 429 does.
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "problem_response"
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
            ):
                codes.add(node.args[1].value)
    # The 409 of a transition's time limit is named by the table (app/triage/transitions.py).
    codes |= {w.problem for t in transitions.TABLE.values() for w in t.windows.values()}
    return codes


def test_every_raised_code_has_both_languages():
    codes = (
        raised_codes()
        | set(errors._HTTP_CODES.values())
        | set(gunicorn_errors.CODES.values())
        | {
            "validation_failed",
            "malformed_json",
            "internal_error",
            "service_unavailable",
            "authentication_required",
        }
    )
    assert {"unknown_crew", "unknown_desk", "role_assignment_invalid"} <= codes
    for code in codes:
        assert set(i18n.MESSAGES[code]) == {"fr", "en"}, code


def test_no_message_is_left_without_a_code_that_uses_it():
    used = (
        raised_codes()
        | set(errors._HTTP_CODES.values())
        | set(gunicorn_errors.CODES.values())
        | {"validation_failed", "malformed_json", "internal_error", "service_unavailable"}
    )
    assert set(i18n.MESSAGES) - used == set()


def test_placeholders_are_filled_in_both_languages():
    assert "7" in i18n.message("unknown_crew", "fr", code="7")
    assert "7" in i18n.message("unknown_crew", "en", code="7")


def test_a_parameter_worded_in_each_language_shows_the_messages_own():
    status = i18n.Localized({"fr": "résolu", "en": "resolved"})
    assert "« résolu »" in i18n.message("report_changed", "fr", status=status)
    assert "“resolved”" in i18n.message("report_changed", "en", status=status)
