from flask import current_app
from flask.views import MethodView

from app.auth.identity import current_identity, roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.notifications import areas, devices, following, inbox, preferences, titles
from app.notifications.schemas import (
    NOTIFICATION_ID_PARAMETER,
    SUBSCRIPTION_ID_PARAMETER,
    TITLE_KIND_PARAMETER,
    TOKEN_PARAMETER,
    AreaSubscriptionInSchema,
    AreaSubscriptionSchema,
    DeviceInSchema,
    DeviceSchema,
    FollowSchema,
    MarkAllReadInSchema,
    MarkAllReadSchema,
    NotificationIdPathSchema,
    NotificationListArgsSchema,
    NotificationPageSchema,
    NotificationPreferencesInSchema,
    NotificationPreferencesSchema,
    NotificationSchema,
    SubscriptionIdPathSchema,
    TitleInSchema,
    TitleKindPathSchema,
    TitleSchema,
    TokenPathSchema,
)
from app.pagination import decode_cursor, encode_cursor, page_size
from app.reports.presentation import REPORT_ID_PARAMETER
from app.reports.schemas import ReportIdPathSchema
from app.users.models import Role

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/v1",
    description="Residents' devices (push), in-app notifications, area alerts, and the "
    "notifications' titles",
)
# Who edits what residents are told: as the triage message templates.
TITLE_EDITORS = (Role.SUPERVISOR, Role.ADMIN)


@blp.route("/me/devices")
class Devices(MethodView):
    @roles_required(blp)
    @blp.arguments(DeviceInSchema)
    @blp.response(200, DeviceSchema)
    def post(self, data):
        """Register this device's FCM token (again: updates it, re-enables it)"""
        return devices.register_device(db.session, uid=current_identity().uid, **data)


@blp.route("/me/devices/<string:token>", parameters=TOKEN_PARAMETER)
class DeviceByToken(MethodView):
    @roles_required(blp)
    @blp.arguments(TokenPathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No such token of the caller's", **PROBLEM_DOC)
    def delete(self, token):
        """Forget a device: no more pushes to it"""
        devices.remove_device(db.session, uid=current_identity().uid, token=token)


@blp.route("/me/notifications")
class Notifications(MethodView):
    @roles_required(blp)
    @blp.arguments(NotificationListArgsSchema, location="query")
    @blp.response(200, NotificationPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """The caller's notifications, newest first (cursor paginated), and the unread count"""
        (before,) = decode_cursor(args["cursor"], 1, parse=_id_key) or (None,)
        page = inbox.feed(
            db.session,
            uid=current_identity().uid,
            before=before,
            limit=page_size(args["limit"]),
        )
        cursor = page["next_cursor"]
        return {**page, "next_cursor": encode_cursor([cursor]) if cursor else None}


@blp.route("/me/notifications/read-all")
class ReadAll(MethodView):
    @roles_required(blp)
    @blp.arguments(MarkAllReadInSchema, required=False)
    @blp.response(200, MarkAllReadSchema)
    def post(self, data):
        """Mark the caller's notifications read (up to `up_to` if given)"""
        return inbox.mark_all_read(db.session, uid=current_identity().uid, up_to=data["up_to"])


@blp.route("/me/notifications/<int:notification_id>/read", parameters=NOTIFICATION_ID_PARAMETER)
class ReadOne(MethodView):
    @roles_required(blp)
    @blp.arguments(NotificationIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, NotificationSchema)
    @blp.alt_response(404, description="No such notification of the caller's", **PROBLEM_DOC)
    def post(self, notification_id):
        """Mark one notification read"""
        return inbox.mark_read(
            db.session, uid=current_identity().uid, notification_id=notification_id
        )


@blp.route("/me/notification-preferences")
class Preferences(MethodView):
    @roles_required(blp)
    @blp.response(200, NotificationPreferencesSchema)
    def get(self):
        """The caller's push preferences: kinds pushed, quiet hours"""
        return preferences.preferences(db.session, uid=current_identity().uid)

    @roles_required(blp)
    @blp.arguments(NotificationPreferencesInSchema)
    @blp.response(200, NotificationPreferencesSchema)
    def put(self, data):
        """Replace the caller's push preferences (the in-app feed gets everything anyway)"""
        return preferences.set_preferences(db.session, uid=current_identity().uid, **data)


@blp.route("/reports/<int:report_id>/follow", parameters=REPORT_ID_PARAMETER)
class Follow(MethodView):
    @roles_required(blp)
    @blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, FollowSchema)
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    def post(self, report_id):
        """Follow a report: be told of its public changes (its reporter always is)"""
        return following.follow(db.session, uid=current_identity().uid, report_id=report_id)

    @roles_required(blp)
    @blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    def delete(self, report_id):
        """Stop following a report (a supporter too: their support still counts)"""
        following.unfollow(db.session, uid=current_identity().uid, report_id=report_id)


@blp.route("/me/area-subscriptions")
class AreaSubscriptions(MethodView):
    @roles_required(blp)
    @blp.response(200, AreaSubscriptionSchema(many=True))
    def get(self):
        """The caller's area subscriptions, oldest first"""
        return areas.list_subscriptions(db.session, uid=current_identity().uid)

    @roles_required(blp)
    @blp.arguments(AreaSubscriptionInSchema)
    @blp.response(201, AreaSubscriptionSchema)
    @blp.alt_response(
        409,
        description="The caller already subscribes to this area (area_subscription_exists, "
        "with its subscription_id), or has the most subscriptions allowed "
        "(area_subscriptions_limit)",
        **PROBLEM_DOC,
    )
    @blp.alt_response(
        422,
        description="Point outside Dijon Métropole, unknown commune or category",
        **PROBLEM_DOC,
    )
    def post(self, data):
        """Subscribe to an area (a point and a radius up to 2 km, or a commune) and some
        categories: new public reports there are told at most once an hour"""
        return areas.create_subscription(
            db.session,
            uid=current_identity().uid,
            data=data,
            limit=int(current_app.config["AREA_SUBSCRIPTIONS_MAX"]),
        )


@blp.route("/me/area-subscriptions/<int:subscription_id>", parameters=SUBSCRIPTION_ID_PARAMETER)
class AreaSubscriptionById(MethodView):
    @roles_required(blp)
    @blp.arguments(SubscriptionIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, AreaSubscriptionSchema)
    @blp.alt_response(404, description="No such subscription of the caller's", **PROBLEM_DOC)
    def get(self, subscription_id):
        """One of the caller's area subscriptions"""
        return areas.get_subscription(
            db.session, uid=current_identity().uid, subscription_id=subscription_id
        )

    @roles_required(blp)
    @blp.arguments(SubscriptionIdPathSchema, location="path", as_kwargs=True)
    @blp.arguments(AreaSubscriptionInSchema)
    @blp.response(200, AreaSubscriptionSchema)
    @blp.alt_response(404, description="No such subscription of the caller's", **PROBLEM_DOC)
    @blp.alt_response(
        409, description="Another subscription of the caller's has this area", **PROBLEM_DOC
    )
    @blp.alt_response(
        422,
        description="Point outside Dijon Métropole, unknown commune or category",
        **PROBLEM_DOC,
    )
    def put(self, data, subscription_id):
        """Replace an area subscription's area, categories and label"""
        return areas.update_subscription(
            db.session, uid=current_identity().uid, subscription_id=subscription_id, data=data
        )

    @roles_required(blp)
    @blp.arguments(SubscriptionIdPathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No such subscription of the caller's", **PROBLEM_DOC)
    def delete(self, subscription_id):
        """Unsubscribe from an area (its past alerts stay in the feed)"""
        areas.delete_subscription(
            db.session, uid=current_identity().uid, subscription_id=subscription_id
        )


@blp.route("/notification-titles")
class Titles(MethodView):
    @roles_required(blp, Role.AGENT, *TITLE_EDITORS)
    @blp.response(200, TitleSchema(many=True))
    def get(self):
        """The title of each kind of notification, edited or shipped, with its placeholders"""
        return titles.list_titles(db.session)


@blp.route("/notification-titles/<string:kind>", parameters=TITLE_KIND_PARAMETER)
class TitleByKind(MethodView):
    @roles_required(blp, *TITLE_EDITORS)
    @blp.arguments(TitleKindPathSchema, location="path", as_kwargs=True)
    @blp.arguments(TitleInSchema)
    @blp.response(200, TitleSchema)
    @blp.alt_response(422, description="Unknown placeholder (invalid_title)", **PROBLEM_DOC)
    def put(self, data, kind):
        """Replace the title of a kind of notification, in French and English (new
        notifications get it)"""
        return titles.put_title(db.session, actor=current_identity(), kind=kind, **data)


def _id_key(key: list) -> list:
    (value,) = key
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 2**62:
        raise ValueError("not a notification id")
    return [value]
