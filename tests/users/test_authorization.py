"""Who may call what: every operation of the API against every kind of caller.

The expected roles are written out here, not read from the code, and every operation in
the OpenAPI document must appear in the table: a new endpoint fails this test until its
access rule is stated.
"""

import io
import time

import pytest

from app.auth.tokens import mint_emulator_token
from app.users.models import Role
from tests.conftest import PROJECT_ID
from tests.factories import make_report
from tests.photos.images import jpeg

R, C, AG, S, AD = Role.RESIDENT, Role.CREW, Role.AGENT, Role.SUPERVISOR, Role.ADMIN
PO = Role.PRIVACY_OFFICER
# Anyone signed in, for their own things (the privacy officer too: it is someone).
EVERYONE = {R, C, AG, S, AD, PO}
# The staff who work reports: not the privacy officer, who reads no report's details.
STAFF = {C, AG, S, AD}
PUBLIC = None  # no token needed
# No token opens it, whatever its role: only the secret the broker was given with its
# subscription (tests/feeds/test_subscriptions.py).
BROKER_SECRET = "broker secret"
PHOTO = "multipart photo"
ASSET_FILE = "multipart asset file"
ASSETS_CSV = b"reference,kind,lon,lat\nSL-000003,street_light,5.0415,47.322\n"

# (method, path) -> roles allowed, and an example request (path filled in, body).
MATRIX = {
    ("GET", "/healthz"): (PUBLIC, "/healthz", None),
    ("GET", "/readyz"): (PUBLIC, "/readyz", None),
    ("GET", "/metrics"): (PUBLIC, "/metrics", None),
    ("GET", "/v1/me"): (EVERYONE, "/v1/me", None),
    # Residents' rights: anyone signed in, for their own data; staff accounts are the
    # admins' to manage, not erased by their holder.
    ("GET", "/v1/me/data"): (EVERYONE, "/v1/me/data", None),
    ("DELETE", "/v1/me"): ({R}, "/v1/me", None),
    ("GET", "/v1/communes"): (EVERYONE, "/v1/communes", None),
    ("GET", "/v1/communes/{insee_code}"): (EVERYONE, "/v1/communes/21231", None),
    ("GET", "/v1/service-area"): (EVERYONE, "/v1/service-area", None),
    ("GET", "/v1/service-area/locate"): (EVERYONE, "/v1/service-area/locate?lon=5&lat=47.3", None),
    ("GET", "/v1/desks"): (STAFF, "/v1/desks", None),
    ("GET", "/v1/crews"): (STAFF, "/v1/crews", None),
    ("PUT", "/v1/admin/crews/{code}"): (
        {AD},
        "/v1/admin/crews/eclairage-sud",
        {"name": "Éclairage Sud", "desk": "eclairage"},
    ),
    ("DELETE", "/v1/admin/crews/{code}"): ({AD}, "/v1/admin/crews/{crew}", None),
    ("GET", "/v1/admin/routing-rules"): ({AD}, "/v1/admin/routing-rules", None),
    ("POST", "/v1/admin/routing-rules"): (
        {AD},
        "/v1/admin/routing-rules",
        {
            "name": "Nuit",
            "priority": 7,
            "desk": "securite",
            "starts_at": "22:00",
            "ends_at": "06:00",
        },
    ),
    ("PUT", "/v1/admin/routing-rules/{rule_id}"): (
        {AD},
        "/v1/admin/routing-rules/{rule}",
        {"name": "Nids-de-poule", "priority": 3, "category": "pothole", "desk": "voirie"},
    ),
    ("DELETE", "/v1/admin/routing-rules/{rule_id}"): ({AD}, "/v1/admin/routing-rules/{rule}", None),
    ("GET", "/v1/admin/users"): ({AD}, "/v1/admin/users", None),
    ("GET", "/v1/admin/users/{uid}"): ({AD}, "/v1/admin/users/target-user", None),
    ("PUT", "/v1/admin/users/{uid}"): (
        {AD},
        "/v1/admin/users/target-user",
        {"role": "agent", "desks": ["voirie"]},
    ),
    ("DELETE", "/v1/admin/users/{uid}"): ({AD}, "/v1/admin/users/target-user", None),
    ("GET", "/v1/categories"): (EVERYONE, "/v1/categories", None),
    ("GET", "/v1/categories/{code}"): (EVERYONE, "/v1/categories/pothole", None),
    ("GET", "/v1/admin/categories"): ({AD}, "/v1/admin/categories", None),
    ("PUT", "/v1/admin/categories/{code}"): (
        {AD},
        "/v1/admin/categories/pothole",
        {"group": "roads", "name_fr": "Nid-de-poule", "name_en": "Pothole", "icon": "pothole"},
    ),
    # Crews work tickets; they do not file reports as residents do.
    ("POST", "/v1/reports"): (
        {R, AG, S, AD},
        "/v1/reports",
        {"category": "other", "location": {"lon": 5.0415, "lat": 47.322}},
    ),
    ("GET", "/v1/reports"): (EVERYONE, "/v1/reports", None),
    ("GET", "/v1/reports/geojson"): (EVERYONE, "/v1/reports/geojson", None),
    ("GET", "/v1/reports/suggestions"): (
        EVERYONE,
        "/v1/reports/suggestions?lon=5.0415&lat=47.322&category=pothole",
        None,
    ),
    ("GET", "/v1/me/reports"): (EVERYONE, "/v1/me/reports", None),
    ("GET", "/v1/reports/{report_id}"): (EVERYONE, "/v1/reports/{report}", None),
    ("POST", "/v1/reports/{report_id}/support"): ({R}, "/v1/reports/{report}/support", None),
    # Residents may add photos to their own reports only: on someone else's they get 403.
    # The report's own photos are also the desk's to add; crews add "after" photos to the
    # tickets they hold (tests/photos), not these.
    ("POST", "/v1/reports/{report_id}/photos"): (
        {AG, S, AD},
        "/v1/reports/{report}/photos",
        PHOTO,
    ),
    ("GET", "/v1/reports/{report_id}/photos/{photo_id}"): (
        EVERYONE,
        "/v1/reports/{report}/photos/{photo}",
        None,
    ),
    ("GET", "/v1/media/{key}"): (PUBLIC, "{media}", None),
    # Moderating a photo: the report's desk (agents of voirie here), supervisors, admins.
    ("PUT", "/v1/reports/{report_id}/photos/{photo_id}/boxes"): (
        {AG, S, AD},
        "/v1/reports/{report}/photos/{photo}/boxes",
        {"keep": [], "add": [{"left": 0.1, "top": 0.1, "right": 0.3, "bottom": 0.3}]},
    ),
    ("POST", "/v1/reports/{report_id}/photos/{photo_id}/hide"): (
        {AG, S, AD},
        "/v1/reports/{report}/photos/{photo}/hide",
        None,
    ),
    ("POST", "/v1/reports/{report_id}/photos/{photo_id}/publish"): (
        {AG, S, AD},
        "/v1/reports/{report}/photos/{photo}/publish",
        None,
    ),
    # The unblurred original: the report's desk staff, and the crew holding it (this report
    # is held by none: a crew gets 403 photo_original_not_allowed; tests/photos covers it).
    ("GET", "/v1/reports/{report_id}/photos/{photo_id}/original"): (
        {AG, S, AD},
        "/v1/reports/{report}/photos/{photo}/original",
        None,
    ),
    # Equipment: staff at the desks read it (crews one asset: their ticket's), admins manage it.
    ("GET", "/v1/assets"): ({AG, S, AD}, "/v1/assets", None),
    ("GET", "/v1/assets/{reference}"): ({C, AG, S, AD}, "/v1/assets/SL-000001", None),
    ("PUT", "/v1/admin/assets/{reference}"): (
        {AD},
        "/v1/admin/assets/SL-000002",
        {"kind": "street_light", "location": {"lon": 5.0415, "lat": 47.322}},
    ),
    ("DELETE", "/v1/admin/assets/{reference}"): ({AD}, "/v1/admin/assets/SL-000001", None),
    ("POST", "/v1/admin/asset-imports"): ({AD}, "/v1/admin/asset-imports", ASSET_FILE),
    ("GET", "/v1/assets/geojson"): ({AG, S, AD}, "/v1/assets/geojson", None),
    # Commands: agents of the desk that runs the equipment (the matrix's agent works roads,
    # not lighting: refused) and supervisors; a signal's command is confirmed or rejected
    # by a second supervisor; a command is cancelled by its requester or a supervisor.
    ("GET", "/v1/assets/{reference}/commands"): (
        {AG, S, AD},
        "/v1/assets/SL-000001/commands",
        None,
    ),
    ("POST", "/v1/assets/{reference}/commands"): (
        {S},
        "/v1/assets/SL-000001/commands",
        {"command": "switch_off", "reason": "Essai de la matrice"},
    ),
    ("POST", "/v1/equipment-commands/selections"): (
        {S},
        "/v1/equipment-commands/selections",
        {
            "command": "switch_on",
            "reason": "Essai de la matrice",
            "selection": {"references": ["SL-000001"]},
        },
    ),
    ("GET", "/v1/equipment-commands/{command_id}"): (
        {AG, S, AD},
        "/v1/equipment-commands/{command}",
        None,
    ),
    ("POST", "/v1/equipment-commands/{command_id}/confirm"): (
        {S},
        "/v1/equipment-commands/{command}/confirm",
        {"note": "Vu"},
    ),
    ("POST", "/v1/equipment-commands/{command_id}/reject"): (
        {S},
        "/v1/equipment-commands/{command}/reject",
        {},
    ),
    ("POST", "/v1/equipment-commands/{command_id}/cancel"): (
        {S},
        "/v1/equipment-commands/{command}/cancel",
        {},
    ),
    # What the console asks before offering a command: the options and an asset's open
    # tickets are the command readers'; a selection's count is refused as its sending is.
    ("GET", "/v1/equipment-commands/options"): (
        {AG, S, AD},
        "/v1/equipment-commands/options?asset=SL-000001",
        None,
    ),
    ("POST", "/v1/equipment-commands/selections/preview"): (
        {S},
        "/v1/equipment-commands/selections/preview",
        {
            "command": "switch_on",
            "reason": "Essai de la matrice",
            "selection": {"references": ["SL-000001"]},
        },
    ),
    ("GET", "/v1/assets/{reference}/tickets"): (
        {AG, S, AD},
        "/v1/assets/SL-000001/tickets",
        None,
    ),
    # Triage: the desk (agents on their desks' reports, supervisors on any) and the assigned
    # crew work tickets; admins configure. Each action is tried on a report at the agent's
    # desk, assigned to the crew, in a state the action is allowed from (TICKET_STATES).
    **{
        ("POST", f"/v1/reports/{{report_id}}/actions/{action}"): (
            roles,
            f"/v1/reports/{{report}}/actions/{action}",
            body,
        )
        for action, roles, body in (
            ("acknowledge", {AG, S}, None),
            ("set-priority", {AG, S}, {"priority": 1}),
            ("assign", {AG, S}, {"crew": "voirie-nord"}),
            ("reroute", {AG, S}, {"desk": "eclairage"}),
            ("change-category", {AG, S}, {"category": "graffiti"}),
            ("merge", {AG, S}, {"into": "{target}"}),
            ("reject", {AG, S}, {"reason": "not_our_problem"}),
            ("note", {C, AG, S}, {"note": "Barrières posées"}),
            ("public-update", {AG, S}, {"message": {"fr": "Passage lundi"}}),
            ("publish-description", {AG, S}, {"description": "Nid-de-poule profond"}),
            # Residents may reopen the reports they filed or supported only: on someone
            # else's they get 403 (not_reporter_or_supporter).
            ("reopen", {AG, S}, {"reason": "Toujours là"}),
            ("close", {AG, S}, None),
            ("start", {C}, None),
            ("resolve", {C}, {"resolution": "repaired"}),
            ("hand-back", {C}, {"reason": "needs_equipment"}),
        )
    },
    ("POST", "/v1/reports/bulk-actions/acknowledge"): (
        {AG, S},
        "/v1/reports/bulk-actions/acknowledge",
        {"reports": [{"id": "{report}", "version": 1}]},
    ),
    ("POST", "/v1/reports/bulk-actions/assign"): (
        {AG, S},
        "/v1/reports/bulk-actions/assign",
        {"reports": [{"id": "{report}", "version": 1}], "crew": "voirie-nord"},
    ),
    ("POST", "/v1/reports/bulk-actions/merge"): (
        {AG, S},
        "/v1/reports/bulk-actions/merge",
        {"reports": [{"id": "{report}", "version": 1}], "into": "{target}"},
    ),
    ("GET", "/v1/reports/{report_id}/history"): (EVERYONE, "/v1/reports/{report}/history", None),
    # What the console offers on a ticket (tried on a ticket as the actions are): whoever
    # may reach the report (its desk, the crew holding it, supervisors, admins; a resident
    # their own or supported reports only).
    ("GET", "/v1/reports/{report_id}/actions"): (STAFF, "/v1/reports/{report}/actions", None),
    # The console's live stream: staff only (it ends at once under the suite's settings).
    ("GET", "/v1/events"): (STAFF, "/v1/events", None),
    ("GET", "/v1/message-templates"): ({AG, S, AD}, "/v1/message-templates", None),
    ("PUT", "/v1/message-templates/default/{status}"): (
        {S, AD},
        "/v1/message-templates/default/closed",
        {"text_fr": "Clos : {reference}", "text_en": "Closed: {reference}"},
    ),
    ("PUT", "/v1/message-templates/categories/{code}/{status}"): (
        {S, AD},
        "/v1/message-templates/categories/pothole/closed",
        {"text_fr": "Clos : {reference}", "text_en": "Closed: {reference}"},
    ),
    ("DELETE", "/v1/message-templates/categories/{code}/{status}"): (
        {S, AD},
        "/v1/message-templates/categories/pothole/resolved",
        None,
    ),
    # The desks' queues: agents of the desk (the matrix's agent works voirie), supervisors
    # and admins; another desk's agent gets 403 not_your_desk (tests/worklists).
    ("GET", "/v1/desks/{desk}/queue"): ({AG, S, AD}, "/v1/desks/voirie/queue", None),
    ("GET", "/v1/desks/{desk}/queue/geojson"): (
        {AG, S, AD},
        "/v1/desks/voirie/queue/geojson",
        None,
    ),
    ("GET", "/v1/desks/{desk}/queue/counts"): ({AG, S, AD}, "/v1/desks/voirie/queue/counts", None),
    ("GET", "/v1/crews/me/tickets"): ({C}, "/v1/crews/me/tickets", None),
    ("GET", "/v1/crews/me/sync"): ({C}, "/v1/crews/me/sync", None),
    # The reporter's contact details: the report's desk (the matrix's report is routed to
    # voirie), supervisors and admins; every read is audited, and supervisors list them.
    ("GET", "/v1/reports/{report_id}/contact"): ({AG, S, AD}, "/v1/reports/{report}/contact", None),
    ("GET", "/v1/audit/personal-data-reads"): (
        {S, AD, PO},
        "/v1/audit/personal-data-reads",
        None,
    ),
    # The privacy officer's view (the CNIL correspondent), admins too.
    ("GET", "/v1/privacy/register"): ({PO, AD}, "/v1/privacy/register", None),
    ("GET", "/v1/privacy/retention-runs"): ({PO, AD}, "/v1/privacy/retention-runs", None),
    ("GET", "/v1/privacy/erasures"): ({PO, AD}, "/v1/privacy/erasures", None),
    # Supervision: every desk's figures and every crew's load, supervisors and admins only.
    ("GET", "/v1/supervision/desks"): ({S, AD}, "/v1/supervision/desks", None),
    ("GET", "/v1/supervision/crews"): ({S, AD}, "/v1/supervision/crews", None),
    # Open311 partner keys: admins only. (The GeoReport v2 endpoints themselves are public,
    # outside this OpenAPI document: tests/open311 covers them.)
    ("GET", "/v1/admin/open311-keys"): ({AD}, "/v1/admin/open311-keys", None),
    ("POST", "/v1/admin/open311-keys"): ({AD}, "/v1/admin/open311-keys", {"name": "Partner"}),
    ("DELETE", "/v1/admin/open311-keys/{key_id}"): ({AD}, "/v1/admin/open311-keys/1", None),
    # City sensor feeds: admins manage them; residents and staff read mobility data.
    ("GET", "/v1/admin/feeds"): ({AD}, "/v1/admin/feeds", None),
    ("POST", "/v1/feeds/{name}/notifications"): (
        BROKER_SECRET,
        "/v1/feeds/parkings/notifications",
        {
            "id": "urn:ngsi-ld:Notification:matrix",
            "type": "Notification",
            "subscriptionId": "urn:ngsi-ld:Subscription:matrix",
            "notifiedAt": "2026-01-01T00:00:00Z",
            "data": [],
        },
    ),
    ("GET", "/v1/admin/feeds/{name}"): ({AD}, "/v1/admin/feeds/parkings", None),
    ("PUT", "/v1/admin/feeds/{name}"): (
        {AD},
        "/v1/admin/feeds/parkings-2",
        {
            "kind": "parking",
            "format": "ngsi-ld",
            "source_url": "http://127.0.0.1:9/ngsi-ld/v1/entities?type=OffStreetParking",
        },
    ),
    ("DELETE", "/v1/admin/feeds/{name}"): ({AD}, "/v1/admin/feeds/parkings", None),
    ("POST", "/v1/admin/feeds/{name}/polls"): ({AD}, "/v1/admin/feeds/parkings/polls", None),
    ("GET", "/v1/admin/feed-fault-mappings"): ({AD}, "/v1/admin/feed-fault-mappings", None),
    ("PUT", "/v1/admin/feed-fault-mappings/{entity_type}/{attribute}/{value}"): (
        {AD},
        "/v1/admin/feed-fault-mappings/Streetlight/powerState/off",
        {"category": "streetlight_out"},
    ),
    ("DELETE", "/v1/admin/feed-fault-mappings/{entity_type}/{attribute}/{value}"): (
        {AD},
        "/v1/admin/feed-fault-mappings/Streetlight/status/columnIssue",
        None,
    ),
    ("GET", "/v1/mobility/parkings"): (
        EVERYONE,
        "/v1/mobility/parkings?lon=5.0415&lat=47.322",
        None,
    ),
    ("GET", "/v1/mobility/parkings/{parking_id}/history"): (
        EVERYONE,
        "/v1/mobility/parkings/{parking}/history",
        None,
    ),
    ("GET", "/v1/mobility/bikes"): (EVERYONE, "/v1/mobility/bikes?lon=5.0415&lat=47.322", None),
    ("GET", "/v1/mobility/traffic"): (
        EVERYONE,
        "/v1/mobility/traffic?bbox=5.0,47.3,5.1,47.35",
        None,
    ),
    ("GET", "/v1/mobility/vehicles"): (
        EVERYONE,
        "/v1/mobility/vehicles?bbox=5.0,47.3,5.1,47.35",
        None,
    ),
    # Notifications: every caller has their own devices and feed (staff may file reports
    # and follow them too); another's device or notification is 404 (tests/notifications).
    ("POST", "/v1/me/devices"): (
        EVERYONE,
        "/v1/me/devices",
        {"token": "matrix-token", "platform": "android", "locale": "fr-FR"},
    ),
    ("DELETE", "/v1/me/devices/{token}"): (EVERYONE, "/v1/me/devices/{device}", None),
    ("POST", "/v1/reports/{report_id}/follow"): (EVERYONE, "/v1/reports/{report}/follow", None),
    ("DELETE", "/v1/reports/{report_id}/follow"): (
        EVERYONE,
        "/v1/reports/{report}/follow",
        None,
    ),
    ("GET", "/v1/me/notification-preferences"): (
        EVERYONE,
        "/v1/me/notification-preferences",
        None,
    ),
    ("PUT", "/v1/me/notification-preferences"): (
        EVERYONE,
        "/v1/me/notification-preferences",
        {"push": {"update": False}, "quiet_hours": {"start": "22:00", "end": "07:00"}},
    ),
    ("GET", "/v1/me/notifications"): (EVERYONE, "/v1/me/notifications", None),
    ("POST", "/v1/me/notifications/read-all"): (EVERYONE, "/v1/me/notifications/read-all", {}),
    ("POST", "/v1/me/notifications/{notification_id}/read"): (
        EVERYONE,
        "/v1/me/notifications/{notification}/read",
        None,
    ),
    # Area alerts: every caller has their own subscriptions; another's is 404.
    ("GET", "/v1/me/area-subscriptions"): (EVERYONE, "/v1/me/area-subscriptions", None),
    ("POST", "/v1/me/area-subscriptions"): (
        EVERYONE,
        "/v1/me/area-subscriptions",
        {"point": {"lon": 5.0415, "lat": 47.322}, "radius_m": 500, "categories": ["pothole"]},
    ),
    ("GET", "/v1/me/area-subscriptions/{subscription_id}"): (
        EVERYONE,
        "/v1/me/area-subscriptions/{subscription}",
        None,
    ),
    ("PUT", "/v1/me/area-subscriptions/{subscription_id}"): (
        EVERYONE,
        "/v1/me/area-subscriptions/{subscription}",
        {"commune": "21231", "label": "Dijon"},
    ),
    ("DELETE", "/v1/me/area-subscriptions/{subscription_id}"): (
        EVERYONE,
        "/v1/me/area-subscriptions/{subscription}",
        None,
    ),
    # Notification titles: read by the desks, edited as the message templates are.
    ("GET", "/v1/notification-titles"): ({AG, S, AD}, "/v1/notification-titles", None),
    ("PUT", "/v1/notification-titles/{kind}"): (
        {S, AD},
        "/v1/notification-titles/resolved",
        {"text_fr": "Réglé : {reference}", "text_en": "Sorted: {reference}"},
    ),
    # Open data: anyone, with or without a token.
    ("GET", "/v1/opendata/files"): (PUBLIC, "/v1/opendata/files", None),
    ("GET", "/v1/opendata/files/{name}"): (PUBLIC, "/v1/opendata/files/reports.csv", None),
    **{
        ("GET", f"/v1/opendata/statistics/{table}"): (
            PUBLIC,
            f"/v1/opendata/statistics/{table}",
            None,
        )
        for table in ("reports-by-month", "resolution-times", "service-level", "sources")
    },
    ("GET", "/v1/opendata/catalog"): (PUBLIC, "/v1/opendata/catalog", None),
    ("GET", "/v1/opendata/schemas/{name}.json"): (
        PUBLIC,
        "/v1/opendata/schemas/reports.json",
        None,
    ),
}
# The state a ticket is put in before the action is tried (default: new).
TICKET_STATES = {
    "note": "assigned",
    "public-update": "assigned",
    "reopen": "resolved",
    "close": "resolved",
    "start": "assigned",
    "resolve": "in_progress",
    "hand-back": "assigned",
}

CALLERS = [
    "no token",
    "malformed header",
    "bad token",
    "expired token",
    "anonymous resident",
    *[r.value for r in Role],
]


def test_every_operation_of_the_api_is_in_the_matrix(app):
    spec = app.test_client().get("/openapi.json").get_json()
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    }
    assert operations == set(MATRIX)


def a_report(client, token_for) -> int:
    """A report filed by someone else than the caller under test."""
    headers = {
        "Authorization": f"Bearer {token_for(Role.RESIDENT, uid='someone-else')}",
        "Idempotency-Key": "a-report",
    }
    response = client.post(
        "/v1/reports",
        headers=headers,
        json={
            "category": "pothole",
            "location": {"lon": 5.0415, "lat": 47.322},
            "answers": {"size": "small"},
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def a_ready_photo(app, client, token_for, report_id: int) -> dict:
    """A processed photo on that report (processed here, as the worker would)."""
    from app.extensions import db
    from app.reports.photos import process_photo

    headers = {
        "Authorization": f"Bearer {token_for(Role.RESIDENT, uid='someone-else')}",
        "Idempotency-Key": "a-photo",
    }
    response = client.post(
        f"/v1/reports/{report_id}/photos",
        headers=headers,
        data={"file": (io.BytesIO(jpeg()), "photo.jpg")},
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    photo_id = response.get_json()["id"]
    with app.app_context():
        assert process_photo(db.session, photo_id) == "ready"
        db.session.remove()
    return client.get(f"/v1/reports/{report_id}/photos/{photo_id}", headers=headers).get_json()


def an_asset(app) -> None:
    """The street light SL-000001, to read or delete."""
    from app.assets.service import put_asset
    from app.extensions import db

    with app.app_context():
        put_asset(
            db.session,
            "SL-000001",
            {
                "kind": "street_light",
                "status": "in_service",
                "location": {"lon": 5.0415, "lat": 47.322},
            },
        )
        db.session.remove()


def an_open311_key(app) -> None:
    """Partner key 1, to revoke."""
    from app.auth.identity import Identity
    from app.extensions import db
    from app.open311.service import create_key

    with app.app_context():
        admin = Identity(uid="an-admin", role=AD, anonymous=False, email=None)
        create_key(db.session, actor=admin, name="Partner", contact=None, rate_limit="1/minute")
        db.session.remove()


def connected_equipment(app) -> int:
    """SL-000001 and TS-000001 reported by a feed, the street lights run by the lighting
    desk, and a command to TS-000001 awaiting a second person (another supervisor asked
    for it): its id."""
    from sqlalchemy import text

    from app.assets.service import put_asset
    from app.equipment.models import EquipmentCommand
    from app.extensions import db
    from app.feeds.service import put_feed
    from app.organisation.service import create_rule

    with app.app_context():
        session = db.session
        feed, _ = put_feed(
            session,
            "equipment",
            {
                "kind": "streetlights",
                "format": "ngsi-ld",
                "source_url": "http://127.0.0.1:9/ngsi-ld/v1/entities?type=Streetlight",
                "poll_interval_seconds": 60,
                "freshness_limit_seconds": 600,
                "enabled": True,
            },
        )
        assets = {}
        for reference, kind in (("SL-000001", "street_light"), ("TS-000001", "traffic_signal")):
            asset, _ = put_asset(
                session,
                reference,
                {"kind": kind, "status": "in_service", "location": {"lon": 5.0415, "lat": 47.322}},
            )
            assets[reference] = asset.id
            session.execute(
                text(
                    "INSERT INTO asset_live_states (asset_id, feed_id, entity_id, entity_type,"
                    " observed_at) VALUES (:asset, :feed, :entity, 'Streetlight', now())"
                    " ON CONFLICT DO NOTHING"
                ),
                {"asset": asset.id, "feed": feed.id, "entity": f"urn:ngsi-ld:X:{reference}"},
            )
        create_rule(
            session,
            {"name": "Lumière", "priority": 3, "desk": "eclairage", "category": "streetlight_out"},
        )
        command = EquipmentCommand(
            asset_id=assets["TS-000001"],
            name="flashing_amber",
            reason="Manifestation",
            state="pending_confirmation",
            requested_by="other-supervisor",
            requested_role="supervisor",
            feed_id=feed.id,
            entity_id="urn:ngsi-ld:X:TS-000001",
            entity_type="TrafficSignal",
            patch={},
            expected={"mode": "flashing_amber"},
            created_at=session.scalar(text("SELECT now()")),
        )
        session.add(command)
        session.commit()
        command_id = command.id
        db.session.remove()
    return command_id


def a_feed(app) -> None:
    """The feed "parkings", to read, poll or delete."""
    from app.extensions import db
    from app.feeds.service import put_feed

    with app.app_context():
        put_feed(
            db.session,
            "parkings",
            {
                "kind": "parking",
                "format": "ngsi-ld-document",
                "source_url": "http://127.0.0.1:9/parkings.json",
                "poll_interval_seconds": 60,
                "freshness_limit_seconds": 600,
                "enabled": True,
            },
        )
        db.session.remove()


def a_parking(app) -> int:
    """A car park of the feed "parkings", with its id, for its history."""
    from shapely.geometry import Point

    from app import clock
    from app.extensions import db
    from app.feeds.models import FeedEntity
    from app.feeds.service import get_feed, store_states
    from app.feeds.states import EntityState

    a_feed(app)
    with app.app_context():
        feed = get_feed(db.session, "parkings")
        state = EntityState(
            entity_id="urn:ngsi-ld:OffStreetParking:P1",
            entity_type="OffStreetParking",
            geom=Point(5.0415, 47.322),
            observed_at=clock.now(db.session),
        )
        store_states(db.session, feed.id, [state])
        db.session.commit()
        parking_id = db.session.query(FeedEntity.id).scalar()
        db.session.remove()
    return parking_id


def an_export(app) -> None:
    """The open data files, as the nightly job leaves them."""
    from app.extensions import db
    from app.opendata.service import export_reports, settings
    from app.photos.service import storage

    with app.app_context():
        export_reports(db.session, storage(), **settings(app.config))
        db.session.remove()


def a_routing_rule_and_a_spare_crew(app) -> tuple[int, str]:
    """Something for the routing-rule and crew operations to replace or delete."""
    from app.extensions import db
    from app.organisation.service import create_rule, put_crew

    with app.app_context():
        rule = create_rule(db.session, {"name": "Voirie", "priority": 100, "desk": "voirie"})
        put_crew(db.session, code="spare-crew", name="Spare", desk="voirie")
        rule_id = rule.id
        db.session.remove()
    return rule_id, "spare-crew"


def a_ticket(app, report_id: int, action: str) -> int:
    """Put the report at the agent's desk (voirie), assigned to the crew's crew, in a state
    the action is allowed from; returns another open report (a merge target)."""
    from sqlalchemy import select, update

    from app.extensions import db
    from app.organisation.models import Crew, Desk
    from app.reports.models import Report
    from app.triage.templates import put_template

    with app.app_context():
        session = db.session
        desk = session.scalar(select(Desk.id).where(Desk.code == "voirie"))
        crew = session.scalar(select(Crew.id).where(Crew.code == "voirie-nord"))
        values = {"desk_id": desk, "crew_id": crew}
        session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(**values, status=TICKET_STATES.get(action, "new"))
        )
        original = session.get(Report, report_id)
        target_id = make_report(
            session,
            category_id=original.category_id,
            reporter="another",
            geom=original.geom,
            commune=None,
            **values,
        )
        # Something for DELETE to remove.
        put_template(
            session,
            actor=type("Actor", (), {"uid": "matrix"})(),
            status="resolved",
            category_code="pothole",
            text_fr="Réparé",
            text_en="Fixed",
        )
        db.session.remove()
    return target_id


def a_device(client, headers) -> str:
    """The caller's own device token, to remove."""
    client.post(
        "/v1/me/devices", headers=headers, json={"token": "matrix-device", "platform": "ios"}
    )
    return "matrix-device"


def a_subscription(client, headers) -> int:
    """An area subscription of the caller's (when the caller is someone)."""
    response = client.post("/v1/me/area-subscriptions", headers=headers, json={"commune": "21231"})
    return response.get_json()["id"] if response.status_code == 201 else 1


def a_notification(app, client, token_for, headers) -> int:
    """A notification of the caller's (when the caller is someone), to mark read."""
    from app.extensions import db
    from app.notifications.models import Notification
    from app.triage.models import ReportEvent

    me = client.get("/v1/me", headers=headers)
    if me.status_code != 200:
        return 1
    report_id = a_report(client, token_for)
    with app.app_context():
        event = ReportEvent(
            report_id=report_id,
            actor_uid="matrix",
            actor_role="agent",
            action="public_update",
            from_status="new",
            to_status="new",
            public=True,
            message_fr="Passage lundi",
            message_en="Coming on Monday",
        )
        db.session.add(event)
        db.session.flush()
        notification = Notification(
            uid=me.get_json()["uid"],
            report_id=report_id,
            event_id=event.id,
            kind="update",
            language="fr",
            title="Du nouveau",
            body="Passage lundi",
            data={"report_id": str(report_id), "reference": "-", "status": "new", "kind": "update"},
            collapse_key=f"report-{report_id}",
        )
        db.session.add(notification)
        db.session.commit()
        notification_id = notification.id
        db.session.remove()
    return notification_id


def fill(body, **values):
    """``body`` with every "{name}" string replaced by ``values[name]``."""
    if isinstance(body, dict):
        return {key: fill(value, **values) for key, value in body.items()}
    if isinstance(body, list):
        return [fill(item, **values) for item in body]
    if isinstance(body, str) and body.startswith("{") and body[1:-1] in values:
        return values[body[1:-1]]
    return body


def headers_for(caller: str, token_for) -> dict:
    if caller == "no token":
        return {}
    if caller == "malformed header":
        return {"Authorization": "Token abc"}
    if caller == "bad token":
        return {"Authorization": "Bearer not-a-jwt"}
    if caller == "expired token":
        expired = mint_emulator_token(PROJECT_ID, "late", issued_at=time.time() - 7200)
        return {"Authorization": f"Bearer {expired}"}
    if caller == "anonymous resident":
        return {"Authorization": f"Bearer {token_for(Role.RESIDENT, anonymous=True)}"}
    return {"Authorization": f"Bearer {token_for(Role(caller))}"}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda op: f"{op[0]} {op[1]}")
def test_access(app, client, token_for, operation, caller):
    allowed, url, body = MATRIX[operation]
    method = operation[0]
    # One identity per test: what is set up for the caller must be theirs.
    caller_headers = headers_for(caller, token_for)
    if method != "GET" or operation[1] == "/v1/admin/users/{uid}":
        token_for(Role.AGENT, uid="target-user")  # something to read, replace or delete
    if "/assets/" in url:
        an_asset(app)
    if "/open311-keys/" in url:
        an_open311_key(app)
    if "/feeds/" in url:
        a_feed(app)
    if "command" in url:
        url = url.replace("{command}", str(connected_equipment(app)))
    if "/opendata/files/" in url:
        an_export(app)
    if "{parking}" in url:
        url = url.replace("{parking}", str(a_parking(app)))
    if "{device}" in url:
        url = url.format(device=a_device(client, caller_headers))
    if "{subscription}" in url:
        url = url.format(subscription=a_subscription(client, caller_headers))
    if "{notification}" in url:
        notification = a_notification(app, client, token_for, caller_headers)
        url = url.format(notification=notification)
    if "{" in url:
        # The rule first: it routes the report to the voirie desk, which the agent works.
        rule_id, crew = a_routing_rule_and_a_spare_crew(app)
        report_id = a_report(client, token_for)
        photo = a_ready_photo(app, client, token_for, report_id)
        url = url.format(
            report=report_id, photo=photo["id"], media=photo["url"], rule=rule_id, crew=crew
        )
    headers = {**caller_headers, "Idempotency-Key": "matrix-1"}
    if "/actions" in url or "bulk-actions" in url or "message-templates/" in url:
        report_id = a_report(client, token_for)  # the same one if made above (replayed)
        action = url.rsplit("/", 1)[1]
        target = a_ticket(app, report_id, action)
        url = url.format(report=report_id)
        body = fill(body, report=report_id, target=target)
        if "/actions/" in url:
            headers["If-Match"] = '"1"'
    if "/photos/" in url and method != "GET":
        headers["If-Match"] = '"1"'  # the photo's first version
    if body == PHOTO:
        response = client.post(
            url, headers=headers, data={"file": (io.BytesIO(jpeg()), "photo.jpg")}
        )
    elif body == ASSET_FILE:
        response = client.post(
            url, headers=headers, data={"file": (io.BytesIO(ASSETS_CSV), "assets.csv")}
        )
    else:
        response = client.open(url, method=method, json=body, headers=headers)
    role = Role.RESIDENT.value if caller == "anonymous resident" else caller
    if allowed is BROKER_SECRET:
        assert response.status_code == 401, response.get_data(as_text=True)
        assert response.get_json()["code"] == "notification_unauthorized"
    elif allowed is PUBLIC:
        assert response.status_code < 400, response.get_data(as_text=True)
    elif role not in {r.value for r in Role}:
        assert response.status_code == 401
        assert response.get_json()["code"] in {
            "authentication_required",
            "token_invalid",
            "token_expired",
        }
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        if caller == "expired token":
            assert response.get_json()["code"] == "token_expired"
    elif Role(role) in allowed:
        assert response.status_code < 400, response.get_data(as_text=True)
    else:
        assert response.status_code == 403
        assert response.get_json()["code"] in {
            "forbidden_role",
            "not_your_report",
            "not_reporter_or_supporter",
            "photo_not_allowed",
            "staff_account_not_erasable",
            "photo_original_not_allowed",
            "equipment_not_your_desk",
            "command_not_yours",
        }, response.json


# --- who sees what of a report ----------------------------------------------------------------
# What a resident said (description, answers) and where exactly (the exact point and the
# address as typed) reach the reporter and the report's own staff only: agents of its desk,
# supervisors, admins and the crew holding it. Other staff see how it is handled (priority,
# due date, routing, crew) on its public projection; everyone else sees the public
# projection alone, the same as Open311's (tests/reports/test_public_projection.py).
SAID, EXACT, HANDLING, OWN = "said", "exact", "handling", "own"
SEES = {
    "its reporter": {SAID, EXACT, OWN},
    "another resident": set(),
    "anonymous resident": set(),
    "agent of its desk": {SAID, EXACT, HANDLING},
    "agent of another desk": {HANDLING},
    "supervisor": {SAID, EXACT, HANDLING},
    "admin": {SAID, EXACT, HANDLING},
    "crew holding it": {SAID, EXACT, HANDLING},
    "another crew": {HANDLING},
    # The CNIL correspondent checks the system, not the reports: the public projection.
    "privacy officer": set(),
}
FRONT_DOOR = (5.043217, 47.321789)
TYPED_ADDRESS = "Chez Zorglub Quenneville, 17 rue Chabot-Charny, 06 12 34 56 78"
SAID_TEXT = "Trou profond devant chez Mme Bernard"
ANSWERS = {"size": "large", "on_cycle_lane": True}


def a_report_at_a_front_door(app, client, token_for) -> dict:
    """A pothole filed at a front door with what its reporter said, routed to voirie and
    assigned to the crew voirie-nord; a register address on its street nearby."""
    from sqlalchemy import select, update

    from app.extensions import db
    from app.organisation.models import Crew
    from app.organisation.service import create_rule, put_crew
    from app.reports.models import Report
    from app.users.service import put_user
    from tests.addresses.conftest import add_addresses

    with app.app_context():
        session = db.session
        create_rule(session, {"name": "Voirie", "priority": 1, "desk": "voirie"})
        put_crew(session, code="voirie-sud", name="Voirie Sud", desk="voirie")
        put_user(session, actor=None, uid="lights-agent", role=AG, desks=["eclairage"])
        put_user(session, actor=None, uid="south-crew", role=C, crew="voirie-sud")
        add_addresses(
            session,
            [
                (
                    "21231_0999_00017",
                    17,
                    "",
                    "Rue Chabot-Charny",
                    "21000",
                    "21231",
                    "Dijon",
                    *FRONT_DOOR,
                )
            ],
        )
        session.remove()
    headers = {
        "Authorization": f"Bearer {token_for(R, uid='the-reporter')}",
        "Idempotency-Key": "front-door",
    }
    body = {
        "category": "pothole",
        "location": {"lon": FRONT_DOOR[0], "lat": FRONT_DOOR[1]},
        "address": TYPED_ADDRESS,
        "description": SAID_TEXT,
        "answers": ANSWERS,
        "contact": {"name": "Marguerite", "phone": "06 12 34 56 78"},
    }
    response = client.post("/v1/reports", headers=headers, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    report = response.get_json()
    with app.app_context():
        session = db.session
        crew = session.scalar(select(Crew.id).where(Crew.code == "voirie-nord"))
        session.execute(
            update(Report).where(Report.id == report["id"]).values(crew_id=crew, status="assigned")
        )
        session.commit()
        session.remove()
    return report


def viewer_headers(caller: str, token_for) -> dict:
    token = {
        "its reporter": lambda: token_for(R, uid="the-reporter"),
        "another resident": lambda: token_for(R),
        "anonymous resident": lambda: token_for(R, anonymous=True),
        "agent of its desk": lambda: token_for(AG),
        "agent of another desk": lambda: mint_emulator_token(PROJECT_ID, "lights-agent"),
        "supervisor": lambda: token_for(S),
        "admin": lambda: token_for(AD),
        "crew holding it": lambda: token_for(C),
        "another crew": lambda: mint_emulator_token(PROJECT_ID, "south-crew"),
        "privacy officer": lambda: token_for(PO),
    }[caller]()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("caller", sorted(SEES))
def test_who_sees_what_a_resident_said_and_where_exactly(app, client, token_for, caller):
    report = a_report_at_a_front_door(app, client, token_for)
    public = client.get(f"/open311/v2/requests/{report['reference']}.json").get_json()[0]
    headers = viewer_headers(caller, token_for)
    view = client.get(f"/v1/reports/{report['id']}", headers=headers)
    assert view.status_code == 200, view.get_data(as_text=True)
    view = view.get_json()
    sees = SEES[caller]
    said = {"description": SAID_TEXT, "answers": ANSWERS}
    if SAID in sees:
        assert {key: view.get(key) for key in said} == said
    else:
        assert not set(said) & set(view)
    if EXACT in sees:
        assert view["location"]["coordinates"] == list(FRONT_DOOR)
        assert view["address"] == TYPED_ADDRESS
    else:  # the public projection, the very one Open311 publishes
        assert view["location"]["coordinates"] == [public["long"], public["lat"]]
        assert view["address"] == public["address"] == "Rue Chabot-Charny 21000 Dijon"
    handling = {"priority", "due_at", "routing", "crew"}
    if HANDLING in sees:
        assert handling <= set(view)
        assert view["crew"] == {"code": "voirie-nord", "name": "Voirie Nord"}
    else:
        assert not handling & set(view)
    own = {"contact", "language", "accuracy_m"}
    assert (own <= set(view)) if OWN in sees else not (own & set(view))
    # The lists, the map and the suggestions are public for everyone, reporter and staff
    # included (staff work from the queues): the public projection alone.
    lon, lat = FRONT_DOOR
    for url in (
        f"/v1/reports?near={lon},{lat}&radius=200",
        f"/v1/reports/geojson?bbox={lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}",
        f"/v1/reports/suggestions?lon={lon}&lat={lat}&category=pothole",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        for secret in (SAID_TEXT, "Zorglub", "06 12 34 56 78", "rue Chabot", f"{lon:.5f}"):
            assert secret not in text, (url, secret)
        body = response.get_json()
        (item,) = body.get("items") or body["features"]
        location = item.get("location") or item["geometry"]
        address = item.get("address") or item["properties"]["address"]
        assert location["coordinates"] == [public["long"], public["lat"]], url
        assert address == public["address"], url
