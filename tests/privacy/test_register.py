"""The register of processing activities (issue 18, part 4): every column that looks personal
is marked in its model, the register covers every mark and every retention rule, and the
privacy officer reads it (and only what is theirs)."""

import importlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Interval,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
)

from app.extensions import db
from app.personal_data import (
    AUDIENCES,
    KEPT,
    PURPOSES,
    TABLES,
    WHAT,
    not_personal,
    personal,
)
from app.privacy import retention
from app.privacy.register import marked_columns, register
from app.users.models import Role

ROOT = Path(__file__).resolve().parents[2]

# Column names that suggest personal data. A false positive is answered in the model with
# not_personal("why"), never by loosening these.
LOOKS_PERSONAL = {
    "a person's identifier": r"(^|_)uid$|^uid_|(^|_)by$|^owner$|^reporter|^author|^user(_|$)",
    "an e-mail": r"e_?mail",
    "a phone number": r"phone|(^|_)tel(_|$)|mobile",
    "a name": r"(^|_)name(_|$)|(^|_)nom(_|$)|first_?name|last_?name|surname",
    "an address": r"address|adresse|street|(^|_)label$",
    "free text": r"description|comment|note|(^|_)messages?(_(fr|en))?$|(^|_)text(_|$)|reason|"
    r"(^|_)body$|(^|_)title$|answer|remark",
    "a position": r"(^|_)geom|geog|position|location|(^|_)lat(itude)?$|(^|_)lon(gitude)?$|"
    r"(^|_)lng$|(^|_)zone$|depot|(^|_)point$|coordinates",
    "a device or push token": r"token|device|fcm",
    "a stored file (a photo of people)": r"(^|_)key$|photo_(key|url|path|file)|image|upload|"
    r"blur|original|unblurred",
    "a network trace": r"(^|_)ip(_|$)|ip_address|remote_addr|user_agent",
}


# Values that are no one's data whatever their column's name: flags, counts, instants, and
# the ids of other rows (the row they point at is what is marked).
NOT_VALUES = (Boolean, Integer, Float, Numeric, DateTime, Date, Time, Interval)


def looks_personal(column) -> str | None:
    """Why ``column`` looks personal, if it does: its name (unless it holds a flag, a number
    or an instant), or its type (any free text, any geometry: a position may be a private
    person's)."""
    if isinstance(column.type, NOT_VALUES):
        return None
    for why, pattern in LOOKS_PERSONAL.items():
        if re.search(pattern, column.name):
            return why
    if isinstance(column.type, Text):
        return "free text"
    if isinstance(column.type, (Geometry, Geography)):
        return "a position"
    return None


def every_model() -> MetaData:
    """The metadata with every models module of app/ imported (not only those a test
    happened to load)."""
    for path in sorted(ROOT.glob("app/**/models.py")):
        importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return db.metadata


def unmarked(metadata: MetaData) -> list[str]:
    return [
        f"{table.name}.{column.name} ({why})"
        for table in sorted(metadata.tables.values(), key=lambda t: t.name)
        for column in table.columns
        if (why := looks_personal(column))
        and "personal" not in column.info
        and "not_personal" not in column.info
    ]


def test_every_column_that_looks_personal_is_marked_in_its_model():
    missing = unmarked(every_model())
    assert missing == [], (
        "Columns that look personal and carry neither personal(...) nor not_personal(why) "
        "in their model (app/personal_data.py):\n" + "\n".join(missing)
    )


def test_the_heuristic_catches_a_new_unmarked_column_by_its_name_or_its_type():
    """What a column added later (the unblurred original of a photo, who drew a blur box)
    would meet."""
    metadata = MetaData()
    Table(
        "photos_later",
        metadata,
        Column("private_key", String(200)),
        Column("boxes_drawn_by", String(128)),
        Column("caption", Text),
        Column("spot", Geometry("POINT", srid=4326)),
        Column("client_ip", String(45)),
        Column("width", Integer),
        Column("blurred_by_detector", Boolean),
        Column("code", String(10), info=not_personal("a code")),
        Column(
            "contact_email",
            String(200),
            info=personal(
                "contact_email",
                purpose="contact_reporter",
                basis="consent",
                audience=("desk",),
                kept="with_report",
            ),
        ),
    )
    assert unmarked(metadata) == [
        "photos_later.private_key (a stored file (a photo of people))",
        "photos_later.boxes_drawn_by (a person's identifier)",
        "photos_later.caption (free text)",
        "photos_later.spot (a position)",
        "photos_later.client_ip (a network trace)",
    ]


def test_a_mark_with_an_unknown_code_or_no_retention_fails_when_it_is_made():
    with pytest.raises(ValueError, match="unknown purpose"):
        personal("contact_email", purpose="marketing", basis="consent", audience=(), kept="x")
    with pytest.raises(ValueError, match="how long"):
        personal("contact_email", purpose="notify", basis="consent", audience=("self",))
    with pytest.raises(ValueError, match="reason"):
        not_personal(" ")


def test_every_mark_names_a_retention_rule_of_the_schedule_and_known_codes():
    marks = marked_columns(every_model())
    assert len(marks) > 30
    for table, column, mark in marks:
        assert mark.retention is None or mark.retention in retention.RULES, (table, column)
        assert mark.kept is None or mark.kept in KEPT, (table, column)
        assert mark.audience, (table, column)
    # Every rule deletes or clears marked columns: the register says what each rule is for.
    ruled = {mark.retention for _, _, mark in marks if mark.retention}
    assert ruled == set(retention.RULES)
    # A rule's columns are in its model's table (and, for a rule that clears, those columns).
    for rule in retention.SCHEDULE:
        table = rule.model.__table__
        marked = {c.name for c in table.columns if (m := c.info.get("personal")) and m.retention}
        assert marked, rule.name
        assert set(rule.clear) <= marked, rule.name


def test_the_register_covers_every_marked_column_and_every_rule_in_french_and_english(app):
    app.config["RETENTION_CONTACT_DETAILS_DAYS"] = 200
    try:
        french = register(db.metadata, app.config, "fr")
        english = register(db.metadata, app.config, "en")
    finally:
        del app.config["RETENTION_CONTACT_DETAILS_DAYS"]
    listed = {(t["table"], c["column"]) for t in french["tables"] for c in t["columns"]}
    assert listed == {(table, column) for table, column, _ in marked_columns(db.metadata)}
    assert {r["name"] for r in french["retention_rules"]} == set(retention.RULES)
    # Each table says what it is, in both languages.
    assert all(t["description"] for t in french["tables"] + english["tables"])
    assert set(TABLES) == {t["table"] for t in french["tables"]}
    columns = {(t["table"], c["column"]): c for t in french["tables"] for c in t["columns"]}
    email = columns[("report_contacts", "email")]
    assert email["retention"] == {
        "rule": "contact_details",
        "days": 200,
        "setting": "RETENTION_CONTACT_DETAILS_DAYS",
        "summary": "Effacé 200 jours après la clôture du signalement (résolu, clos, rejeté "
        "ou doublon).",
    }
    assert email["what"] == {"code": "contact_email", "text": WHAT["contact_email"]["fr"]}
    assert email["purpose"]["text"] == PURPOSES["contact_reporter"]["fr"]
    assert [a["text"] for a in email["audience"]] == [
        AUDIENCES["self"]["fr"],
        AUDIENCES["desk_audited"]["fr"],
    ]
    # A column no rule deletes says so honestly.
    description = columns[("reports", "description")]["retention"]
    assert description["rule"] is None and description["summary"] == KEPT["with_report"]["fr"]
    english_columns = {
        (t["table"], c["column"]): c for t in english["tables"] for c in t["columns"]
    }
    assert english_columns[("devices", "token")]["retention"]["summary"] == (
        "Deleted 270 days after the last time the device registered."
    )
    assert english_columns[("devices", "token")]["leaves"][0]["text"].startswith(
        "Firebase Cloud Messaging"
    )


def register_of(client, headers, lang="fr"):
    return client.get("/v1/privacy/register", headers={**headers, "Accept-Language": lang})


def test_the_privacy_officer_reads_the_register_in_french_then_english(client, auth):
    officer = auth(Role.PRIVACY_OFFICER)
    french = register_of(client, officer)
    assert french.status_code == 200
    body = french.get_json()
    assert body["language"] == "fr"
    tables = {t["table"]: t for t in body["tables"]}
    assert {"reports", "report_contacts", "devices", "audit_events", "users"} <= set(tables)
    assert "categories" not in tables  # no personal data there
    english = register_of(client, officer, "en").get_json()
    assert english["language"] == "en"
    assert (
        english["tables"][0]["columns"][0]["what"]["text"]
        != (body["tables"][0]["columns"][0]["what"]["text"])
    )


@pytest.mark.parametrize(
    "path", ["/v1/privacy/register", "/v1/privacy/retention-runs", "/v1/privacy/erasures"]
)
def test_the_privacy_view_is_refused_to_other_roles_with_a_problem(client, auth, path):
    for role in (Role.RESIDENT, Role.CREW, Role.AGENT, Role.SUPERVISOR):
        response = client.get(path, headers=auth(role))
        assert response.status_code == 403, role
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "forbidden_role"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth(Role.ADMIN)).status_code == 200


def test_the_officer_lists_the_retention_runs_with_their_counts_newest_first_by_page(
    app, session, client, auth, now
):
    runs = [
        retention.run(session, app.config, dry_run=dry, now=now - timedelta(days=days))
        for dry, days in ((True, 3), (False, 2), (False, 1))
    ]
    officer = auth(Role.PRIVACY_OFFICER)
    first = client.get("/v1/privacy/retention-runs?limit=2", headers=officer).get_json()
    assert [r["id"] for r in first["items"]] == [runs[2].id, runs[1].id]
    assert first["items"][0]["counts"] == dict.fromkeys(retention.RULES, 0)
    assert first["items"][0]["delays"]["contact_details"] == 365
    assert first["items"][0]["dry_run"] is False and first["items"][0]["error"] is None
    rest = client.get(
        f"/v1/privacy/retention-runs?limit=2&cursor={first['next_cursor']}", headers=officer
    ).get_json()
    assert [r["id"] for r in rest["items"]] == [runs[0].id]
    assert rest["items"][0]["dry_run"] is True and rest["next_cursor"] is None
    since = (now - timedelta(days=2, hours=1)).isoformat()
    until = (now - timedelta(hours=12)).isoformat()
    window = client.get(
        "/v1/privacy/retention-runs", headers=officer, query_string={"since": since, "until": until}
    ).get_json()
    assert [r["id"] for r in window["items"]] == [runs[2].id, runs[1].id]
    bad = client.get("/v1/privacy/retention-runs?cursor=nope", headers=officer)
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid_cursor"
    wrong = client.get("/v1/privacy/retention-runs?since=yesterday", headers=officer)
    assert wrong.status_code == 422 and "since" in wrong.get_json()["errors"]["query"]


def test_the_officer_sees_each_erasure_s_counts_and_nothing_naming_the_resident(client, auth):
    uid = "resident-erased-5d1c"
    resident = {**auth(uid=uid), "Idempotency-Key": "erase-me"}
    filed = client.post(
        "/v1/reports",
        json={
            "category": "pothole",
            "location": {"lon": 5.0415, "lat": 47.322},
            "answers": {"size": "small"},
            "contact": {"email": "erased.person@example.fr"},
        },
        headers=resident,
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    erased = client.delete("/v1/me", headers=auth(uid=uid))
    assert erased.status_code == 200
    again = client.delete("/v1/me", headers=auth(uid=uid))  # idempotent: nothing left
    assert again.status_code == 200
    response = client.get("/v1/privacy/erasures", headers=auth(Role.PRIVACY_OFFICER))
    assert response.status_code == 200
    latest, earlier = response.get_json()["items"]
    assert latest["deleted"] == dict.fromkeys(latest["deleted"], 0)
    assert earlier["deleted"]["contacts"] == 1 and earlier["detached"]["reports"] == 1
    assert earlier["deleted"] == erased.get_json()["deleted"]
    assert earlier["detached"] == erased.get_json()["detached"]
    assert set(earlier) == {"id", "at", "request_id", "deleted", "detached"}
    text = response.get_data(as_text=True)
    assert uid not in text and "erased:" not in text and "erased.person" not in text


def test_the_officer_reads_the_log_of_staff_reads_of_personal_data(client, auth):
    filed = client.post(
        "/v1/reports",
        json={
            "category": "pothole",
            "location": {"lon": 5.0415, "lat": 47.322},
            "answers": {"size": "small"},
            "contact": {"phone": "0611223344"},
        },
        headers={**auth(uid="resident-read"), "Idempotency-Key": "read-me"},
    )
    report_id = filed.get_json()["id"]
    admin = auth(Role.ADMIN, uid="admin-reader")
    assert client.get(f"/v1/reports/{report_id}/contact", headers=admin).status_code == 200
    officer = auth(Role.PRIVACY_OFFICER)
    log = client.get(
        f"/v1/audit/personal-data-reads?report={report_id}", headers=officer
    ).get_json()
    assert [(e["actor_uid"], e["report_id"]) for e in log["items"]] == [("admin-reader", report_id)]
    # What the officer reads is not itself a read of a resident's personal data.
    assert client.get(f"/v1/reports/{report_id}/contact", headers=officer).status_code == 403
