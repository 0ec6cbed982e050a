"""Resident-facing messages: French first, English when the request asks for it."""

from flask import has_request_context, request

SUPPORTED = ("fr", "en")
DEFAULT = "fr"

# code -> {language: message}. Messages say what happened and what to do about it.
MESSAGES: dict[str, dict[str, str]] = {
    "validation_failed": {
        "fr": "La requête contient des champs invalides : corrigez les champs indiqués dans "
        "« errors » puis réessayez.",
        "en": "The request has invalid fields: correct the fields listed in “errors” and "
        "try again.",
    },
    "malformed_json": {
        "fr": "Le corps de la requête n'est pas du JSON valide : envoyez un objet JSON avec "
        "l'en-tête Content-Type: application/json.",
        "en": "The request body is not valid JSON: send a JSON object with the header "
        "Content-Type: application/json.",
    },
    "authentication_required": {
        "fr": "Authentification requise : envoyez un jeton d'identification Firebase dans "
        "l'en-tête « Authorization: Bearer <jeton> ».",
        "en": "Authentication required: send a Firebase ID token in the header "
        "“Authorization: Bearer <token>”.",
    },
    "token_expired": {
        "fr": "Votre jeton d'identification a expiré : obtenez-en un nouveau auprès de "
        "Firebase puis réessayez.",
        "en": "Your ID token has expired: get a fresh one from Firebase and try again.",
    },
    "token_invalid": {
        "fr": "Le jeton d'identification est invalide ({reason}) : reconnectez-vous pour "
        "en obtenir un nouveau.",
        "en": "The ID token is invalid ({reason}): sign in again to get a new one.",
    },
    "token_uid_reserved": {
        "fr": "Ce jeton désigne un identifiant réservé aux signalements reçus par d'autres "
        "canaux (Open311, capteurs) ou détachés d'une personne effacée : connectez-vous "
        "avec votre propre compte Firebase.",
        "en": "This token names an identifier reserved for reports received through other "
        "channels (Open311, sensors) or detached from an erased person: sign in with your "
        "own Firebase account.",
    },
    "auth_unavailable": {
        "fr": "Le service d'authentification est momentanément indisponible : réessayez "
        "dans quelques instants.",
        "en": "The authentication service is temporarily unavailable: try again in a moment.",
    },
    "forbidden_role": {
        "fr": "Votre rôle ({role}) ne permet pas cette action ; rôles autorisés : {allowed}.",
        "en": "Your role ({role}) does not allow this action; allowed roles: {allowed}.",
    },
    "not_found": {
        "fr": "Aucune ressource à cette adresse : vérifiez l'URL.",
        "en": "Nothing exists at this address: check the URL.",
    },
    "opendata_schema_not_found": {
        "fr": "Aucun jeu de données ne s'appelle {name} : les schémas sont ceux de reports et "
        "des tables de statistiques, tous cités par GET /v1/opendata/catalog.",
        "en": "No dataset is called {name}: the schemas are reports' and the statistics "
        "tables', all named by GET /v1/opendata/catalog.",
    },
    "opendata_file_not_found": {
        "fr": "Aucun fichier de données ouvertes ne s'appelle {name} : la liste est donnée par "
        "GET /v1/opendata/files (les fichiers sont produits chaque nuit).",
        "en": "No open data file is called {name}: GET /v1/opendata/files lists them (the "
        "files are produced every night).",
    },
    "commune_not_found": {
        "fr": "Aucune commune de Dijon Métropole n'a le code INSEE {insee_code}.",
        "en": "No commune of Dijon Métropole has INSEE code {insee_code}.",
    },
    "category_not_found": {
        "fr": "Aucune catégorie active n'a le code {code} : la liste est donnée par "
        "GET /v1/categories.",
        "en": "No active category has the code {code}: GET /v1/categories lists them.",
    },
    "invalid_answers": {
        "fr": "Certaines réponses aux questions de la catégorie sont invalides : corrigez "
        "celles indiquées dans « errors ».",
        "en": "Some answers to the category's questions are invalid: correct those listed in "
        "“errors”.",
    },
    "idempotency_key_required": {
        "fr": "En-tête Idempotency-Key manquant : générez une clé unique (un UUID) pour ce "
        "signalement et renvoyez la même à chaque nouvel essai.",
        "en": "Missing Idempotency-Key header: generate a unique key (a UUID) for this report "
        "and send the same one with every retry.",
    },
    "idempotency_key_invalid": {
        "fr": "En-tête Idempotency-Key invalide : 1 à 255 caractères ASCII visibles (un UUID "
        "convient).",
        "en": "Invalid Idempotency-Key header: 1 to 255 visible ASCII characters (a UUID will do).",
    },
    "idempotency_in_progress": {
        "fr": "Une requête avec la même clé Idempotency-Key est en cours de traitement : "
        "attendez sa réponse, puis réessayez si besoin.",
        "en": "A request with the same Idempotency-Key is being processed: wait for its "
        "response, then retry if needed.",
    },
    "idempotency_key_reused": {
        "fr": "Cette clé Idempotency-Key a déjà servi pour un contenu différent : utilisez "
        "une nouvelle clé pour un nouveau signalement.",
        "en": "This Idempotency-Key was already used with a different body: use a new key "
        "for a new report.",
    },
    "unknown_category": {
        "fr": "Catégorie inconnue ou désactivée : {code}. Choisissez-en une dans "
        "GET /v1/categories.",
        "en": "Unknown or inactive category: {code}. Choose one from GET /v1/categories.",
    },
    "unknown_asset": {
        "fr": "Aucun équipement ne porte la référence {reference} : vérifiez le numéro inscrit "
        "sur l'équipement, ou envoyez le signalement sans référence.",
        "en": "No equipment has the reference {reference}: check the number written on it, or "
        "send the report without a reference.",
    },
    "asset_kind_mismatch": {
        "fr": "L'équipement {reference} est de type {kind}, ce qui ne correspond pas à cette "
        "catégorie (attendu : {expected}) : choisissez la bonne catégorie ou retirez la "
        "référence.",
        "en": "Equipment {reference} is a {kind}, which does not match this category "
        "(expected: {expected}): choose the right category or leave the reference out.",
    },
    "outside_service_area": {
        "fr": "Ce lieu est hors de Dijon Métropole (à {distance_km} km de {commune}, la "
        "commune la plus proche) : Signale ne traite que les 23 communes de la métropole.",
        "en": "This place is outside Dijon Métropole ({distance_km} km from {commune}, the "
        "nearest commune): Signale covers the 23 communes of the metropolis only.",
    },
    "invalid_area": {
        "fr": "Zone de recherche invalide : corrigez « near » (lon,lat) ou « bbox » "
        "(min_lon,min_lat,max_lon,max_lat) comme indiqué dans « errors ».",
        "en": "Invalid search area: correct “near” (lon,lat) or “bbox” "
        "(min_lon,min_lat,max_lon,max_lat) as listed in “errors”.",
    },
    "contact_email_required": {
        "fr": "Pour être informé par e-mail, indiquez votre adresse e-mail dans « contact.email ».",
        "en": "To be told by e-mail, give your e-mail address in “contact.email”.",
    },
    "invalid_category": {
        "fr": "Définition de catégorie incohérente : corrigez les champs indiqués dans « errors ».",
        "en": "Inconsistent category definition: correct the fields listed in “errors”.",
    },
    "not_your_report": {
        "fr": "Seul l'auteur du signalement (ou le personnel) peut y ajouter des photos.",
        "en": "Only the report's author (or staff) can add photos to it.",
    },
    "photo_not_allowed": {
        "fr": "Vous ne pouvez pas ajouter de photo « {kind} » à ce signalement : ses photos "
        "sont celles de son auteur et de son guichet, les photos « after » celles de l'équipe "
        "chargée des travaux, les photos « reopen » celles de son auteur et de ses soutiens.",
        "en": "You cannot add a “{kind}” photo to this report: its photos are its author's and "
        "its desk's, “after” photos the crew's doing the work, “reopen” photos its author's "
        "and its supporters'.",
    },
    "too_many_photos": {
        "fr": "Ce signalement a déjà {limit} photos, le maximum.",
        "en": "This report already has {limit} photos, the maximum.",
    },
    "empty_upload": {
        "fr": "Le fichier envoyé est vide : joignez la photo dans le champ « file ».",
        "en": "The uploaded file is empty: attach the photo in the “file” field.",
    },
    "photo_not_found": {
        "fr": "Aucune photo visible n'a l'identifiant {id} pour ce signalement.",
        "en": "No visible photo has the id {id} on this report.",
    },
    "photo_not_ready": {
        "fr": "La photo {id} n'est pas prête (elle est « {status} ») : on ne modère qu'une "
        "photo traitée ; attendez la fin de son traitement.",
        "en": "Photo {id} is not ready (it is “{status}”): only a processed photo can be "
        "moderated; wait until it is processed.",
    },
    "photo_no_original": {
        "fr": "La photo {id} n'a plus d'original non flouté (supprimé par la durée de "
        "conservation, ou photo antérieure au floutage pas encore reprise) : ses zones floutées "
        "ne peuvent plus changer ; masquez-la si elle montre encore quelqu'un.",
        "en": "Photo {id} has no unblurred original any more (deleted by the retention "
        "schedule, or a photo from before blurring not yet brought in line): its blurred "
        "areas can no longer change; hide it if it still shows someone.",
    },
    "too_many_boxes": {
        "fr": "Trop de zones floutées : {limit} au plus par photo, retirées comprises.",
        "en": "Too many blurred areas: at most {limit} per photo, removed ones included.",
    },
    "unknown_box": {
        "fr": "Zones inconnues sur cette photo : {ids}. Relisez la photo et renvoyez les "
        "identifiants de ses zones.",
        "en": "Unknown areas on this photo: {ids}. Read the photo again and send its areas' ids.",
    },
    "box_outside_image": {
        "fr": "Une zone sort de l'image : left, top, right et bottom sont des fractions de la "
        "largeur et de la hauteur, entre 0 et 1.",
        "en": "An area lies outside the image: left, top, right and bottom are fractions of "
        "the width and height, between 0 and 1.",
    },
    "box_empty": {
        "fr": "Une zone est vide : right doit dépasser left et bottom dépasser top (d'au moins "
        "0,002).",
        "en": "An area is empty: right must exceed left and bottom exceed top (by 0.002 at least).",
    },
    "photo_if_match_required": {
        "fr": "En-tête If-Match manquant : relisez la photo (GET) et renvoyez son ETag dans "
        "If-Match, pour ne pas défaire la modération d'un collègue.",
        "en": "Missing If-Match header: read the photo (GET) and send its ETag in If-Match, "
        "so as not to undo a colleague's moderation.",
    },
    "photo_changed": {
        "fr": "La photo a été modérée depuis votre lecture : relisez-la, vérifiez ses zones "
        "floutées, puis réessayez avec le nouvel ETag.",
        "en": "The photo was moderated since you read it: read it again, check its blurred "
        "areas, then retry with the new ETag.",
    },
    "photo_original_not_allowed": {
        "fr": "L'original non flouté d'une photo n'est montré qu'aux agents du guichet du "
        "signalement, aux superviseurs, aux administrateurs et à l'équipe qui le détient.",
        "en": "A photo's unblurred original is shown only to the agents of the report's desk, "
        "supervisors, admins and the crew holding the report.",
    },
    "report_not_found": {
        "fr": "Aucun signalement n'a l'identifiant {id}.",
        "en": "No report has the id {id}.",
    },
    "cannot_support_own_report": {
        "fr": "Vous êtes l'auteur de ce signalement : il est déjà compté, inutile de le soutenir.",
        "en": "You filed this report: it already counts, there is no need to support it.",
    },
    "user_not_found": {
        "fr": "Aucun utilisateur enregistré avec l'identifiant {uid}.",
        "en": "No registered user has the id {uid}.",
    },
    "crew_not_found": {
        "fr": "Aucune équipe n'a le code {code}.",
        "en": "No crew has the code {code}.",
    },
    "method_not_allowed": {
        "fr": "La méthode {method} n'est pas acceptée ici ; méthodes acceptées : {allowed}.",
        "en": "Method {method} is not accepted here; accepted methods: {allowed}.",
    },
    "unsupported_media_type": {
        "fr": "Type de contenu non pris en charge : envoyez Content-Type: application/json.",
        "en": "Unsupported content type: send Content-Type: application/json.",
    },
    "payload_too_large": {
        "fr": "Le corps de la requête dépasse la taille maximale de {limit} octets.",
        "en": "The request body exceeds the maximum size of {limit} bytes.",
    },
    "not_acceptable": {
        "fr": "Aucune représentation disponible pour l'en-tête Accept envoyé : acceptez "
        "application/json.",
        "en": "No representation matches the Accept header sent: accept application/json.",
    },
    "bad_request": {
        "fr": "Requête mal formée : {detail}",
        "en": "Malformed request: {detail}",
    },
    "invalid_character": {
        "fr": "La requête contient un caractère refusé partout : le caractère NUL (U+0000, "
        "%00) ou une moitié isolée de paire de substitution UTF-16 (\\ud800 à \\udfff, qui "
        "n'est pas un caractère) : retirez-le de l'URL ou des champs indiqués dans « errors ».",
        "en": "The request contains a character refused everywhere: NUL (U+0000, %00) or a "
        "lone UTF-16 surrogate (\\ud800 to \\udfff, which is not a character): remove it "
        "from the URL or from the fields listed in “errors”.",
    },
    "json_too_deep": {
        "fr": "Le corps JSON imbrique trop de tableaux ou d'objets (au plus {limit} niveaux) : "
        "envoyez le document décrit par la documentation de l'API.",
        "en": "The JSON body nests too many arrays or objects (at most {limit} levels): send "
        "the document the API documentation describes.",
    },
    "uri_too_long": {
        "fr": "La ligne de requête (méthode, chemin et paramètres) dépasse {limit} octets : "
        "raccourcissez l'URL, par exemple avec moins de filtres ou des valeurs plus courtes.",
        "en": "The request line (method, path and parameters) exceeds {limit} bytes: shorten "
        "the URL, for instance with fewer filters or shorter values.",
    },
    "header_fields_too_large": {
        "fr": "Les en-têtes de la requête sont trop grands ou trop nombreux (au plus {fields} "
        "en-têtes de {size} octets chacun) : retirez les en-têtes inutiles ou raccourcissez-les.",
        "en": "The request headers are too large or too many (at most {fields} headers of "
        "{size} bytes each): remove the headers that are not needed or shorten them.",
    },
    "request_refused": {
        "fr": "Le serveur refuse cette requête ({detail}) : vérifiez la connexion utilisée.",
        "en": "The server refuses this request ({detail}): check the connection used.",
    },
    "expectation_failed": {
        "fr": "L'en-tête Expect envoyé n'est pas pris en charge ({detail}) : retirez-le, ou "
        "envoyez « Expect: 100-continue ».",
        "en": "The Expect header sent is not supported ({detail}): remove it, or send "
        "“Expect: 100-continue”.",
    },
    "transfer_coding_unsupported": {
        "fr": "Ce codage de transfert n'est pas pris en charge ({detail}) : envoyez le corps "
        "tel quel ou en « chunked ».",
        "en": "This transfer coding is not supported ({detail}): send the body as it is or "
        "“chunked”.",
    },
    "device_not_found": {
        "fr": "Cet appareil n'est pas enregistré sur votre compte : rien à supprimer.",
        "en": "This device is not registered to your account: there is nothing to remove.",
    },
    "quiet_hours_empty": {
        "fr": "Les heures calmes commencent et finissent à {start} : donnez une fin différente "
        "du début (par exemple 22:00 à 07:00), ou laissez « quiet_hours » de côté.",
        "en": "The quiet hours start and end at {start}: give an end other than the start "
        "(for instance 22:00 to 07:00), or leave “quiet_hours” out.",
    },
    "area_choice": {
        "fr": "Donnez soit un point (« point ») avec un rayon (« radius_m », 1 à 2000 mètres), "
        "soit une commune (« commune », son code INSEE), mais pas les deux.",
        "en": "Give either a point (“point”) with a radius (“radius_m”, 1 to 2000 metres), or "
        "a commune (“commune”, its INSEE code), not both.",
    },
    "area_subscription_not_found": {
        "fr": "Vous n'avez aucun abonnement de zone d'identifiant {id} : rechargez la liste "
        "(GET /v1/me/area-subscriptions).",
        "en": "You have no area subscription with the id {id}: reload the list "
        "(GET /v1/me/area-subscriptions).",
    },
    "area_subscription_exists": {
        "fr": "Vous êtes déjà abonné à cette zone (abonnement {id}) : modifiez-le avec "
        "PUT /v1/me/area-subscriptions/{id} plutôt que d'en créer un second.",
        "en": "You already subscribe to this area (subscription {id}): change it with "
        "PUT /v1/me/area-subscriptions/{id} rather than creating a second one.",
    },
    "area_subscriptions_limit": {
        "fr": "Vous avez déjà {limit} abonnements de zone, le maximum : supprimez-en un "
        "avant d'en créer un autre.",
        "en": "You already have {limit} area subscriptions, the most allowed: delete one "
        "before creating another.",
    },
    "invalid_title": {
        "fr": "Titre de notification invalide : corrigez les champs indiqués dans « errors » "
        "(champs disponibles pour {kind} : {placeholders}).",
        "en": "Invalid notification title: correct the fields listed in “errors” (available "
        "placeholders for {kind}: {placeholders}).",
    },
    "notification_not_found": {
        "fr": "Vous n'avez aucune notification d'identifiant {id} : rechargez la liste "
        "(GET /v1/me/notifications).",
        "en": "You have no notification with the id {id}: reload the list "
        "(GET /v1/me/notifications).",
    },
    "invalid_cursor": {
        "fr": "Le curseur de pagination est invalide ou expiré : recommencez depuis la "
        "première page (sans paramètre « cursor »).",
        "en": "The pagination cursor is invalid or expired: start again from the first page "
        "(without the “cursor” parameter).",
    },
    "asset_not_found": {
        "fr": "Aucun équipement n'a la référence {reference} : GET /v1/assets les liste.",
        "en": "No asset has the reference {reference}: GET /v1/assets lists them.",
    },
    "invalid_asset_file": {
        "fr": "Le fichier d'équipements est illisible ({reason}) : envoyez une "
        "FeatureCollection GeoJSON de points, ou un CSV avec les colonnes reference, lon, lat.",
        "en": "The asset file cannot be read ({reason}): send a GeoJSON FeatureCollection of "
        "Points, or a CSV with the columns reference, lon, lat.",
    },
    "unknown_desk": {
        "fr": "Guichet(s) inconnu(s) : {codes}. Les codes valides sont listés par GET /v1/desks.",
        "en": "Unknown desk(s): {codes}. Valid codes are listed by GET /v1/desks.",
    },
    "unknown_crew": {
        "fr": "Équipe inconnue : {code}. Les codes valides sont listés par GET /v1/crews.",
        "en": "Unknown crew: {code}. Valid codes are listed by GET /v1/crews.",
    },
    "crew_has_members": {
        "fr": "Des membres du personnel appartiennent encore à l'équipe {code} : "
        "affectez-les ailleurs, ou désactivez l'équipe (« active »: false).",
        "en": "Staff still belong to crew {code}: assign them elsewhere, or deactivate the "
        "crew (“active”: false).",
    },
    "invalid_geometry": {
        "fr": "La géométrie « {field} » est invalide : {reason}. Envoyez un objet GeoJSON "
        "valide en longitude/latitude WGS 84.",
        "en": "The “{field}” geometry is invalid: {reason}. Send a valid GeoJSON object in "
        "WGS 84 longitude/latitude.",
    },
    "invalid_working_hours": {
        "fr": "Horaires de travail incohérents : chaque période [début, fin] doit finir après "
        "son début (corrigez celles indiquées dans « errors »).",
        "en": "Inconsistent working hours: each [start, end] period must end after it starts "
        "(correct those listed in “errors”).",
    },
    "invalid_time_window": {
        "fr": "Plage horaire invalide : donnez « starts_at » et « ends_at » ensemble, et "
        "différents (une plage peut passer minuit, par exemple 22:00 à 06:00).",
        "en": "Invalid time window: give “starts_at” and “ends_at” together, and different "
        "(a window may wrap midnight, e.g. 22:00 to 06:00).",
    },
    "routing_priority_taken": {
        "fr": "La règle {id} a déjà la priorité {priority} : choisissez une autre priorité "
        "(les priorités sont uniques, la plus basse passe en premier).",
        "en": "Rule {id} already has priority {priority}: choose another priority "
        "(priorities are unique; the lowest goes first).",
    },
    "routing_rule_not_found": {
        "fr": "Aucune règle d'aiguillage n'a l'identifiant {id} : la liste est donnée par "
        "GET /v1/admin/routing-rules.",
        "en": "No routing rule has the id {id}: GET /v1/admin/routing-rules lists them.",
    },
    "feed_not_found": {
        "fr": "Aucun flux n'a le nom {name} : la liste est donnée par GET /v1/admin/feeds.",
        "en": "No feed has the name {name}: GET /v1/admin/feeds lists them.",
    },
    "feed_kind_format_mismatch": {
        "fr": "Un flux au format {format} ne peut pas porter des données de type {kind} : "
        "choisissez {kinds}.",
        "en": "A {format} feed cannot carry {kind} data: choose {kinds}.",
    },
    "fault_mapping_not_found": {
        "fr": "Aucune correspondance de défaut pour {entity_type} {attribute} = {value} : la "
        "liste est donnée par GET /v1/admin/feed-fault-mappings.",
        "en": "No fault mapping for {entity_type} {attribute} = {value}: GET "
        "/v1/admin/feed-fault-mappings lists them.",
    },
    "fault_category_has_required_questions": {
        "fr": "La catégorie {code} a des questions obligatoires ({questions}) auxquelles un "
        "capteur ne peut pas répondre : choisissez une catégorie sans question obligatoire.",
        "en": "The {code} category has required questions ({questions}) a sensor cannot "
        "answer: choose a category without required questions.",
    },
    "parking_not_found": {
        "fr": "Aucun parking n'a l'identifiant {id} : cherchez-les avec GET /v1/mobility/parkings.",
        "en": "No parking has the id {id}: find them with GET /v1/mobility/parkings.",
    },
    "invalid_time_range": {
        "fr": "Période invalide : « from » doit précéder « to », de {max_days} jours au plus.",
        "en": "Invalid period: “from” must come before “to”, {max_days} days apart at most.",
    },
    "feed_not_subscribable": {
        "fr": "Un flux au format {format} n'a pas de courtier à qui s'abonner : seul un flux "
        "ngsi-ld peut recevoir des notifications (subscribe à false sinon).",
        "en": "A {format} feed has no broker to subscribe to: only an ngsi-ld feed can receive "
        "notifications (set subscribe to false otherwise).",
    },
    "notification_unauthorized": {
        "fr": "Notification refusée : le secret de l'abonnement (en-tête "
        "X-Signale-Notification-Secret) manque ou ne correspond à aucun abonnement de ce flux.",
        "en": "Notification refused: the subscription's secret (header "
        "X-Signale-Notification-Secret) is missing or matches no subscription of this feed.",
    },
    "subscription_revoked": {
        "fr": "Cet abonnement n'est plus celui de Signale pour ce flux : supprimez-le sur le "
        "courtier.",
        "en": "This subscription is no longer Signale's for this feed: delete it on the broker.",
    },
    "notification_in_the_future": {
        "fr": "La date notifiedAt de la notification est postérieure à l'heure du serveur : "
        "vérifiez l'horloge du courtier.",
        "en": "The notification's notifiedAt is later than the server's time: check the "
        "broker's clock.",
    },
    "notification_no_valid_entities": {
        "fr": "Aucune des {count} entités notifiées n'est valide pour ce flux (première raison : "
        "{reason}) : rien n'a été enregistré.",
        "en": "None of the {count} notified entities is valid for this feed (first reason: "
        "{reason}): nothing was stored.",
    },
    "invalid_feed_url": {
        "fr": "L'adresse du flux est invalide ({reason}) : donnez une URL http ou https complète.",
        "en": "The feed's address is invalid ({reason}): give a full http or https URL.",
    },
    "role_assignment_invalid": {
        "fr": "Affectation incohérente avec le rôle : {detail}",
        "en": "Assignment inconsistent with the role: {detail}",
    },
    "cannot_demote_self": {
        "fr": "Vous ne pouvez pas retirer votre propre rôle d'administrateur : demandez-le à "
        "un autre administrateur.",
        "en": "You cannot remove your own admin role: ask another administrator.",
    },
    "if_match_required": {
        "fr": "En-tête If-Match manquant : relisez le signalement (GET) et renvoyez son ETag "
        "dans If-Match, pour ne pas écraser le travail d'un collègue (« * » n'est pas accepté).",
        "en": "Missing If-Match header: read the report (GET) and send its ETag in If-Match, so "
        "as not to overwrite a colleague's work (“*” is not accepted).",
    },
    "report_changed": {
        "fr": "Le signalement a changé depuis votre lecture (il est maintenant « {status} ») : "
        "son état actuel est joint ; vérifiez-le puis réessayez avec le nouvel ETag.",
        "en": "The report has changed since you read it (it is now “{status}”): its current "
        "state is attached; check it, then retry with the new ETag.",
    },
    "offline_conflict": {
        "fr": "Ce que vous avez fait hors ligne ({action}, le {client_at}) n'a pas été "
        "enregistré : le ticket a changé entre-temps (il est maintenant « {status} »). Les deux "
        "versions sont jointes ; montrez-les et décidez avec le guichet.",
        "en": "What you did offline ({action}, at {client_at}) was not recorded: the ticket "
        "changed in the meantime (it is now “{status}”). Both versions are attached; show them "
        "and decide with the desk.",
    },
    "client_at_out_of_range": {
        "fr": "L'heure de l'action sur l'appareil (« client_at » : {client_at}) est impossible : "
        "elle doit suivre {since} ({earliest}) et ne pas dépasser l'heure du serveur ({now}) de "
        "plus de {skew} minutes. Vérifiez l'horloge de l'appareil, puis renvoyez l'action.",
        "en": "The time of the action on the device (“client_at”: {client_at}) is impossible: it "
        "must come after {since} ({earliest}) and no more than {skew} minutes after the "
        "server's time ({now}). Check the device's clock, then send the action again.",
    },
    "transition_not_allowed": {
        "fr": "Action « {action} » impossible : le signalement est « {status} ». Elle n'est "
        "possible que s'il est : {allowed_from}. Actions possibles maintenant : {allowed_now}.",
        "en": "Action “{action}” is not possible: the report is “{status}”. It is allowed "
        "only when the report is: {allowed_from}. Actions allowed now: {allowed_now}.",
    },
    "not_your_crew_ticket": {
        "fr": "Ce signalement n'est pas confié à votre équipe ({crew}) : seule l'équipe "
        "désignée peut agir dessus.",
        "en": "This report is not assigned to your crew ({crew}): only the assigned crew can "
        "act on it.",
    },
    "not_reporter_or_supporter": {
        "fr": "Seuls l'auteur du signalement et ceux qui l'ont soutenu peuvent le rouvrir.",
        "en": "Only the report's author and its supporters can reopen it.",
    },
    "reopen_window_over": {
        "fr": "Le signalement a été résolu le {resolved_at}, il y a plus de {days} jours : il "
        "ne peut plus être rouvert ; faites un nouveau signalement.",
        "en": "The report was resolved on {resolved_at}, more than {days} days ago: it can no "
        "longer be reopened; file a new report.",
    },
    "crew_not_of_desk": {
        "fr": "L'équipe {crew} ne dépend pas du guichet {desk} qui traite ce signalement : "
        "choisissez une de ses équipes, ou réaiguillez d'abord le signalement.",
        "en": "Crew {crew} does not work for the {desk} desk handling this report: choose one "
        "of its crews, or re-route the report first.",
    },
    "reroute_same_desk": {
        "fr": "Le signalement est déjà au guichet {desk} : choisissez un autre guichet.",
        "en": "The report is already at the {desk} desk: choose another desk.",
    },
    "same_category": {
        "fr": "Le signalement est déjà dans la catégorie {code} : choisissez-en une autre.",
        "en": "The report already has the category {code}: choose another one.",
    },
    "merge_into_itself": {
        "fr": "Un signalement ne peut pas être fusionné avec lui-même : indiquez dans « into » "
        "le signalement d'origine.",
        "en": "A report cannot be merged into itself: give the original report in “into”.",
    },
    "merge_target_not_found": {
        "fr": "Aucun signalement n'a l'identifiant {id} : indiquez dans « into » le signalement "
        "d'origine.",
        "en": "No report has the id {id}: give the original report in “into”.",
    },
    "merge_target_closed": {
        "fr": "Le signalement {reference} est « {status} » : on ne peut fusionner que dans un "
        "signalement en cours ; rouvrez-le d'abord ou choisissez-en un autre.",
        "en": "Report {reference} is “{status}”: reports can only be merged into one still "
        "being dealt with; reopen it first or choose another.",
    },
    "invalid_template": {
        "fr": "Modèle de message invalide : corrigez les champs indiqués dans « errors » "
        "(champs disponibles : {placeholders}).",
        "en": "Invalid message template: correct the fields listed in “errors” (available "
        "placeholders: {placeholders}).",
    },
    "template_not_found": {
        "fr": "La catégorie {category} n'a pas de modèle propre pour l'état {status} : le "
        "modèle par défaut s'applique.",
        "en": "Category {category} has no template of its own for the state {status}: the "
        "default applies.",
    },
    "desk_not_found": {
        "fr": "Aucun guichet n'a le code {code} : la liste est donnée par GET /v1/desks.",
        "en": "No desk has the code {code}: GET /v1/desks lists them.",
    },
    "not_your_desk": {
        "fr": "Le guichet {desk} n'est pas l'un des vôtres ({desks}) : un agent ne traite que "
        "les signalements de ses guichets ; demandez à un superviseur de vous y affecter.",
        "en": "Desk {desk} is not one of yours ({desks}): agents work their own desks' "
        "reports only; ask a supervisor to assign you to it.",
    },
    "near_required": {
        "fr": "Le tri par distance a besoin d'un point : ajoutez « near=lon,lat ».",
        "en": "Sorting by distance needs a point: add “near=lon,lat”.",
    },
    "position_incomplete": {
        "fr": "Position incomplète : donnez « lon » et « lat » ensemble, ou aucun des deux.",
        "en": "Incomplete position: give “lon” and “lat” together, or neither.",
    },
    "position_out_of_range": {
        "fr": "Ce point est hors de France métropolitaine : aucune distance n'y est mesurée. "
        "Vérifiez l'ordre lon,lat.",
        "en": "This point is outside metropolitan France: no distance is measured from there. "
        "Check the lon,lat order.",
    },
    "rate_limited": {
        "fr": "Trop de requêtes : réessayez dans {retry_after} secondes.",
        "en": "Too many requests: try again in {retry_after} seconds.",
    },
    "internal_error": {
        "fr": "Erreur interne du service. Elle a été enregistrée sous la référence "
        "{request_id} ; réessayez plus tard.",
        "en": "Internal service error. It was logged under reference {request_id}; try "
        "again later.",
    },
    "statistics_busy": {
        "fr": "Ces statistiques prennent trop longtemps à calculer en ce moment : réessayez "
        "dans {retry_after} s, restreignez la période (from, to) ou un autre filtre, ou "
        "téléchargez les fichiers de la nuit, tables entières : {files}.",
        "en": "These statistics take too long to compute right now: retry in {retry_after} s, "
        "narrow the period (from, to) or another filter, or download the nightly files, "
        "whole tables: {files}.",
    },
    "events_busy": {
        "fr": "Ce serveur diffuse déjà autant de flux en direct qu'il le peut : réessayez "
        "dans {retry_after} s (la console se reconnecte d'elle-même).",
        "en": "This server already serves as many live streams as it can: retry in "
        "{retry_after} s (the console reconnects by itself).",
    },
    "service_unavailable": {
        "fr": "Service momentanément indisponible ({detail}) : réessayez dans quelques instants.",
        "en": "Service temporarily unavailable ({detail}): try again in a moment.",
    },
    "staff_account_not_erasable": {
        "fr": "Un compte du personnel ne peut pas être effacé par son titulaire : il est géré "
        "par les administrateurs, qui le désactivent (le personnel n'a pas de données de "
        "résident à effacer).",
        "en": "A staff account cannot be erased by its holder: administrators manage it and "
        "deactivate it (staff have no resident data to erase).",
    },
    "open311_key_not_found": {
        "fr": "Aucune clé Open311 n'a l'identifiant {id} : la liste est donnée par "
        "GET /v1/admin/open311-keys.",
        "en": "No Open311 key has the id {id}: GET /v1/admin/open311-keys lists them.",
    },
    # Equipment commands (app/equipment).
    "command_level_invalid": {
        "fr": "La commande {command} : « level » (0 à 100) est requis pour dim et refusé pour "
        "les autres commandes.",
        "en": "Command {command}: “level” (0 to 100) is required for dim and refused for other "
        "commands.",
    },
    "selection_one_way": {
        "fr": "Donnez la sélection d'une seule façon : « references », « polygon » ou « street ».",
        "en": "Give the selection one way only: “references”, “polygon” or “street”.",
    },
    "command_not_for_kind": {
        "fr": "La commande {command} ne s'applique pas à un équipement de type {kind} : "
        "commandes possibles : {commands}.",
        "en": "The command {command} does not apply to equipment of kind {kind}: possible "
        "commands: {commands}.",
    },
    "asset_not_connected": {
        "fr": "Aucun flux ne rapporte l'état de l'équipement {reference} : une commande ne "
        "peut pas l'atteindre. Vérifiez que son flux NGSI-LD est déclaré et interrogé.",
        "en": "No feed reports the state of the equipment {reference}: a command cannot reach "
        "it. Check that its NGSI-LD feed is registered and polled.",
    },
    "equipment_not_your_desk": {
        "fr": "Votre guichet ne gère pas {count} des équipements visés (par exemple "
        "{references}) : demandez à un agent du guichet concerné ou à un superviseur.",
        "en": "Your desk does not run {count} of the targeted equipment (e.g. {references}): "
        "ask an agent of the desk concerned or a supervisor.",
    },
    "command_second_person_required": {
        "fr": "Une commande de feux doit être confirmée par une autre personne que celle qui "
        "l'a demandée : un autre superviseur doit la confirmer.",
        "en": "A traffic-signal command must be confirmed by someone other than its requester: "
        "another supervisor must confirm it.",
    },
    "command_not_pending": {
        "fr": "Cette commande n'attend pas de confirmation (état : {state}) : rechargez-la.",
        "en": "This command is not awaiting confirmation (state: {state}): reload it.",
    },
    "command_not_cancellable": {
        "fr": "Cette commande ne peut plus être annulée (état : {state}) : envoyez une "
        "nouvelle commande pour changer l'état de l'équipement.",
        "en": "This command can no longer be cancelled (state: {state}): send a new command "
        "to change the equipment's state.",
    },
    "command_in_flight": {
        "fr": "Cette commande est en cours d'envoi au courtier : elle ne peut plus être "
        "annulée ; envoyez une nouvelle commande pour la remplacer.",
        "en": "This command is being sent to the broker: it can no longer be cancelled; send "
        "a new command to replace it.",
    },
    "command_not_yours": {
        "fr": "Seuls la personne qui a demandé cette commande et les superviseurs peuvent "
        "l'annuler.",
        "en": "Only the person who requested this command and supervisors may cancel it.",
    },
    "command_not_found": {
        "fr": "Aucune commande d'équipement n'a l'identifiant {id} : GET "
        "/v1/assets/{{reference}}/commands liste celles d'un équipement.",
        "en": "No equipment command has the id {id}: GET /v1/assets/{{reference}}/commands "
        "lists an asset's commands.",
    },
    "selection_empty": {
        "fr": "La sélection ne contient aucun équipement de type {kind} : élargissez-la ou "
        "vérifiez les références, la rue ou le polygone.",
        "en": "The selection holds no equipment of kind {kind}: widen it or check the "
        "references, street or polygon.",
    },
    "selection_too_large": {
        "fr": "La sélection compte {count} équipements, au-delà du maximum de {limit} : "
        "divisez-la.",
        "en": "The selection holds {count} pieces of equipment, over the maximum of {limit}: "
        "split it.",
    },
    "street_not_found": {
        "fr": "Aucune voie « {name} » n'est connue dans la Base Adresse Nationale pour cette "
        "commune : vérifiez son nom exact (GET /v1/addresses?q=...).",
        "en": "No street “{name}” is known in the Base Adresse Nationale for this commune: "
        "check its exact name (GET /v1/addresses?q=...).",
    },
    "invalid_polygon": {
        "fr": "Le polygone est invalide ({reason}) : envoyez un Polygon ou MultiPolygon "
        "GeoJSON valide, en longitude/latitude WGS 84.",
        "en": "The polygon is invalid ({reason}): send a valid GeoJSON Polygon or "
        "MultiPolygon, in WGS 84 longitude/latitude.",
    },
}


def request_language() -> str:
    """The language of the current request: the best of Accept-Language, French by default."""
    if not has_request_context():
        return DEFAULT
    return request.accept_languages.best_match(SUPPORTED, default=DEFAULT)


class Localized(dict):
    """A message parameter worded in each language (``{"fr": ..., "en": ...}``), such as a
    state named in words: each message shows the wording of its own language."""

    def text(self, lang: str) -> str:
        return self.get(lang) or self[DEFAULT]


def message(code: str, lang: str | None = None, /, **params) -> str:
    """The message for ``code`` in ``lang`` (the request's language by default)."""
    lang = lang or request_language()
    texts = MESSAGES.get(code) or MESSAGES["internal_error"]
    text = texts.get(lang) or texts[DEFAULT]
    params = {
        name: value.text(lang) if isinstance(value, Localized) else value
        for name, value in params.items()
    }
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text
