"""Open311 errors: the spec's error documents, not problem+json, for every failure of an
Open311 endpoint (its own, and any our shared code raises while serving one).

Descriptions are in the request's language: French by default, English with
``Accept-Language: en``. The document's ``code`` is the HTTP status, as in the spec.
"""

from app import field_messages, i18n

# key -> {language: description}; descriptions say what to fix.
MESSAGES: dict[str, dict[str, str]] = {
    "not_found": {
        "fr": "Aucune ressource Open311 à cette adresse : les points d'accès sont listés par "
        "/open311/v2/discovery.xml.",
        "en": "No Open311 resource at this address: /open311/v2/discovery.xml lists the endpoints.",
    },
    "method_not_allowed": {
        "fr": "Méthode {method} non acceptée ici ; méthodes acceptées : {allowed}.",
        "en": "Method {method} is not accepted here; accepted methods: {allowed}.",
    },
    "service_not_found": {
        "fr": "Aucun service n'a le code {code} : la liste est donnée par services.xml.",
        "en": "No service has the code {code}: services.xml lists them.",
    },
    "request_not_found": {
        "fr": "Aucune demande publique n'a l'identifiant {id}.",
        "en": "No public service request has the id {id}.",
    },
    "token_not_found": {
        "fr": "Aucune demande n'a été créée avec le jeton {token}.",
        "en": "No service request was created with the token {token}.",
    },
    "jurisdiction_not_found": {
        "fr": "Juridiction inconnue {jurisdiction} : ce serveur ne sert que {ours}.",
        "en": "Unknown jurisdiction {jurisdiction}: this server only serves {ours}.",
    },
    "invalid_parameter": {
        "fr": "Paramètre {name} invalide : {reason}.",
        "en": "Invalid parameter {name}: {reason}.",
    },
    "date_range_too_long": {
        "fr": "La période de start_date à end_date dépasse {days} jours : "
        "demandez-la en plusieurs fois.",
        "en": "The range from start_date to end_date is longer than {days} days: "
        "ask for it in several parts.",
    },
    "location_required": {
        "fr": "Lieu manquant : envoyez lat et long (coordonnées WGS 84 du problème), ou "
        "address_string (numéro, voie et commune), ou address_id (identifiant BAN).",
        "en": "Missing place: send lat and long (the problem's WGS 84 coordinates), or "
        "address_string (number, street and commune), or address_id (a BAN id).",
    },
    "address_not_found": {
        "fr": "Adresse introuvable : « {address} » ne correspond à aucune adresse de Dijon "
        "Métropole ; vérifiez le numéro, la voie et la commune, ou envoyez lat et long.",
        "en": "Address not found: “{address}” matches no address of Dijon Métropole; check "
        "the number, street and commune, or send lat and long.",
    },
    "address_ambiguous": {
        "fr": "Adresse ambiguë : « {address} » peut désigner {candidates} ; précisez le "
        "numéro, la voie et la commune (ou le code postal), ou envoyez lat et long.",
        "en": "Ambiguous address: “{address}” may be {candidates}; give the number, street "
        "and commune (or postcode), or send lat and long.",
    },
    "address_id_not_found": {
        "fr": "Aucune adresse n'a l'identifiant BAN {id} dans le registre de Dijon Métropole.",
        "en": "No address has the BAN id {id} in Dijon Métropole's register.",
    },
    "api_key_required": {
        "fr": "Clé d'API manquante : envoyez le paramètre api_key que la Métropole vous a délivré.",
        "en": "Missing API key: send the api_key parameter Dijon Métropole issued to you.",
    },
    "api_key_invalid": {
        "fr": "Clé d'API invalide ou révoquée : demandez une clé à la Métropole.",
        "en": "Invalid or revoked API key: ask Dijon Métropole for a key.",
    },
    "rate_limited": {
        "fr": "Trop de demandes pour cette clé d'API : réessayez dans {retry_after} s.",
        "en": "Too many requests for this API key: try again in {retry_after} s.",
    },
    "request_too_large": {
        "fr": "Requête trop volumineuse.",
        "en": "The request is too large.",
    },
    "service_unavailable": {
        "fr": "Service momentanément indisponible : réessayez dans quelques instants.",
        "en": "Service temporarily unavailable: try again in a moment.",
    },
    "internal_error": {
        "fr": "Erreur interne : nous avons été prévenus ; réessayez plus tard.",
        "en": "Internal error: we have been told; try again later.",
    },
}


def describe(key: str, /, **params) -> str:
    texts = MESSAGES[key]
    text = texts.get(i18n.request_language()) or texts["fr"]
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


class Open311Error(Exception):
    """An Open311 failure: the status and one or more descriptions."""

    def __init__(
        self, status: int, key: str | None = None, /, descriptions=(), headers=None, **params
    ):
        super().__init__(key or status)
        self.status = status
        self.descriptions = list(descriptions) or [describe(key, **params)]
        self.headers = headers or {}


def not_found(key: str, **params) -> Open311Error:
    return Open311Error(404, key, **params)


def bad_parameter(name: str, reason: str) -> Open311Error:
    reason = field_messages.translate(reason)
    return Open311Error(400, "invalid_parameter", name=name, reason=reason)
