"""Field messages in the request's language: the ``errors`` member of every problem.

marshmallow, webargs and our own checks write field messages in English ("Missing data
for required field.", "no active category pothole"). Rather than give every schema and
service its own translated copy, the problem renderer (:func:`app.errors.problem_response`)
passes the whole ``errors`` tree, nested fields and list items included, through
:func:`localise_errors`: each message found in :data:`FRENCH` is rewritten in French. A
message is known by its English template; ``{name}`` stands for the value it carries,
itself translated when it is a known message (``"{where}: ..."``). English is the
messages' own language: English requests get them as written.

tests/test_field_messages.py checks that every default message of marshmallow's fields
and validators, and every message of our schemas and ``errors=`` literals, is here.
"""

import re
import string
from functools import cache

from app import i18n

# English template -> French template. The library's first, then ours by domain.
FRENCH: dict[str, str] = {
    # --- marshmallow: fields and schemas -----------------------------------------------------
    "Missing data for required field.": "Champ obligatoire manquant.",
    "Field may not be null.": "Ce champ ne peut pas être null.",
    "Invalid value.": "Valeur invalide.",
    "Invalid type.": "Type invalide.",
    "Invalid input type.": "Type invalide : un objet JSON est attendu.",
    "Unknown field.": "Champ inconnu.",
    "Not a valid string.": "Texte attendu.",
    "Not a valid utf-8 string.": "Texte UTF-8 invalide.",
    "Not a valid integer.": "Nombre entier attendu.",
    "Not a valid number.": "Nombre attendu.",
    "Number too large.": "Nombre trop grand.",
    "Special numeric values (nan or infinity) are not permitted.": (
        "Les valeurs numériques spéciales (nan, infini) ne sont pas acceptées."
    ),
    "Not a valid boolean.": "Booléen attendu : true ou false.",
    "Not a valid list.": "Liste attendue.",
    "Not a valid tuple.": "Liste de valeurs attendue.",
    "Not a valid mapping type.": "Objet attendu.",
    "Not a valid email address.": "Adresse e-mail invalide.",
    "Not a valid URL.": "URL invalide.",
    "Not a valid UUID.": "UUID invalide.",
    "Not a valid IP address.": "Adresse IP invalide.",
    "Not a valid IPv4 address.": "Adresse IPv4 invalide.",
    "Not a valid IPv6 address.": "Adresse IPv6 invalide.",
    "Not a valid IP interface.": "Interface IP invalide.",
    "Not a valid IPv4 interface.": "Interface IPv4 invalide.",
    "Not a valid IPv6 interface.": "Interface IPv6 invalide.",
    "Not a valid period of time.": "Durée invalide.",
    "Not a valid datetime.": "Date et heure invalides : format ISO 8601 attendu.",
    "Not a valid date.": "Date invalide : format AAAA-MM-JJ attendu.",
    "Not a valid time.": "Heure invalide : format HH:MM:SS attendu.",
    "Not a valid aware datetime.": (
        "Date et heure invalides : donnez le fuseau horaire (par exemple "
        "2026-12-03T10:00:00+01:00 ou …Z)."
    ),
    "Not a valid naive datetime.": "Date et heure invalides : donnez-les sans fuseau horaire.",
    '"{input}" cannot be formatted as a datetime.': (
        "« {input} » ne peut pas être écrit comme une date et heure."
    ),
    '"{input}" cannot be formatted as a date.': (
        "« {input} » ne peut pas être écrit comme une date."
    ),
    '"{input}" cannot be formatted as a time.': (
        "« {input} » ne peut pas être écrit comme une heure."
    ),
    "{input!r} cannot be formatted as a timedelta.": (
        "{input} ne peut pas être écrit comme une durée."
    ),
    "Must be one of: {choices}.": "Valeur attendue parmi : {choices}.",
    # --- marshmallow: validators ---------------------------------------------------------------
    "Shorter than minimum length {min}.": "Trop court : longueur minimale {min}.",
    "Longer than maximum length {max}.": "Trop long : longueur maximale {max}.",
    "Length must be between {min} and {max}.": (
        "La longueur doit être comprise entre {min} et {max}."
    ),
    "Length must be {equal}.": "La longueur doit être de {equal}.",
    "Must be greater than or equal to {min}.": "Doit être supérieur ou égal à {min}.",
    "Must be greater than {min}.": "Doit être strictement supérieur à {min}.",
    "Must be less than or equal to {max}.": "Doit être inférieur ou égal à {max}.",
    "Must be less than {max}.": "Doit être strictement inférieur à {max}.",
    "Must be greater than or equal to {min} and less than or equal to {max}.": (
        "Doit être compris entre {min} et {max}."
    ),
    "Must be greater than {min} and less than or equal to {max}.": (
        "Doit être strictement supérieur à {min} et inférieur ou égal à {max}."
    ),
    "Must be greater than or equal to {min} and less than {max}.": (
        "Doit être supérieur ou égal à {min} et strictement inférieur à {max}."
    ),
    "Must be greater than {min} and less than {max}.": (
        "Doit être strictement compris entre {min} et {max}."
    ),
    "String does not match expected pattern.": "Le texte n'a pas le format attendu.",
    "Must be equal to {other}.": "Doit être égal à {other}.",
    "Invalid input.": "Valeur invalide.",
    "One or more of the choices you made was not in: {choices}.": (
        "Un ou plusieurs de vos choix ne sont pas parmi : {choices}."
    ),
    "One or more of the choices you made was in: {values}.": (
        "Un ou plusieurs de vos choix sont parmi les valeurs exclues : {values}."
    ),
    # --- webargs -------------------------------------------------------------------------------
    "Not a valid delimited list.": "Liste invalide : séparez les valeurs par des virgules.",
    "Not a valid delimited tuple.": "Liste de valeurs invalide : séparez-les par des virgules.",
    "Invalid JSON body.": "Le corps de la requête n'est pas du JSON valide.",
    # --- our schemas ---------------------------------------------------------------------------
    "expected lon,lat in decimal degrees": "attendu : lon,lat en degrés décimaux",
    "expected min_lon,min_lat,max_lon,max_lat": "attendu : min_lon,min_lat,max_lon,max_lat",
    "lower-case letters, digits and dashes, 1 to 40 characters": (
        "lettres minuscules, chiffres et tirets, de 1 à 40 caractères"
    ),
    "Not a month: give YYYY-MM (2026-01 to 2026-12).": (
        "Ce n'est pas un mois : donnez AAAA-MM (de 2026-01 à 2026-12)."
    ),
    "type must be one of: {types}": "type doit être parmi : {types}",
    "coordinates are required": "les coordonnées sont obligatoires",
    "must be a finite number": "doit être un nombre fini",
    "must not contain the NUL character (U+0000)": "ne doit pas contenir le caractère NUL (U+0000)",
    "must be valid Unicode: a lone UTF-16 surrogate (\\ud800 to \\udfff) is not a character": (
        "doit être de l'Unicode valide : un demi-codet UTF-16 isolé (\\ud800 à \\udfff) n'est pas "
        "un caractère"
    ),
    "invalid cursor": "curseur invalide",
    # --- reports, intake, routing --------------------------------------------------------------
    "outside the 23 communes of Dijon Métropole": "hors des 23 communes de Dijon Métropole",
    "give an email address to be told by e-mail": (
        "donnez une adresse e-mail pour être informé par e-mail"
    ),
    "no active category {code}": "aucune catégorie active n'a le code {code}",
    "no equipment {reference}": "aucun équipement n'a la référence {reference}",
    "{reference} is a {kind}": "{reference} est de type {kind}",
    "lon must be within ±180 and lat within ±90": (
        "lon doit être entre -180 et 180, et lat entre -90 et 90"
    ),
    "expected min_lon < max_lon and min_lat < max_lat within WGS 84 bounds": (
        "attendu : min_lon < max_lon et min_lat < max_lat, dans les limites du WGS 84"
    ),
    "the file is empty": "le fichier est vide",
    # --- category definitions and answers ------------------------------------------------------
    "question codes must be unique": "les codes des questions doivent être uniques",
    "give the urgent notice in both languages": "donnez l'avis urgent dans les deux langues",
    "a choice question needs choices": "une question à choix a besoin de choix",
    "choice keys must be unique": "les clés des choix doivent être uniques",
    "only choice questions have choices": "seules les questions à choix ont des choix",
    "min and max apply to number questions only": (
        "min et max ne s'appliquent qu'aux questions numériques"
    ),
    "min is greater than max": "min est supérieur à max",
    "no such question for category {code}": "la catégorie {code} n'a pas cette question",
    "this question needs an answer": "cette question demande une réponse",
    "expected text": "texte attendu",
    "at most {limit} characters": "{limit} caractères au plus",
    "expected a number": "nombre attendu",
    "must be at least {low}": "doit valoir au moins {low}",
    "must be at most {high}": "doit valoir au plus {high}",
    "expected true or false": "attendu : true ou false",
    "expected one of: {choices}": "attendu parmi : {choices}",
    "expected a list of choices": "liste de choix attendue",
    "a choice is repeated": "un choix est répété",
    "unknown choices: {unknown}; expected among: {choices}": (
        "choix inconnus : {unknown} ; attendus parmi : {choices}"
    ),
    # --- triage --------------------------------------------------------------------------------
    "no active crew {code}": "aucune équipe active n'a le code {code}",
    "{crew} works for another desk": "{crew} dépend d'un autre guichet",
    "the report is already at this desk": "le signalement est déjà à ce guichet",
    "the report already has this category": "le signalement a déjà cette catégorie",
    "a report cannot join itself": "un signalement ne peut pas être fusionné avec lui-même",
    "no report {id}": "aucun signalement n'a l'identifiant {id}",
    "must be between {earliest} and the server's time plus {minutes} minutes": (
        "doit être entre {earliest} et l'heure du serveur plus {minutes} minutes"
    ),
    # Message templates and notification titles.
    "{error}: write a brace as {{{{ or }}}}": "{error} : écrivez une accolade ainsi : {{{{ ou }}}}",
    "Single '}}' encountered in format string": "accolade « }} » isolée",
    "Single '{{' encountered in format string": "accolade « {{ » isolée",
    "expected '}}' before end of string": "« }} » attendue avant la fin du texte",
    "unknown placeholder {{{field}}}: use {placeholders}": (
        "champ inconnu {{{field}}} : utilisez {placeholders}"
    ),
    "{{{field}}} takes no format or conversion": "{{{field}}} ne prend ni format ni conversion",
    # --- organisation, users -------------------------------------------------------------------
    "unknown desk: {code}": "guichet inconnu : {code}",
    "unknown category: {code}": "catégorie inconnue : {code}",
    "unknown crew: {code}": "équipe inconnue : {code}",
    "{start} is not before {end}": "{start} n'est pas avant {end}",
    "give both starts_at and ends_at, or neither": (
        "donnez starts_at et ends_at ensemble, ou aucun des deux"
    ),
    "the window is empty: ends_at equals starts_at": (
        "la plage est vide : ends_at est égal à starts_at"
    ),
    "a Firebase uid has 1 to 128 characters": "un uid Firebase a de 1 à 128 caractères",
    "uids starting with {reserved} are reserved": "les uid commençant par {reserved} sont réservés",
    "residents have no staff account; DELETE the account instead": (
        "les résidents n'ont pas de compte du personnel : supprimez plutôt le compte (DELETE)"
    ),
    "a crew member must belong to a crew": "un membre d'équipe doit appartenir à une équipe",
    "a crew member works through their crew's desk, not desks": (
        "un membre d'équipe travaille pour le guichet de son équipe, sans guichets à lui"
    ),
    "only crew members belong to a crew, not the {role} role": (
        "seuls les membres d'équipe appartiennent à une équipe, pas le rôle {role}"
    ),
    "the {role} role needs at least one desk": "le rôle {role} a besoin d'au moins un guichet",
    # Geometries an admin sends (zones, areas).
    "point": "point",
    "polygon": "polygone",
    "polygon {index}": "polygone {index}",
    "{where} ring {index}": "{where}, anneau {index}",
    "{where}: a position is [longitude, latitude]": (
        "{where} : une position est [longitude, latitude]"
    ),
    "{where}: coordinates must be numbers": "{where} : les coordonnées doivent être des nombres",
    "{where}: coordinates must be finite numbers": (
        "{where} : les coordonnées doivent être des nombres finis"
    ),
    "{where}: longitude must be within -180..180 and latitude within -90..90": (
        "{where} : la longitude doit être entre -180 et 180, la latitude entre -90 et 90"
    ),
    "{where}: a polygon is a non-empty list of rings": (
        "{where} : un polygone est une liste non vide d'anneaux"
    ),
    "{where}: a ring needs at least 4 positions": "{where} : un anneau a au moins 4 positions",
    "{where}: the last position must repeat the first (closed ring)": (
        "{where} : la dernière position doit répéter la première (anneau fermé)"
    ),
    "a multipolygon is a non-empty list of polygons": (
        "un multipolygone est une liste non vide de polygones"
    ),
    "at most {limit} positions; simplify the outline": (
        "{limit} positions au plus : simplifiez le contour"
    ),
    "PostGIS cannot read this geometry; check its coordinates": (
        "PostGIS ne peut pas lire cette géométrie : vérifiez ses coordonnées"
    ),
    "the polygon has no area: give at least 3 distinct vertices": (
        "le polygone n'a pas de surface : donnez au moins 3 sommets distincts"
    ),
    "near longitude {lon}, latitude {lat}": "près de la longitude {lon}, latitude {lat}",
    "the outline crosses itself {at}: reorder the vertices so edges do not cross, or split "
    "it into several polygons": (
        "le contour se croise lui-même {at} : réordonnez les sommets pour que les côtés ne se "
        "croisent pas, ou découpez-le en plusieurs polygones"
    ),
    "a ring touches itself {at}: remove the repeated vertex": (
        "un anneau se touche lui-même {at} : retirez le sommet répété"
    ),
    "a hole lies outside its polygon {at}: move it inside or drop it": (
        "un trou est hors de son polygone {at} : placez-le à l'intérieur ou retirez-le"
    ),
    "a ring has too few distinct points {at}: use at least 3 distinct vertices": (
        "un anneau a trop peu de points distincts {at} : utilisez au moins 3 sommets distincts"
    ),
    # --- Open311 parameters -------------------------------------------------------------------
    "NUL character (U+0000)": "caractère NUL (U+0000)",
    "expected a W3C date-time, e.g. 2026-11-01T08:00:00+01:00": (
        "attendu : une date et heure W3C, par exemple 2026-11-01T08:00:00+01:00"
    ),
    "expected a whole number from {low} to {high}": "attendu : un nombre entier de {low} à {high}",
    "at most {limit} values": "{limit} valeurs au plus",
    "unexpected value {value}": "valeur inattendue {value}",
    "expected open, closed or open,closed": "attendu : open, closed ou open,closed",
    "before start_date": "avant start_date",
    "expected attribute[code] or attribute[code][]": (
        "attendu : attribute[code] ou attribute[code][]"
    ),
    # --- assets, feeds, mobility, notifications ------------------------------------------------
    "the file contains NUL characters": "le fichier contient des caractères NUL",
    "expected a GeoJSON FeatureCollection": "attendu : une FeatureCollection GeoJSON",
    "not UTF-8 text: {detail}": "pas du texte UTF-8 : {detail}",
    "not JSON: {detail}": "pas du JSON : {detail}",
    "unreadable CSV header: {detail}": "en-tête CSV illisible : {detail}",
    "CSV columns missing: {columns}": "colonnes CSV manquantes : {columns}",
    "a {format} feed carries {kinds}": "un flux {format} porte des données {kinds}",
    "expected http(s)://host/...": "attendu : http(s)://hôte/...",
    "not http(s) with a host": "pas une URL http(s) avec un hôte",
    "only an ngsi-ld (broker) feed can subscribe": (
        "seul un flux ngsi-ld (courtier de contexte) peut s'abonner"
    ),
    # A broker's notification (app/feeds/subscriptions.py): each entity refused, with the
    # reason app/feeds/ngsi_ld.py gives (in the problem's errors, the first in its detail).
    "later than the server's time": "postérieur à l'heure du serveur",
    "entity {entity}: {reason}": "entité {entity} : {reason}",
    "not a JSON object": "pas un objet JSON",
    "id is not a string of 1 to {length} characters": (
        "id n'est pas un texte de 1 à {length} caractères"
    ),
    "type {type} is not carried by a {kind} feed": (
        "le type {type} n'est pas porté par un flux {kind}"
    ),
    "{what} is not a date-time string": "{what} n'est pas une date et heure en texte",
    "{what} is not an ISO 8601 date-time": "{what} n'est pas une date et heure ISO 8601",
    "observation time is in the future": "l'heure d'observation est dans le futur",
    "no location": "aucune localisation (location)",
    "a text holds the NUL character (\\u0000)": "un texte contient le caractère NUL (\\u0000)",
    "location is not a GeoJSON geometry": "location n'est pas une géométrie GeoJSON",
    "location has invalid coordinates": "location a des coordonnées invalides",
    "location is empty": "location est vide",
    "location is outside longitude -180..180, latitude -90..90": (
        "location est hors des longitudes -180..180 et latitudes -90..90"
    ),
    "{name} is not a number": "{name} n'est pas un nombre",
    "{name} is not a whole number of 0 or more": "{name} n'est pas un nombre entier positif ou nul",
    "{name} is negative": "{name} est négatif",
    "{name} is not a fraction between 0 and 1": "{name} n'est pas une fraction entre 0 et 1",
    "{name} is not a string": "{name} n'est pas un texte",
    "{name} is not an identifier of 1 to {length} characters": (
        "{name} n'est pas un identifiant de 1 à {length} caractères"
    ),
    "{name} is not true or false": "{name} n'est ni true ni false",
    "availableSpotNumber is larger than totalSpotNumber": (
        "availableSpotNumber est supérieur à totalSpotNumber"
    ),
    "commandStatus is not an object": "commandStatus n'est pas un objet",
    "unknown or inactive": "inconnue ou désactivée",
    "required questions: {questions}": "questions obligatoires : {questions}",
    "must be before `to`, 31 days apart at most": "doit précéder « to », de 31 jours au plus",
    "required to sort by distance": "obligatoire pour trier par distance",
    "must be in metropolitan France to measure distances": (
        "doit être en France métropolitaine pour mesurer des distances"
    ),
    "give lon and lat together": "donnez lon et lat ensemble",
    "not a commune of Dijon Métropole (GET /v1/communes)": (
        "pas une commune de Dijon Métropole (GET /v1/communes)"
    ),
    "give either point (with radius_m) or commune": (
        "donnez soit point (avec radius_m), soit commune"
    ),
    "give the radius around point, 1 to 2000": "donnez le rayon autour de point, de 1 à 2000",
    "a commune takes no radius: leave radius_m out": (
        "une commune ne prend pas de rayon : retirez radius_m"
    ),
    # --- equipment commands (app/equipment), in the order the service checks them ----------
    "needed (0-100)": "obligatoire (0 à 100)",
    "not taken": "non accepté pour cette commande",
    "exactly one of references, polygon, street": (
        "une seule façon de choisir : references, polygon ou street"
    ),
    "not a command for a {kind}": "ce n'est pas une commande pour un équipement {kind}",
    "{reference}: a {kind}": "{reference} : un équipement {kind}",
    "unknown street": "voie inconnue",
}


def pattern(template: str) -> tuple[re.Pattern, tuple[str, ...]] | None:
    """A regular expression matching what ``template`` renders to (its values as groups
    f0, f1...) and the fields' names, or None without fields."""
    parts, names = [], []
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P<f{len(names)}>.+?)")
            names.append(field)
    if not names:
        return None
    return re.compile("^" + "".join(parts) + "$", re.DOTALL), tuple(names)


@cache
def _catalogue() -> tuple[dict[str, str], list[tuple[re.Pattern, tuple[str, ...], str]]]:
    """Messages without values (as rendered), and the patterns of those with values, the most
    specific (longest fixed text) first."""
    exact, patterns = {}, []
    for english, french in FRENCH.items():
        compiled = pattern(english)
        if compiled is None:
            exact[english.format()] = french.format()
        else:
            patterns.append((*compiled, french))
    patterns.sort(key=lambda item: -len(re.sub(r"\(\?P<f\d+>\.\+\?\)", "", item[0].pattern)))
    return exact, patterns


def translate(message: str, lang: str | None = None) -> str:
    """``message`` (an English field message) in ``lang`` (the request's by default); unknown
    ones as they are."""
    lang = lang or i18n.request_language()
    if lang == "en" or not isinstance(message, str):
        return message
    exact, patterns = _catalogue()
    if message in exact:
        return exact[message]
    for pattern, names, french in patterns:
        match = pattern.match(message)
        if match:
            values = {name: translate(match.group(f"f{i}"), lang) for i, name in enumerate(names)}
            return french.format(**values)
    return message


def localise_errors(errors, lang: str | None = None):
    """The ``errors`` tree (field or index -> messages, nested) with each message in ``lang``
    (the request's by default)."""
    lang = lang or i18n.request_language()
    if lang == "en":
        return errors
    if isinstance(errors, dict):
        return {key: localise_errors(value, lang) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [localise_errors(item, lang) for item in errors]
    if isinstance(errors, str):
        return translate(errors, lang)
    return errors
