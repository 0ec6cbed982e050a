"""What an erasure's answer and the register say: French first, English on request."""

# code -> {language: text}
TEXTS: dict[str, dict[str, str]] = {
    "erasure_done": {
        "fr": "Vos données personnelles ont été effacées. Vos signalements restent, détachés "
        "de vous, pour la mission de service public de la Métropole : le détail suit.",
        "en": "Your personal data has been erased. Your reports remain, detached from you, "
        "for the Métropole's public task: details follow.",
    },
    "erasure_nothing_left": {
        "fr": "Signale ne détient plus aucune donnée personnelle vous concernant : rien "
        "n'était à effacer.",
        "en": "Signale holds no personal data about you any more: there was nothing to erase.",
    },
    "erasure_deleted_contacts": {
        "fr": "Coordonnées (nom, courriel, téléphone) données avec vos signalements : supprimées.",
        "en": "Contact details (name, e-mail, phone) given with your reports: deleted.",
    },
    "erasure_deleted_devices": {
        "fr": "Appareils inscrits aux notifications : supprimés.",
        "en": "Devices registered for notifications: deleted.",
    },
    "erasure_deleted_notifications": {
        "fr": "Notifications reçues : supprimées.",
        "en": "Notifications received: deleted.",
    },
    "erasure_deleted_notification_preferences": {
        "fr": "Préférences de notification : supprimées.",
        "en": "Notification preferences: deleted.",
    },
    "erasure_deleted_area_subscriptions": {
        "fr": "Abonnements à des secteurs : supprimés.",
        "en": "Area subscriptions: deleted.",
    },
    "erasure_deleted_follows": {
        "fr": "Suivis de signalements : supprimés.",
        "en": "Reports followed: deleted.",
    },
    "erasure_deleted_unpublished_photos": {
        "fr": "Photos non publiées (en traitement, refusées ou masquées par le guichet) : "
        "supprimées, fichiers compris.",
        "en": "Photos not published (processing, rejected or hidden by the desk): deleted, "
        "files included.",
    },
    "erasure_deleted_unblurred_originals": {
        "fr": "Originaux non floutés de vos photos publiées : supprimés ; seule la version "
        "floutée reste avec le signalement.",
        "en": "Unblurred originals of your published photos: deleted; only the blurred "
        "version stays with the report.",
    },
    "erasure_deleted_idempotency_keys": {
        "fr": "Réponses gardées pour rejouer vos requêtes (24 h) : supprimées.",
        "en": "Answers kept to replay your requests (24 h): deleted.",
    },
    "erasure_detached_reports": {
        "fr": "Signalements : conservés pour la mission de service public (le problème, son "
        "lieu, son traitement), détachés de vous ; votre description, l'adresse saisie et "
        "vos réponses en texte libre sont effacées (la version publiée par le service, "
        "si elle existe, reste).",
        "en": "Reports: kept for the public task (the problem, its place, how it was "
        "handled), detached from you; your description, the address you typed and your "
        "free-text answers are erased (the version the desk published, if any, stays).",
    },
    "erasure_detached_published_photos": {
        "fr": "Photos publiées (métadonnées déjà retirées) : conservées avec leur "
        "signalement, détachées de vous.",
        "en": "Published photos (metadata already stripped): kept with their report, "
        "detached from you.",
    },
    "erasure_detached_supports": {
        "fr": "Soutiens (« moi aussi ») : comptés avec les signalements, détachés de vous.",
        "en": "Supports (“me too”): still counted on the reports, detached from you.",
    },
    "erasure_detached_actions": {
        "fr": "Vos actions dans l'historique des signalements : ce qui a été fait reste, "
        "sans dire qui l'a demandé.",
        "en": "Your actions in the reports' history: what was done stays, not who asked.",
    },
    # The register of processing activities: a retention rule in words.
    "register_rule_delete": {
        "fr": "Supprimé {days} après {counted_from}.",
        "en": "Deleted {days} after {counted_from}.",
    },
    "register_rule_clear": {
        "fr": "Effacé {days} après {counted_from}.",
        "en": "Cleared {days} after {counted_from}.",
    },
}


def text(code: str, lang: str) -> str:
    texts = TEXTS[code]
    return texts.get(lang) or texts["fr"]
