"""What the web pages load from static/: our own files, and of the npm packages installed in
static/node_modules only the files a page loads (listed here). The rest of the packages
(their sources, manifests, test suites: hundreds of megabytes) and the npm manifests are
not served."""

from flask import Flask, abort

# Files (or folders, ending with "/") of static/node_modules that pages load.
PACKAGE_FILES = (
    "leaflet/dist/leaflet.js",
    "leaflet/dist/leaflet.css",
    "leaflet/dist/images/",
    "firebase/firebase-app-compat.js",
    "firebase/firebase-auth-compat.js",
    # The resident page's category icons (static/report/icons.js names the ones it uses).
    "lucide-static/icons/",
)
PACKAGES = "node_modules/"
NOT_SERVED = ("package.json", "package-lock.json", "README.md")


def served(filename: str) -> bool:
    if filename in NOT_SERVED:
        return False
    if not filename.startswith(PACKAGES):
        return True
    inside = filename.removeprefix(PACKAGES)
    return any(
        inside.startswith(entry) if entry.endswith("/") else inside == entry
        for entry in PACKAGE_FILES
    )


def init_app(app: Flask) -> None:
    """Flask's static route answers 404 for what pages do not load."""
    serve = app.view_functions["static"]

    def static(filename):
        if not served(filename):
            abort(404)
        return serve(filename=filename)

    app.view_functions["static"] = static
