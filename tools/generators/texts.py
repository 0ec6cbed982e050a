"""What people write in the demo history: residents' descriptions per category (French, a few
in English), desk messages to residents, internal notes, reasons for reopening. Invented,
in the tone of real reports."""

STREETS = (
    "rue de la Liberté", "rue des Godrans", "boulevard de Sévigné", "avenue Jean Jaurès",
    "rue Chabot-Charny", "boulevard Carnot", "avenue du Drapeau", "rue d'Auxonne",
    "rue Monge", "avenue Victor Hugo", "rue de Mirande", "boulevard de Strasbourg",
    "rue Jean-Baptiste Baudin", "avenue de Langres", "rue de Talant", "boulevard Pompon",
    "rue Berbisey", "place Darcy", "rue Devosge", "avenue Aristide Briand",
    "rue de Longvic", "boulevard Clemenceau", "rue Parmentier", "avenue du Lac",
)  # fmt: skip

# Per category: French descriptions, then English ones; {street} is a street of Dijon.
DESCRIPTIONS = {
    "pothole": (
        [
            "Gros nid-de-poule au milieu de la chaussée, {street}, les voitures font des écarts.",
            "Trou profond près du passage piéton, {street}, dangereux pour les vélos.",
            "Nid-de-poule rempli d'eau devant le n° 14, {street}, on ne le voit pas la nuit.",
            "La chaussée s'affaisse et un trou s'agrandit depuis une semaine, {street}.",
        ],
        ["Large pothole in the middle of the road on {street}, cyclists swerve around it."],
    ),
    "damaged_pavement": (
        [
            "Dalles du trottoir soulevées par les racines, {street}, une personne âgée a trébuché.",
            "Trottoir défoncé devant l'arrêt de bus, {street}, impossible de passer en poussette.",
        ],
        ["Broken paving slabs on the pavement of {street}, a trip hazard."],
    ),
    "road_marking": (
        ["Passage piéton presque effacé, {street}, les automobilistes ne s'arrêtent plus."],
        ["The zebra crossing on {street} has almost faded away."],
    ),
    "blocked_drain": (
        [
            "Avaloir bouché par les feuilles, {street}, grosse flaque à chaque pluie.",
            "L'eau ne s'écoule plus, la grille d'égout est obstruée, {street}.",
        ],
        ["Blocked drain on {street}: the road floods every time it rains."],
    ),
    "street_furniture": (
        ["Banc cassé dans le square, {street} : une planche manque."],
        ["A bench near {street} is broken, one of its boards is missing."],
    ),
    "streetlight_out": (
        [
            "Lampadaire éteint depuis plusieurs soirs, {street}, la rue est très sombre.",
            "Trois lampadaires ne s'allument plus, {street}, on ne voit rien en rentrant.",
            "Éclairage public en panne devant l'école, {street}.",
            "Le lampadaire clignote puis s'éteint toute la nuit, {street}.",
        ],
        ["The street light on {street} has been off for several nights, it is very dark."],
    ),
    "streetlight_day": (
        ["Lampadaires allumés en plein jour, {street}, depuis au moins trois jours."],
        ["Street lights on {street} stay on during the day."],
    ),
    "streetlight_damaged": (
        ["Mât de lampadaire penché après un accrochage, {street}, la trappe est ouverte."],
        ["A street light pole on {street} was hit by a car and is leaning."],
    ),
    "traffic_light_fault": (
        [
            "Feu tricolore bloqué au rouge au carrefour, {street}, bouchons importants.",
            "Le feu piéton ne passe jamais au vert, {street}.",
            "Feux éteints au croisement, {street}, les voitures passent sans ralentir.",
        ],
        ["The traffic lights at the junction on {street} are stuck on red."],
    ),
    "sign_damaged": (
        ["Panneau stop tordu et tourné vers le trottoir, {street}."],
        ["The give-way sign on {street} has been knocked over."],
    ),
    "illegal_dumping": (
        [
            "Dépôt sauvage de gravats et d'un vieux matelas, {street}.",
            "Sacs poubelles et cartons abandonnés au pied des conteneurs, {street}.",
            "Encombrants déposés sur le trottoir depuis le week-end, {street}.",
        ],
        ["Someone dumped an old mattress and rubble on {street}."],
    ),
    "graffiti": (
        [
            "Tags sur la façade de l'école, {street}.",
            "Graffitis sur le mur du parking, {street}, refaits après le dernier nettoyage.",
        ],
        ["Graffiti on the wall of the car park on {street}."],
    ),
    "overflowing_bin": (
        ["Corbeille qui déborde à l'arrêt de tram, {street}, les déchets s'envolent."],
        ["The bin at the tram stop on {street} is overflowing."],
    ),
    "dead_animal": (
        ["Un chat mort sur la chaussée, {street}."],
        ["A dead fox on the road on {street}."],
    ),
    "fallen_tree": (
        ["Grosse branche tombée après l'orage, elle bloque une voie, {street}."],
        ["A large branch fell in the storm and blocks one lane of {street}."],
    ),
    "overgrown_vegetation": (
        ["Haie qui déborde sur le trottoir, {street}, on doit marcher sur la route."],
        ["An overgrown hedge blocks the pavement on {street}."],
    ),
    "snow_ice": (
        ["Plaque de verglas sur la piste cyclable, {street}, deux chutes ce matin."],
        ["Black ice on the cycle lane on {street}."],
    ),
    "dangerous_object": (
        ["Plaque d'égout descellée, {street}, elle bouge quand les voitures passent."],
        ["A loose manhole cover on {street} rattles as cars drive over it."],
    ),
    "abandoned_vehicle": (
        ["Voiture sans plaques, pneus à plat, stationnée depuis deux mois, {street}."],
        ["A car with flat tyres has not moved for two months on {street}."],
    ),
    "other": (
        [
            "Banc public arraché dans le parc, {street}.",
            "Fontaine à eau en panne sur la place, {street}.",
        ],
        ["The drinking fountain near {street} does not work."],
    ),
}
GENERIC = (["Problème constaté, {street}."], ["Problem seen on {street}."])

PUBLIC_UPDATES = (
    ("Intervention programmée dans la semaine.", "Work is scheduled this week."),
    (
        "Le matériel nécessaire a été commandé : nous revenons vers vous dès sa réception.",
        "The parts needed have been ordered: we will be back to you once they arrive.",
    ),
    (
        "Une signalisation provisoire a été posée en attendant la réparation.",
        "Temporary signs have been put up until the repair.",
    ),
    (
        "Plusieurs habitants nous ont alertés : l'intervention est prioritaire.",
        "Several residents told us about it: the work is a priority.",
    ),
)
AGENT_NOTES = (
    "Vu avec le chef d'équipe : passage prévu demain matin.",
    "Secteur déjà signalé la semaine dernière, à surveiller.",
    "Appel d'un riverain : le problème s'aggrave.",
    "Vérifier si l'emprise relève du domaine privé.",
)
CREW_NOTES = (
    "Sur place : nécessite une nacelle, retour prévu jeudi.",
    "Zone balisée, réparation provisoire effectuée.",
    "Pièce à remplacer, commandée au magasin.",
    "Accès difficile (véhicules stationnés) : repasser tôt le matin.",
)
HAND_BACKS = (
    ("needs_equipment", "Il faut une nacelle, l'équipe n'en dispose pas."),
    ("access_blocked", "Chantier privé devant l'accès, impossible d'intervenir."),
    ("needs_other_skill", "Réseau électrique en cause : à voir avec l'éclairage."),
)
REOPEN_REASONS = (
    "Le trou s'est reformé après les dernières pluies.",
    "C'est de nouveau en panne depuis deux soirs.",
    "Rien n'a changé sur place, le problème est toujours là.",
    "La réparation n'a tenu que quelques jours.",
)
DESK_REOPEN_REASON = "Nouveau contrôle : le problème persiste."
