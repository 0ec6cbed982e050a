"""Personal data, marked where it is stored: the ``info`` of the model columns that hold it,
read by the register of processing activities (app/privacy/register.py, GDPR article 30).

A column holding personal data says so in its model::

    email: Mapped[str | None] = mapped_column(
        String(320), info=personal("contact_email", purpose="contact_reporter",
                                   basis="consent", audience=("desk",),
                                   retention="contact_details")
    )

Every argument is a code of the vocabularies below, whose French and English texts are all
in this module, checked when the mark is made (an unknown code fails at import).
``retention`` names a rule of the retention schedule (app/privacy/retention.py: its delay is
the configured one), or ``kept`` says honestly how long the data stays when no rule deletes
it. A column whose name looks personal but is not (a category's name, a depot's position)
carries ``not_personal(why)``: tests/privacy/test_register.py fails on any column that looks
personal and carries neither.

This module imports nothing of the app: every models module may use it.
"""

from dataclasses import dataclass

Texts = dict[str, str]

# The kinds of personal data: what a column holds.
WHAT: dict[str, Texts] = {
    "resident_uid": {
        "fr": "Identifiant de l'habitant (uid Firebase, un pseudonyme) ; après un effacement, "
        "une marque « erased:… » qui ne désigne personne",
        "en": "The resident's identifier (Firebase uid, a pseudonym); after an erasure, an "
        "“erased:…” tombstone naming nobody",
    },
    "uploader_uid": {
        "fr": "Identifiant de qui a envoyé la photo (habitant ou membre du personnel)",
        "en": "The identifier of who sent the photo (a resident or a member of staff)",
    },
    "actor_uid": {
        "fr": "Identifiant de qui a agi sur le signalement (habitant, agent, équipe, ou système)",
        "en": "The identifier of who acted on the report (resident, agent, crew or system)",
    },
    "staff_uid": {
        "fr": "Identifiant d'un membre du personnel (uid Firebase)",
        "en": "A member of staff's identifier (Firebase uid)",
    },
    "staff_name": {"fr": "Nom affiché d'un membre du personnel", "en": "A staff member's name"},
    "staff_email": {"fr": "Courriel d'un membre du personnel", "en": "A staff member's e-mail"},
    "contact_name": {
        "fr": "Nom laissé par l'auteur d'un signalement",
        "en": "The name a report's author left",
    },
    "contact_email": {
        "fr": "Courriel laissé par l'auteur d'un signalement",
        "en": "The e-mail a report's author left",
    },
    "contact_phone": {
        "fr": "Téléphone laissé par l'auteur d'un signalement",
        "en": "The phone number a report's author left",
    },
    "partner_contact": {
        "fr": "Contact (courriel ou nom) de la personne responsable d'un partenaire Open311",
        "en": "The contact (e-mail or name) of an Open311 partner's person in charge",
    },
    "report_position": {
        "fr": "Position exacte du problème signalé, qui peut être le domicile de l'auteur",
        "en": "The exact position of the reported problem, which may be the author's home",
    },
    "typed_address": {
        "fr": "Adresse saisie par l'auteur",
        "en": "The address the author typed",
    },
    "report_description": {
        "fr": "Description en texte libre écrite par l'auteur",
        "en": "The free-text description the author wrote",
    },
    "answers": {
        "fr": "Réponses aux questions de la catégorie, dont du texte libre",
        "en": "Answers to the category's questions, free text among them",
    },
    "published_description": {
        "fr": "Description réécrite et publiée par le pôle (sans donnée personnelle, par consigne)",
        "en": "The description the desk rewrote and published (free of personal data, by "
        "instruction)",
    },
    "staff_text": {
        "fr": "Texte libre écrit par le personnel (message public ou note interne), qui peut "
        "nommer une personne par erreur",
        "en": "Free text written by staff (a public message or an internal note), which may "
        "name a person by mistake",
    },
    "original_photo": {
        "fr": "Photo telle qu'envoyée (avec ses métadonnées, position GPS comprise), avant "
        "traitement",
        "en": "The photo as sent (with its metadata, GPS position included), before processing",
    },
    "unblurred_photo": {
        "fr": "Photo de la rue avant floutage (métadonnées retirées) : visages et plaques lisibles",
        "en": "The street photo before blurring (metadata stripped): faces and plates readable",
    },
    "street_photo": {
        "fr": "Photo de la rue publiée (métadonnées retirées), visages et plaques floutés ; "
        "le pôle peut la masquer",
        "en": "The published street photo (metadata stripped), faces and plates blurred; the "
        "desk may hide it",
    },
    "watched_area": {
        "fr": "Centre du secteur surveillé par un habitant (souvent son domicile ou son travail)",
        "en": "The centre of the area a resident watches (often their home or work)",
    },
    "area_label": {
        "fr": "Nom donné par l'habitant à son secteur (« Maison »…)",
        "en": "The name the resident gave their area (“Home”…)",
    },
    "device_token": {
        "fr": "Jeton FCM de l'appareil de l'habitant (notifications push)",
        "en": "The resident's device's FCM token (push notifications)",
    },
    "notification_text": {
        "fr": "Titre et texte d'une notification adressée à l'habitant",
        "en": "The title and text of a notification sent to the resident",
    },
    "replayed_answer": {
        "fr": "Réponse gardée pour rejouer une requête répétée (peut contenir ce que "
        "l'habitant a envoyé)",
        "en": "An answer kept to replay a repeated request (may hold what the resident sent)",
    },
}

# Why it is processed.
PURPOSES: dict[str, Texts] = {
    "handle_report": {
        "fr": "Traiter le signalement : l'aiguiller, le réparer, répondre à l'habitant",
        "en": "Handle the report: route it, fix the problem, answer the resident",
    },
    "contact_reporter": {
        "fr": "Recontacter l'auteur à propos de son signalement",
        "en": "Reach the author about their report",
    },
    "identify": {
        "fr": "Reconnaître l'habitant : ses signalements, soutiens, suivis et droits",
        "en": "Recognise the resident: their reports, supports, follows and rights",
    },
    "staff_accounts": {
        "fr": "Gérer les comptes du personnel et leurs droits",
        "en": "Manage staff accounts and their rights",
    },
    "accountability": {
        "fr": "Tracer qui a fait quoi sur un signalement ou un réglage",
        "en": "Trace who did what on a report or a setting",
    },
    "access_audit": {
        "fr": "Tracer les consultations de données personnelles par le personnel",
        "en": "Trace staff reads of personal data",
    },
    "publication": {
        "fr": "Informer le public de l'état de la voirie et de l'action de la Métropole",
        "en": "Inform the public of the roads' state and of what the Métropole does",
    },
    "notify": {
        "fr": "Prévenir l'habitant de l'avancement des signalements qu'il suit",
        "en": "Tell the resident how the reports they follow progress",
    },
    "area_alerts": {
        "fr": "Prévenir l'habitant des nouveaux signalements dans un secteur",
        "en": "Tell the resident about new reports in an area",
    },
    "replay": {
        "fr": "Ne pas dupliquer une requête envoyée deux fois (réseau mobile)",
        "en": "Not duplicate a request sent twice (mobile networks)",
    },
    "partners": {
        "fr": "Joindre les partenaires qui déposent des signalements par Open311",
        "en": "Reach the partners filing reports through Open311",
    },
}

# The legal basis (GDPR article 6).
BASES: dict[str, Texts] = {
    "public_task": {
        "fr": "Mission d'intérêt public (art. 6.1.e RGPD) : gestion de la voirie",
        "en": "Public task (GDPR art. 6.1.e): managing the roads",
    },
    "consent": {
        "fr": "Consentement (art. 6.1.a RGPD) : donné librement, retirable à tout moment",
        "en": "Consent (GDPR art. 6.1.a): freely given, withdrawable at any time",
    },
    "legal_obligation": {
        "fr": "Obligation légale (art. 6.1.c et 32 RGPD) : sécurité du traitement",
        "en": "Legal obligation (GDPR art. 6.1.c and 32): security of processing",
    },
}

# Who can see it.
AUDIENCES: dict[str, Texts] = {
    "self": {
        "fr": "La personne elle-même (GET /v1/me/data)",
        "en": "The person themselves (GET /v1/me/data)",
    },
    "desk": {
        "fr": "Les agents du pôle du signalement, les superviseurs et les administrateurs",
        "en": "The report's desk's agents, supervisors and administrators",
    },
    "desk_audited": {
        "fr": "Les agents du pôle du signalement, les superviseurs et les administrateurs, "
        "chaque consultation journalisée",
        "en": "The report's desk's agents, supervisors and administrators, each read logged",
    },
    "crew": {
        "fr": "L'équipe de terrain à qui le signalement est affecté",
        "en": "The field crew the report is assigned to",
    },
    "supervisors": {
        "fr": "Les superviseurs et les administrateurs",
        "en": "Supervisors and administrators",
    },
    "admins": {"fr": "Les administrateurs", "en": "Administrators"},
    "privacy_officer": {
        "fr": "Le correspondant CNIL (rôle privacy_officer)",
        "en": "The CNIL correspondent (privacy_officer role)",
    },
    "public": {
        "fr": "Tout le monde (vue publique du signalement)",
        "en": "Everyone (the report's public view)",
    },
    "nobody": {
        "fr": "Personne : seul le service s'en sert",
        "en": "Nobody: only the service uses it",
    },
}

# Where it may leave the system.
EXITS: dict[str, Texts] = {
    "firebase_auth": {
        "fr": "Firebase Authentication (Google) : l'identifiant en vient",
        "en": "Firebase Authentication (Google): the identifier comes from it",
    },
    "fcm": {
        "fr": "Firebase Cloud Messaging (Google) : pour remettre la notification à l'appareil",
        "en": "Firebase Cloud Messaging (Google): to deliver the notification to the device",
    },
    "coarsened_open_data": {
        "fr": "Données ouvertes et Open311 : position arrondie seulement (jamais la "
        "position exacte)",
        "en": "Open data and Open311: a rounded position only (never the exact one)",
    },
    "public_outputs": {
        "fr": "Vue publique, Open311 et données ouvertes, tel que publié",
        "en": "The public view, Open311 and open data, as published",
    },
    "own_export": {
        "fr": "L'export de ses données à la personne (GET /v1/me/data)",
        "en": "The export of their data to the person (GET /v1/me/data)",
    },
}

# How long it is kept when no rule of the retention schedule deletes it.
KEPT: dict[str, Texts] = {
    "with_report": {
        "fr": "Conservé tant que le signalement l'est (aucune suppression programmée) ; "
        "effacé ou détaché à la demande de l'habitant (DELETE /v1/me)",
        "en": "Kept as long as the report is (no deletion scheduled); erased or detached "
        "at the resident's request (DELETE /v1/me)",
    },
    "until_erasure": {
        "fr": "Jusqu'à ce que l'habitant le retire ou efface ses données (DELETE /v1/me)",
        "en": "Until the resident removes it or erases their data (DELETE /v1/me)",
    },
    "while_account": {
        "fr": "Tant que le compte existe (un administrateur le retire)",
        "en": "As long as the account exists (an administrator removes it)",
    },
    "history": {
        "fr": "Conservé avec l'historique qu'il signe (aucune suppression programmée) ; "
        "remplacé par une marque anonyme si l'habitant efface ses données",
        "en": "Kept with the history it signs (no deletion scheduled); replaced with an "
        "anonymous tombstone if the resident erases their data",
    },
    "until_processed": {
        "fr": "Jusqu'au traitement de la photo par le worker (quelques secondes), puis supprimé",
        "en": "Until the worker has processed the photo (seconds), then deleted",
    },
    "with_setting": {
        "fr": "Tant que le réglage qu'il signe n'est pas modifié à nouveau",
        "en": "Until the setting it signs is edited again",
    },
    "other_audit_events": {
        "fr": "Les autres événements du journal (gestion des comptes du personnel, "
        "effacements) : conservés, aucune suppression programmée",
        "en": "The log's other events (staff account management, erasures): kept, no "
        "deletion scheduled",
    },
    "while_partner": {
        "fr": "Tant que la clé du partenaire existe (aucune suppression programmée)",
        "en": "As long as the partner's key exists (no deletion scheduled)",
    },
}

# What each table holding personal data is, for the register's reader (a table gets one
# here when it gets its first marked column: tests/privacy/test_register.py).
TABLES: dict[str, Texts] = {
    "equipment_commands": {
        "fr": "Commandes envoyées aux équipements de la ville (éclairage, feux), avec l’agent "
        "qui les a demandées et le superviseur qui les a confirmées",
        "en": "Commands sent to the city's equipment (lighting, signals), with the agent who "
        "asked and the supervisor who confirmed",
    },
    "area_subscriptions": {
        "fr": "Secteurs que des habitants suivent pour être prévenus des nouveaux signalements",
        "en": "Areas residents watch to hear of new reports",
    },
    "audit_events": {
        "fr": "Journal d'audit : consultations de données personnelles par le personnel, "
        "gestion des comptes, effacements",
        "en": "Audit log: staff reads of personal data, account management, erasures",
    },
    "devices": {
        "fr": "Appareils des habitants inscrits aux notifications push",
        "en": "Residents' devices registered for push notifications",
    },
    "idempotency_keys": {
        "fr": "Réponses gardées 24 heures pour rejouer une requête répétée",
        "en": "Answers kept 24 hours to replay a repeated request",
    },
    "message_templates": {
        "fr": "Modèles des messages envoyés aux habitants",
        "en": "Templates of the messages residents are sent",
    },
    "notification_preferences": {
        "fr": "Préférences de notification des habitants (types coupés, heures calmes)",
        "en": "Residents' notification preferences (kinds muted, quiet hours)",
    },
    "notification_titles": {
        "fr": "Titres des notifications, modifiables par les superviseurs",
        "en": "Notification titles, editable by supervisors",
    },
    "notifications": {
        "fr": "Notifications envoyées aux habitants (fil in-app et push)",
        "en": "Notifications residents were sent (in-app feed and push)",
    },
    "open311_api_keys": {
        "fr": "Clés des partenaires qui déposent des signalements par Open311",
        "en": "Keys of the partners filing reports through Open311",
    },
    "photos": {
        "fr": "Photos des signalements",
        "en": "Reports' photos",
    },
    "report_contacts": {
        "fr": "Coordonnées laissées, au choix, par l'auteur d'un signalement",
        "en": "Contact details a report's author chose to leave",
    },
    "report_events": {
        "fr": "Historique de chaque signalement : qui a fait quoi, messages publics, notes",
        "en": "Each report's history: who did what, public messages, notes",
    },
    "report_followers": {
        "fr": "Habitants qui suivent un signalement",
        "en": "Residents following a report",
    },
    "report_supporters": {
        "fr": "Habitants qui soutiennent un signalement (« moi aussi »)",
        "en": "Residents supporting a report (“me too”)",
    },
    "reports": {
        "fr": "Signalements : le problème, son lieu, ce qu'en a dit l'auteur",
        "en": "Reports: the problem, its place, what its author said",
    },
    "users": {
        "fr": "Comptes du personnel (agents, superviseurs, équipes, administrateurs, "
        "correspondant CNIL)",
        "en": "Staff accounts (agents, supervisors, crews, administrators, privacy officer)",
    },
}

VOCABULARIES = {
    "what": WHAT,
    "purpose": PURPOSES,
    "basis": BASES,
    "audience": AUDIENCES,
    "leaves": EXITS,
    "kept": KEPT,
}


@dataclass(frozen=True)
class Personal:
    """The mark of a column holding personal data (codes of the vocabularies above)."""

    what: str
    purpose: str
    basis: str
    audience: tuple[str, ...]
    leaves: tuple[str, ...] = ()
    retention: str | None = None  # a rule of app/privacy/retention.py
    kept: str | None = None  # how long it stays where no rule deletes it


def personal(
    what: str,
    *,
    purpose: str,
    basis: str,
    audience: tuple[str, ...],
    leaves: tuple[str, ...] = (),
    retention: str | None = None,
    kept: str | None = None,
) -> dict:
    """The ``info`` of a column holding personal data. ``retention``: a rule's name (checked
    against the schedule by the register's test); ``kept``: a KEPT code, how long the data
    stays where no rule deletes it (both when a rule deletes only some of the rows)."""
    if retention is None and kept is None:
        raise ValueError(f"{what}: say how long it is kept: retention (a rule) or kept")
    mark = Personal(what, purpose, basis, tuple(audience), tuple(leaves), retention, kept)
    for field, vocabulary in VOCABULARIES.items():
        value = getattr(mark, field)
        for code in value if isinstance(value, tuple) else (value,):
            if code is not None and code not in vocabulary:
                raise ValueError(f"unknown {field} code {code!r} (app/personal_data.py)")
    return {"personal": mark}


def not_personal(why: str) -> dict:
    """The ``info`` of a column whose name looks personal but is not: ``why`` says so."""
    if not why.strip():
        raise ValueError("not_personal needs a reason")
    return {"not_personal": why}


# Marks more than one domain uses.
# Who edited a message template or a notification title last.
EDITOR_UID = personal(
    "staff_uid",
    purpose="accountability",
    basis="public_task",
    audience=("supervisors",),
    kept="with_setting",
)
TEMPLATE_TEXT = not_personal("a template the desks write for everyone, with placeholders")


def mark_of(column) -> Personal | None:
    return column.info.get("personal")


def text(vocabulary: dict[str, Texts], code: str, lang: str) -> str:
    texts = vocabulary[code]
    return texts.get(lang) or texts["fr"]
