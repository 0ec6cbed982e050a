"""Configuration: settings that name files mean the same files for every process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_package
from app import ConfigurationError
from tests.conftest import make_app

PROJECT_ROOT = Path(app_package.__file__).resolve().parents[1]


def test_a_relative_media_root_is_under_the_project_root_whatever_the_current_directory(
    database_url, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    app = make_app(database_url, MEDIA_ROOT="var/media")
    assert app.config["MEDIA_ROOT"] == str(PROJECT_ROOT / "var" / "media")
    assert app.extensions["signale.storage"].root == PROJECT_ROOT / "var" / "media"
    # Resolving writes nothing: neither there nor in the current directory.
    assert list(tmp_path.iterdir()) == []


def test_a_process_started_from_another_directory_uses_the_same_media_root(tmp_path):
    """What a worker or a CLI command sees, given MEDIA_ROOT=var/media in the environment."""
    probe = "from app import create_app; print(create_app().config['MEDIA_ROOT'])"
    env = {**os.environ, "MEDIA_ROOT": "var/media", "PYTHONPATH": str(PROJECT_ROOT)}
    seen = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.strip() == str(PROJECT_ROOT / "var" / "media")


def test_an_absolute_media_root_is_kept(database_url, tmp_path):
    app = make_app(database_url, MEDIA_ROOT=str(tmp_path / "media"))
    assert app.config["MEDIA_ROOT"] == str(tmp_path / "media")


def test_production_refuses_a_relative_media_root(database_url, monkeypatch):
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    with pytest.raises(ConfigurationError, match="MEDIA_ROOT must be an absolute path"):
        make_app(
            database_url,
            SIGNALE_ENV="production",
            FIREBASE_AUTH_EMULATOR_HOST="",
            MEDIA_ROOT="var/media",
        )


def test_production_with_s3_storage_does_not_need_a_media_root(database_url, monkeypatch):
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    app = make_app(
        database_url,
        SIGNALE_ENV="production",
        FIREBASE_AUTH_EMULATOR_HOST="",
        STORAGE_BACKEND="s3",
        S3_BUCKET="signale-photos",
        S3_ENDPOINT_URL="http://127.0.0.1:9",
        MEDIA_ROOT="var/media",
    )
    assert app.config["STORAGE_BACKEND"] == "s3"
