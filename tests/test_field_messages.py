"""Field messages (a problem's ``errors``) in the request's language, for every schema: the
libraries' messages and ours, nested fields and list items included."""

import ast
import inspect
import re
from pathlib import Path

import marshmallow as ma
import pytest
import webargs.fields

import app as app_package
from app.field_messages import FRENCH, localise_errors, pattern, translate
from app.users.models import Role

APP_DIR = Path(app_package.__file__).resolve().parent
REPORT = {"category": "other", "location": {"lon": 5.0415, "lat": 47.3220}}


def post_report(client, headers, body, lang):
    return client.post(
        "/v1/reports",
        json=body,
        headers={
            **headers,
            "Idempotency-Key": f"fm-{lang}-{len(str(body))}",
            "Accept-Language": lang,
        },
    )


# --- what residents get ---------------------------------------------------------------------


def test_a_missing_field_is_named_in_french_and_in_english(client, auth):
    me = auth()
    french = post_report(client, me, {"location": REPORT["location"]}, "fr")
    assert french.status_code == 422
    assert french.get_json()["errors"] == {"json": {"category": ["Champ obligatoire manquant."]}}
    english = post_report(client, me, {"location": REPORT["location"]}, "en")
    assert english.get_json()["errors"] == {
        "json": {"category": ["Missing data for required field."]}
    }


def test_nested_fields_messages_are_translated(client, auth):
    body = {
        "category": "other",
        "location": {"lon": 500, "lat": 47.3},
        "contact": {"email": "not-an-address", "by_push": "yes"},
        "colour": "red",
    }
    french = post_report(client, auth(), body, "fr").get_json()["errors"]["json"]
    assert french == {
        "location": {"lon": ["Doit être compris entre -180 et 180."]},
        "contact": {
            "email": ["Adresse e-mail invalide."],
            "by_push": ["Booléen attendu : true ou false."],
        },
        "colour": ["Champ inconnu."],
    }
    english = post_report(client, auth(), body, "en").get_json()["errors"]["json"]
    assert english["location"] == {
        "lon": ["Must be greater than or equal to -180 and less than or equal to 180."]
    }
    assert english["contact"]["email"] == ["Not a valid email address."]
    assert english["colour"] == ["Unknown field."]


def test_list_items_messages_are_translated(client, auth):
    supervisor = auth(Role.SUPERVISOR)
    path = "/v1/desks/voirie/queue?status=new&status=lost&priority=9"
    french = client.get(path, headers={**supervisor, "Accept-Language": "fr"})
    assert french.status_code == 422
    errors = french.get_json()["errors"]["query"]
    assert errors["status"] == {"1": [f"Valeur attendue parmi : {_states()}."]}
    assert errors["priority"] == {"0": ["Doit être compris entre 1 et 4."]}
    english = client.get(path, headers={**supervisor, "Accept-Language": "en"}).get_json()
    assert english["errors"]["query"]["status"] == {"1": [f"Must be one of: {_states()}."]}


def _states() -> str:
    from app.reports.models import STATUSES

    return ", ".join(STATUSES)


def test_query_arguments_and_our_own_checks_follow_the_language(client, auth):
    me = auth()
    limit = client.get("/v1/reports?limit=0", headers={**me, "Accept-Language": "fr"})
    assert limit.get_json()["errors"] == {"query": {"limit": ["Doit être compris entre 1 et 200."]}}
    near = client.get("/v1/reports?near=here", headers={**me, "Accept-Language": "fr"})
    assert near.get_json()["errors"] == {
        "query": {"near": ["attendu : lon,lat en degrés décimaux"]}
    }
    email = post_report(client, me, {**REPORT, "contact": {"by_email": True}}, "fr")
    assert email.status_code == 422
    assert email.get_json()["errors"] == {
        "json": {"contact": {"email": ["donnez une adresse e-mail pour être informé par e-mail"]}}
    }
    answers = post_report(client, me, {**REPORT, "category": "pothole"}, "fr").get_json()
    assert answers["code"] == "invalid_answers"
    assert answers["errors"] == {
        "json": {"answers": {"size": ["cette question demande une réponse"]}}
    }
    english = post_report(client, me, {**REPORT, "category": "pothole"}, "en").get_json()
    assert english["errors"] == {"json": {"answers": {"size": ["this question needs an answer"]}}}


def test_a_problems_detail_names_what_to_fix_in_its_own_language(client, auth):
    admin = auth(Role.ADMIN)
    body = {"role": "crew"}
    french = client.put(
        "/v1/admin/users/new-crew-member", json=body, headers={**admin, "Accept-Language": "fr"}
    ).get_json()
    assert french["code"] == "role_assignment_invalid"
    assert french["detail"] == (
        "Affectation incohérente avec le rôle : un membre d'équipe doit appartenir à une équipe"
    )
    assert french["errors"] == {
        "json": {"crew": ["un membre d'équipe doit appartenir à une équipe"]}
    }
    english = client.put(
        "/v1/admin/users/new-crew-member", json=body, headers={**admin, "Accept-Language": "en"}
    ).get_json()
    assert english["detail"].endswith("a crew member must belong to a crew")


def partner_key(app) -> str:
    from app.auth.identity import Identity
    from app.extensions import db
    from app.open311 import service

    with app.app_context():
        admin = Identity(uid="admin-1", role=Role.ADMIN, anonymous=False, email=None)
        key = service.create_key(
            db.session, actor=admin, name="Partner", contact=None, rate_limit="1000/minute"
        )
        db.session.remove()
    return key["api_key"]


def test_open311_error_documents_name_what_to_fix_in_the_request_language(client, app):
    french = client.get("/open311/v2/requests.json?page_size=0", headers={"Accept-Language": "fr"})
    assert french.status_code == 400
    (error,) = french.get_json()
    assert error["description"] == (
        "Paramètre page_size invalide : attendu : un nombre entier de 1 à 1000."
    )
    english = client.get("/open311/v2/requests.json?page_size=0", headers={"Accept-Language": "en"})
    assert english.get_json()[0]["description"].endswith("expected a whole number from 1 to 1000.")
    form = {"api_key": partner_key(app), "service_code": "pothole", "lat": "north", "long": "5"}
    refused = client.post("/open311/v2/requests.json", data=form).get_json()
    assert "Nombre attendu." in " ".join(e["description"] for e in refused), refused


# --- the mechanism --------------------------------------------------------------------------


def test_values_inside_a_message_are_kept_and_translated_when_they_are_messages():
    assert (
        translate("no active category pothole", "fr")
        == "aucune catégorie active n'a le code pothole"
    )
    assert translate("polygon 2 ring 0: a ring needs at least 4 positions", "fr") == (
        "polygone 2, anneau 0 : un anneau a au moins 4 positions"
    )
    assert translate("unknown placeholder {x}: use {reference}", "fr") == (
        "champ inconnu {x} : utilisez {reference}"
    )
    assert translate("something nobody wrote down", "fr") == "something nobody wrote down"
    assert translate("Missing data for required field.", "en") == "Missing data for required field."


def test_the_tree_keeps_its_keys_and_shape():
    tree = {"json": {"items": {0: {"code": ["Unknown field."]}}, "_schema": ["Invalid input."]}}
    assert localise_errors(tree, "fr") == {
        "json": {"items": {0: {"code": ["Champ inconnu."]}}, "_schema": ["Valeur invalide."]}
    }


# --- guards: a message added anywhere is translated -----------------------------------------


def _library_messages() -> set[str]:
    """Every default message of marshmallow's fields, schemas and validators, and webargs'
    fields, as they render (placeholders of values left as such)."""
    found = set(ma.Schema._default_error_messages.values())
    fields = [ma.fields.Field]
    while fields:
        field = fields.pop()
        fields += field.__subclasses__()
        for template in getattr(field, "default_error_messages", {}).values():
            # The date-time fields name their kind: "Not a valid aware datetime."
            obj_type, awareness = (
                getattr(field, "OBJ_TYPE", None),
                getattr(field, "AWARENESS", None),
            )
            if "{obj_type}" in template and obj_type is None:
                continue
            if "{awareness}" in template and awareness is None:
                continue
            found.add(
                template.replace("{obj_type}", obj_type or "").replace(
                    "{awareness}", awareness or ""
                )
            )
    for name in dir(webargs.fields):
        value = getattr(webargs.fields, name)
        if (
            inspect.isclass(value)
            and issubclass(value, ma.fields.Field)
            and value.__module__.startswith("webargs")
        ):
            found.update(getattr(value, "default_error_messages", {}).values())
    validate = ma.validate
    for validator in vars(validate).values():
        if (
            inspect.isclass(validator)
            and issubclass(validator, validate.Validator)
            and isinstance(getattr(validator, "default_message", None), str)
        ):
            found.add(validator.default_message)
    length = validate.Length
    found |= {length.message_min, length.message_max, length.message_all, length.message_equal}
    ranged = validate.Range
    for low in (ranged.message_gte, ranged.message_gt):
        found.add(ranged.message_min.format(min_op=low))
        for high in (ranged.message_lte, ranged.message_lt):
            found.add(ranged.message_all.format(min_op=low, max_op=high))
    for high in (ranged.message_lte, ranged.message_lt):
        found.add(ranged.message_max.format(max_op=high))
    return found


def _renders(template: str) -> str:
    """An example of what ``template`` renders to: each value a word of its own."""
    import string

    out = []
    for n, (literal, field, _spec, _conversion) in enumerate(string.Formatter().parse(template)):
        out.append(literal)
        if field is not None:
            out.append(f"v{n}")
    return "".join(out)


def test_every_message_of_marshmallow_and_webargs_has_a_french_text():
    missing = sorted(m for m in _library_messages() if translate(_renders(m), "fr") == _renders(m))
    assert missing == []


def _app_schemas():
    seen, stack = set(), [ma.Schema]
    while stack:
        schema = stack.pop()
        for sub in schema.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return [s for s in seen if s.__module__.startswith("app.")]


def _fields_of(field):
    yield field
    for inner in ("inner", "key_field", "value_field"):
        if getattr(field, inner, None) is not None:
            yield from _fields_of(getattr(field, inner))
    for inner in getattr(field, "tuple_fields", ()) or ():
        yield from _fields_of(inner)


def _library_templates() -> set[str]:
    found, fields = set(), [ma.fields.Field]
    while fields:
        field = fields.pop()
        fields += field.__subclasses__()
        found.update(getattr(field, "default_error_messages", {}).values())
    return found


def _schema_messages() -> list[tuple[str, str]]:
    """(schema, message) for every message our schemas declare beyond the libraries' own
    (their validators' errors rendered with a word per value)."""
    defaults = _library_templates()
    found = []
    for schema in _app_schemas():
        for declared in schema._declared_fields.values():
            for field in _fields_of(declared):
                for validator in field.validators:
                    error = getattr(validator, "error", None)
                    if isinstance(error, str):
                        found.append((schema.__name__, _renders(error)))
                for message in field.error_messages.values():
                    if message not in defaults:
                        found.append((schema.__name__, message))
    return found


def test_every_message_our_schemas_declare_has_a_french_text(app):
    untranslated = {
        f"{where}: {message}"
        for where, message in _schema_messages()
        if translate(message, "fr") == message
    }
    assert sorted(untranslated) == []


def _literal_messages(node) -> list[str]:
    """The messages in list displays under an ``errors=`` argument, f-strings rendered with
    a word per value."""
    found = []
    for sub in ast.walk(node):
        if not isinstance(sub, ast.List | ast.ListComp):
            continue
        elements = sub.elts if isinstance(sub, ast.List) else [sub.elt]
        for element in elements:
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                found.append(element.value)
            elif isinstance(element, ast.JoinedStr):
                found.append(
                    "".join(
                        part.value if isinstance(part, ast.Constant) else f"v{n}"
                        for n, part in enumerate(element.values)
                    )
                )
    return found


# Where an entity a broker notifies is refused, the reason its parser gives is a field message.
ENTITY_PARSERS = [APP_DIR / "feeds" / "ngsi_ld.py"]
# How app/feeds/subscriptions.py names each refused entity of a notification in its errors.
REFUSED_ENTITY = "entity {entity}: {reason}"


def _code_messages() -> list[tuple[str, str]]:
    """(file, message) for every field message our code writes: ``errors=`` literals,
    ``ValidationError``, Open311's bad parameters, ``*_MESSAGE`` constants, and the reasons
    an entity of a notification is refused for (alone and as the errors name them)."""
    found = []
    for path in sorted(APP_DIR.rglob("*.py")):
        where = str(path.relative_to(APP_DIR))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {"ValidationError": 0, "bad_parameter": 1}
        if path in ENTITY_PARSERS:
            calls["Malformed"] = 0
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "errors":
                found += [(where, m) for m in _literal_messages(node.value)]
            # ValidationError("...") raised by our own validators; Open311's bad parameters.
            called = getattr(node, "func", None)
            name = getattr(called, "attr", getattr(called, "id", None))
            position = calls.get(name)
            if isinstance(node, ast.Call) and position is not None and len(node.args) > position:
                for message in _literal_messages(ast.List(elts=[node.args[position]])):
                    found.append((where, message))
                    if name == "Malformed":
                        found.append((where, REFUSED_ENTITY.format(entity="v0", reason=message)))
            # Messages kept in module constants (NUL_MESSAGE = "...") and returned as errors.
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.endswith("_MESSAGE") for t in node.targets
            ):
                found += [(where, m) for m in _literal_messages(ast.List(elts=[node.value]))]
    return found


def test_every_field_message_our_code_writes_has_a_french_text():
    untranslated = [
        f"{where}: {message}"
        for where, message in _code_messages()
        if translate(message, "fr") == message
    ]
    assert untranslated == []


def test_a_notifications_refused_entities_are_named_as_the_guard_expects():
    source = (APP_DIR / "feeds" / "subscriptions.py").read_text(encoding="utf-8")
    assert 'f"entity {entity}: {reason}"' in source


def _templates_matching(message: str) -> list[tuple[str, dict[str, str]]]:
    """The catalogue's English templates that ``message`` renders, with the values each
    would take from it."""
    found = []
    for english in FRENCH:
        compiled = pattern(english)
        if compiled is None:
            if english.format() == message:
                found.append((english, {}))
            continue
        regex, names = compiled
        match = regex.match(message)
        if match:
            found.append((english, {name: match[f"f{i}"] for i, name in enumerate(names)}))
    return found


def test_no_template_is_a_bare_colon_that_would_take_any_message():
    """A template of values and punctuation only ("{entity}: {reason}") takes any "x: y" that
    has no entry of its own: French spacing around English words, and the guards above, which
    look for messages that translation leaves unchanged, no longer see them."""
    bare = [e for e in FRENCH if not re.search(r"[A-Za-z]", re.sub(r"\{[^{}]*\}", "", e))]
    assert bare == []
    assert translate("a message nobody wrote: down", "fr") == "a message nobody wrote: down"


def test_every_message_x_colon_y_the_app_writes_has_its_own_fully_french_text(app):
    """Each "x: y" the app can write (the libraries', our schemas', our code's) is taken by a
    template of its own (with words, not only the colon), and what it carries that is itself
    one of our messages (a refused entity's reason) is in French too."""
    ours = {m for _, m in _code_messages()} | {m for _, m in _schema_messages()}
    library = {_renders(m) for m in _library_messages()}
    colons = sorted(m for m in ours | library if re.fullmatch(r".+?: .+", m, re.DOTALL))
    assert REFUSED_ENTITY.format(entity="v0", reason="no location") in colons  # the scan sees
    half_french = []
    for message in colons:
        templates = _templates_matching(message)
        own = [
            (english, values)
            for english, values in templates
            if re.search(r"[A-Za-z]", re.sub(r"\{[^{}]*\}", "", english))
        ]
        carried = [
            value for _, values in own for value in values.values() if value in ours | library
        ]
        if (
            not own
            or translate(message, "fr") == message
            or any(translate(value, "fr") == value for value in carried)
        ):
            half_french.append(f"{message} -> {translate(message, 'fr')}")
    assert half_french == []


@pytest.mark.parametrize("english", sorted(FRENCH))
def test_each_french_text_carries_the_values_of_its_english_one(english):
    import string

    def names(text):
        return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)

    assert names(english) == names(FRENCH[english])
    rendered = _renders(english)
    if FRENCH[english] != english:  # "point" is a point in both
        assert translate(rendered, "fr") != rendered
