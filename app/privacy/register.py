"""The register of processing activities (GDPR article 30), generated from the code: every
column the models mark as personal data (app/personal_data.py), table by table, with the
retention schedule's rules (app/privacy/retention.py) and their delays as configured.

Nothing here is written by hand for one column: a column marked in a model is in the
register, and a column that looks personal without a mark fails
tests/privacy/test_register.py.
"""

from sqlalchemy import MetaData

from app import personal_data
from app.personal_data import Personal, mark_of
from app.privacy import retention
from app.privacy.texts import text as privacy_text


def marked_columns(metadata: MetaData) -> list[tuple[str, str, Personal]]:
    """(table, column, mark) of every marked column, by table then column order."""
    return [
        (table.name, column.name, mark)
        for table in sorted(metadata.tables.values(), key=lambda t: t.name)
        for column in table.columns
        if (mark := mark_of(column)) is not None
    ]


def _coded(vocabulary: dict, code: str, lang: str) -> dict:
    return {"code": code, "text": personal_data.text(vocabulary, code, lang)}


def _days(days: float, lang: str) -> str:
    shown = f"{days:g}"
    if lang == "en":
        return f"{shown} day{'s' if days != 1 else ''}"
    return f"{shown} jour{'s' if days >= 2 else ''}"


def _rule(rule: retention.Rule, config, lang: str) -> dict:
    days = rule.delay(config).total_seconds() / 86400
    return {
        "name": rule.name,
        "action": rule.action,
        "days": days,
        "setting": rule.setting,
        "what": rule.what.get(lang) or rule.what["fr"],
        "counted_from": rule.counted_from.get(lang) or rule.counted_from["fr"],
        "reason": rule.reason.get(lang) or rule.reason["fr"],
        "summary": privacy_text(f"register_rule_{rule.action}", lang).format(
            days=_days(days, lang),
            counted_from=rule.counted_from.get(lang) or rule.counted_from["fr"],
        ),
    }


def _retention(mark: Personal, rules: dict[str, dict], lang: str) -> dict:
    rule = rules[mark.retention] if mark.retention else None
    kept = personal_data.text(personal_data.KEPT, mark.kept, lang) if mark.kept else None
    return {
        "rule": mark.retention,
        "days": rule["days"] if rule else None,
        "setting": rule["setting"] if rule else None,
        "summary": " ".join(part for part in (rule and rule["summary"], kept) if part),
    }


def register(metadata: MetaData, config, lang: str) -> dict:
    """The register in ``lang``: the marked columns grouped by table, and the schedule."""
    rules = {rule.name: _rule(rule, config, lang) for rule in retention.SCHEDULE}
    tables: dict[str, list] = {}
    for table, column, mark in marked_columns(metadata):
        tables.setdefault(table, []).append(
            {
                "column": column,
                "what": _coded(personal_data.WHAT, mark.what, lang),
                "purpose": _coded(personal_data.PURPOSES, mark.purpose, lang),
                "basis": _coded(personal_data.BASES, mark.basis, lang),
                "audience": [_coded(personal_data.AUDIENCES, a, lang) for a in mark.audience],
                "retention": _retention(mark, rules, lang),
                "leaves": [_coded(personal_data.EXITS, e, lang) for e in mark.leaves],
            }
        )
    return {
        "language": lang,
        "tables": [
            {
                "table": name,
                "description": personal_data.text(personal_data.TABLES, name, lang)
                if name in personal_data.TABLES
                else None,
                "columns": columns,
            }
            for name, columns in tables.items()
        ],
        "retention_rules": list(rules.values()),
    }
