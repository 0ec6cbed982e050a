"""Both storage backends, the S3 one against an S3 stand-in served on 127.0.0.1 (moto)."""

import io
import socket
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from app.extensions import db
from app.reports.photos import process_photo
from app.storage import FilesystemStorage, S3Storage, from_config
from app.users.models import Role
from tests.conftest import make_app
from tests.photos.images import jpeg

CREDENTIALS = {
    "S3_ACCESS_KEY_ID": "testing",
    "S3_SECRET_ACCESS_KEY": "testing",
    "S3_REGION": "eu-west-3",
}


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    name = f"signale-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="eu-west-3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    return name


def backends(tmp_path, s3_endpoint, bucket):
    return [
        FilesystemStorage(tmp_path),
        S3Storage(
            bucket,
            endpoint_url=s3_endpoint,
            region="eu-west-3",
            access_key="testing",
            secret_key="testing",
        ),
    ]


def test_both_backends_keep_read_and_forget(tmp_path, s3_endpoint, bucket):
    for store in backends(tmp_path, s3_endpoint, bucket):
        assert not store.exists("display/ab/x.jpg")
        store.put("display/ab/x.jpg", b"bytes")
        assert store.exists("display/ab/x.jpg")
        assert store.get("display/ab/x.jpg") == b"bytes"
        store.delete("display/ab/x.jpg")
        assert not store.exists("display/ab/x.jpg")
        with pytest.raises(FileNotFoundError):
            store.get("display/ab/x.jpg")


def test_both_backends_take_a_file_and_give_it_back_as_a_stream(tmp_path, s3_endpoint, bucket):
    source = tmp_path / "export.csv"
    source.write_bytes(b"reference\n" * 200_000)
    for store in backends(tmp_path / "root", s3_endpoint, bucket):
        store.put_file("opendata/ab/x.csv", source, "text/csv")
        with store.open("opendata/ab/x.csv") as stream:
            assert stream.read(10) == b"reference\n"
            assert len(stream.read()) == source.stat().st_size - 10
        store.delete("opendata/ab/x.csv")
        with pytest.raises(FileNotFoundError):
            store.open("opendata/ab/x.csv")


def test_the_filesystem_backend_refuses_keys_leaving_its_root(tmp_path):
    with pytest.raises(ValueError):
        FilesystemStorage(tmp_path).put("../escape", b"x")


def test_the_configuration_selects_the_backend(tmp_path):
    assert isinstance(
        from_config({"STORAGE_BACKEND": "filesystem", "MEDIA_ROOT": tmp_path}), FilesystemStorage
    )
    with pytest.raises(ValueError, match="S3_BUCKET"):
        from_config({"STORAGE_BACKEND": "s3"})
    with pytest.raises(ValueError, match="filesystem or s3"):
        from_config({"STORAGE_BACKEND": "floppy"})


def test_photos_go_through_s3_end_to_end(app, database_url, s3_endpoint, bucket, token_for):
    s3_app = make_app(
        database_url,
        STORAGE_BACKEND="s3",
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=s3_endpoint,
        **CREDENTIALS,
    )
    client = s3_app.test_client()
    me = {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='s3-user')}"}
    report_id = client.post(
        "/v1/reports",
        headers={**me, "Idempotency-Key": "r"},
        json={"category": "other", "location": {"lon": 5.0415, "lat": 47.322}},
    ).get_json()["id"]
    photo_id = client.post(
        f"/v1/reports/{report_id}/photos",
        headers={**me, "Idempotency-Key": "p"},
        data={"file": (io.BytesIO(jpeg()), "p.jpg")},
    ).get_json()["id"]
    with s3_app.app_context():
        assert process_photo(db.session, photo_id) == "ready"
        db.session.remove()
    photo = client.get(f"/v1/reports/{report_id}/photos/{photo_id}", headers=me).get_json()
    image = client.get(photo["url"])
    assert image.status_code == 200 and image.data[:2] == b"\xff\xd8"
    keys = {
        o["Key"]
        for o in boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="eu-west-3",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).list_objects_v2(Bucket=bucket)["Contents"]
    }
    # The upload deleted; the unblurred original kept apart from the public files.
    assert {k.split("/")[0] for k in keys} == {"display", "thumbnails", "originals"}
