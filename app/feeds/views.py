from flask.views import MethodView

from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.feeds import formats, service, subscriptions
from app.feeds.models import NAME_PATTERN, Feed
from app.feeds.schemas import FeedInSchema, FeedNamePathSchema, FeedSchema, PollRequestedSchema
from app.users.models import Role

blp = Blueprint(
    "feeds",
    __name__,
    url_prefix="/v1/admin",
    description="City sensor feeds: registry and health (admins)",
)

NAME_PARAMETER = [
    {
        "in": "path",
        "name": "name",
        "required": True,
        "schema": {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63},
    }
]


def present(feed: Feed) -> dict:
    if not feed.enabled:
        state = "disabled"
    elif feed.last_polled_at is None:
        state = "never_polled"
    elif feed.consecutive_failures:
        state = "failing"
    else:
        state = "ok"
    health = {
        key: getattr(feed, key)
        for key in (
            "last_polled_at",
            "last_success_at",
            "last_error_at",
            "last_error_code",
            "last_error",
            "consecutive_failures",
            "entities_seen",
            "entities_skipped",
            "skipped_examples",
            "source_ttl_seconds",
        )
    }
    subscription = subscriptions.subscription_of(db.session, feed.id)
    health["last_notification_at"] = subscription and subscription["last_notification_at"]
    health["subscription"] = subscription
    return {
        "name": feed.name,
        "kind": feed.kind,
        "format": feed.format,
        "source_url": feed.source_url,
        "poll_interval_seconds": feed.poll_interval_seconds,
        "freshness_limit_seconds": feed.freshness_limit_seconds,
        "enabled": feed.enabled,
        "subscribe": feed.subscribe,
        "next_poll_at": feed.next_poll_at,
        "health": {"state": state, **health},
        "created_at": feed.created_at,
        "updated_at": feed.updated_at,
    }


@blp.route("/feeds")
class Feeds(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.response(200, FeedSchema(many=True))
    def get(self):
        """Every feed with its health, by name"""
        return [present(feed) for feed in service.list_feeds(db.session)]


@blp.route("/feeds/<string:name>", parameters=NAME_PARAMETER)
class AdminFeed(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.response(200, FeedSchema)
    @blp.alt_response(404, description="No feed with this name", **PROBLEM_DOC)
    def get(self, name):
        """One feed with its health"""
        return present(service.get_feed(db.session, name))

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.arguments(FeedInSchema)
    @blp.response(200, FeedSchema)
    @blp.alt_response(
        422,
        description="Invalid field, or a format unable to carry this kind "
        f"(feed_kind_format_mismatch: {formats.narrow()}), or a subscription asked of a "
        "feed that has no broker (feed_not_subscribable)",
        **PROBLEM_DOC,
    )
    def put(self, data, name):
        """Create or replace a feed (its health and data are kept; it is polled soon)"""
        feed, _ = service.put_feed(db.session, name, data)
        return present(feed)

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No feed with this name", **PROBLEM_DOC)
    def delete(self, name):
        """Delete a feed, its entities and their history (disable it to keep them)"""
        service.delete_feed(db.session, name)


@blp.route("/feeds/<string:name>/polls", parameters=NAME_PARAMETER)
class FeedPolls(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.response(202, PollRequestedSchema)
    @blp.alt_response(404, description="No feed with this name", **PROBLEM_DOC)
    def post(self, name):
        """Poll the feed now (within seconds, by the worker), back-off or not"""
        feed = service.request_poll(db.session, name)
        return {"name": feed.name, "next_poll_at": feed.next_poll_at}
