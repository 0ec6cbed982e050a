import pytest

from app.notifications.fcm import FirebaseSender
from tests.conftest import PROJECT_ID
from tools.fcm_standin import FcmStandIn


@pytest.fixture
def standin():
    """FCM's HTTP v1 send endpoint, stood in on 127.0.0.1."""
    server = FcmStandIn(PROJECT_ID).start()
    yield server
    server.stop()


@pytest.fixture
def sender(standin):
    """firebase-admin's real messaging client, pointed at the stand-in."""
    return FirebaseSender(project_id=PROJECT_ID, credentials="static-token", endpoint=standin.url)
