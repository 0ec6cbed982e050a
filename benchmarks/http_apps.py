"""The apps the HTTP ceiling benchmark serves through gunicorn.

- ``bare``: a WSGI callable returning a fixed JSON body: gunicorn's own ceiling here.
- ``flask``: the minimal Flask JSON endpoint: the ceiling every later endpoint compares to.
"""

import json

from flask import Flask, jsonify

BODY = json.dumps({"status": "ok"}).encode()


def bare(environ, start_response):
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


flask_app = Flask(__name__)


@flask_app.get("/healthz")
def healthz():
    return jsonify(status="ok")
