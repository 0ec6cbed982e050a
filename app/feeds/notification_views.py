"""The endpoint a context broker notifies: a feed's live state pushed (NGSI-LD)."""

import functools

from flask import request
from flask.views import MethodView

from app import clock
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.feeds import subscriptions
from app.feeds.broker import SECRET_HEADER
from app.feeds.schemas import BrokerNotificationReceivedSchema, BrokerNotificationSchema
from app.feeds.views import NAME_PARAMETER

blp = Blueprint(
    "feed_notifications",
    __name__,
    url_prefix="/v1/feeds",
    description="Notifications from the city's context broker (NGSI-LD subscriptions)",
)

SECRET_PARAMETER = {
    "in": "header",
    "name": SECRET_HEADER,
    "required": True,
    "schema": {"type": "string", "maxLength": 200},
    "description": "The subscription's secret, given to the broker in receiverInfo",
}


def secret_required(view):
    """Authenticate the broker before the body is read: a wrong secret learns nothing."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        secret = request.headers.get(SECRET_HEADER)
        name = (request.view_args or {}).get("name", "")
        subscription_pk = subscriptions.authenticate(db.session, name, secret)
        return view(*args, subscription_pk=subscription_pk, **kwargs)

    return wrapper


@blp.route("/<string:name>/notifications", parameters=[*NAME_PARAMETER, SECRET_PARAMETER])
class FeedNotifications(MethodView):
    @secret_required
    @blp.arguments(BrokerNotificationSchema)
    @blp.response(200, BrokerNotificationReceivedSchema)
    @blp.alt_response(
        401, description="Missing or wrong secret, or no such subscription", **PROBLEM_DOC
    )
    @blp.alt_response(
        410,
        description="A subscription of this feed Signale no longer keeps: delete it",
        **PROBLEM_DOC,
    )
    @blp.alt_response(
        413, description="Larger than the configured maximum request size", **PROBLEM_DOC
    )
    @blp.alt_response(
        422,
        description="Not an NGSI-LD notification, or no entity a poll of this feed would "
        "accept: nothing is stored",
        **PROBLEM_DOC,
    )
    def post(self, notification, name, subscription_pk):
        """Receive the entities a broker subscription notifies (stored as a poll stores
        them; a replayed notification changes nothing)"""
        return subscriptions.receive(
            db.session, subscription_pk, notification, now=clock.now(db.session)
        )
