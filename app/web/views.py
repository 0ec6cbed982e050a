"""The landing page: what Signale is, and where its documentation and open data are.

A plain Flask blueprint, not flask-smorest's: pages are not operations of the API and stay
out of its OpenAPI document. Served as pages (app/ops/headers.py): a strict
Content-Security-Policy, never in a frame.
"""

from flask import Blueprint, make_response, render_template, request

from app import i18n
from app.ops import headers

blp = Blueprint("web", __name__, template_folder="templates")
headers.serve_pages(blp)

# language -> the page's words. French first; English one link away.
TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Signale — Dijon Métropole",
        "skip": "Aller au contenu",
        "organisation": "Dijon Métropole",
        "other_language": "English",
        "other_language_label": "Read this page in English",
        "heading": "Signale",
        "tagline": "Le service de signalement des problèmes de voirie de Dijon Métropole",
        "intro": (
            "Les habitants des 23 communes de la métropole signalent depuis l’application "
            "mobile un nid-de-poule, un lampadaire éteint, un feu tricolore en panne ou "
            "tout autre problème sur la voie publique. Signale transmet chaque signalement "
            "au bon pôle du centre de supervision urbain et à la bonne équipe de terrain, "
            "puis tient son auteur informé."
        ),
        "resources": "Ressources",
        "report": "Signaler un problème",
        "report_about": (
            "Pour les habitants, depuis n’importe quel téléphone : un nid-de-poule, un "
            "lampadaire éteint, un feu en panne… Suivez ensuite vos signalements."
        ),
        "crew": "Application des équipes de terrain",
        "crew_about": (
            "Pour les équipes sur le terrain : leurs interventions sur tablette, même sans "
            "réseau (connexion requise)."
        ),
        "console": "Console du centre de supervision",
        "console_about": (
            "Pour les agents, superviseurs et administrateurs : les files des pôles, la "
            "carte, les signalements et les équipements (connexion requise)."
        ),
        "docs": "Documentation de l’API",
        "docs_about": "Toutes les opérations de l’API, décrites et essayables dans le navigateur.",
        "openapi": "Document OpenAPI 3",
        "openapi_about": "La description de l’API lisible par les machines (JSON).",
        "opendata_files": "Données ouvertes : les fichiers",
        "opendata_files_about": (
            "Les signalements anonymisés et leurs statistiques, en CSV, GeoJSON et "
            "GeoParquet, sous Licence Ouverte 2.0 (liste en JSON)."
        ),
        "opendata_catalog": "Données ouvertes : le catalogue",
        "opendata_catalog_about": (
            "Les jeux de données, leurs schémas et leur fréquence de mise à jour "
            "(DCAT-AP, JSON-LD), pour les portails de données ouvertes."
        ),
        "footer": "Signale, un service de Dijon Métropole.",
    },
    "en": {
        "title": "Signale — Dijon Métropole",
        "skip": "Skip to content",
        "organisation": "Dijon Métropole",
        "other_language": "Français",
        "other_language_label": "Lire cette page en français",
        "heading": "Signale",
        "tagline": "Dijon Métropole’s road-issue reporting service",
        "intro": (
            "Residents of the metropolis’s 23 communes report a pothole, a street light "
            "out, a faulty traffic light or any other problem on the public road from the "
            "mobile app. Signale sends each report to the right desk of the city’s control "
            "centre and the right field crew, then keeps its author informed."
        ),
        "resources": "Resources",
        "report": "Report a problem",
        "report_about": (
            "For residents, from any phone: a pothole, a street light out, a faulty traffic "
            "light… Then follow your reports."
        ),
        "crew": "Field crews' app",
        "crew_about": (
            "For crews in the street: their tickets on a tablet, even without a network "
            "(sign-in required)."
        ),
        "console": "Control centre console",
        "console_about": (
            "For agents, supervisors and administrators: the desks' queues, the map, the "
            "reports and the equipment (sign-in required)."
        ),
        "docs": "API documentation",
        "docs_about": "Every operation of the API, described and ready to try in the browser.",
        "openapi": "OpenAPI 3 document",
        "openapi_about": "The machine-readable description of the API (JSON).",
        "opendata_files": "Open data: the files",
        "opendata_files_about": (
            "The anonymised reports and their statistics, as CSV, GeoJSON and GeoParquet, "
            "under the Licence Ouverte 2.0 (listed in JSON)."
        ),
        "opendata_catalog": "Open data: the catalogue",
        "opendata_catalog_about": (
            "The datasets, their schemas and how often they are updated (DCAT-AP, "
            "JSON-LD), for open data portals."
        ),
        "footer": "Signale, a service of Dijon Métropole.",
    },
}
assert all(TEXTS[lang].keys() == TEXTS[i18n.DEFAULT].keys() for lang in i18n.SUPPORTED)


def page_language() -> str:
    """``?lang=`` when it names a language of ours, else the best of Accept-Language."""
    asked = request.args.get("lang")
    return asked if asked in i18n.SUPPORTED else i18n.request_language()


@blp.get("/")
def landing():
    lang = page_language()
    other = next(code for code in i18n.SUPPORTED if code != lang)
    response = make_response(
        render_template("web/landing.html", lang=lang, other=other, t=TEXTS[lang])
    )
    # Without ?lang= the answer depends on Accept-Language.
    response.vary.add("Accept-Language")
    response.content_language = lang
    return response
