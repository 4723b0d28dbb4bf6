"""The generated parts of the French guides (docs/fr/guide-bailleur.md, guide-unite.md).

    python scripts/guides_fr.py            # rewrite the generated blocks in place
    python scripts/guides_fr.py --check    # exit 1 when a guide differs from its rendering

Why generated: a field table or a JSON example written by hand drifts from the Avro schemas
the day a field is added. Each block sits between ``<!-- BEGIN generated:<kind>:<name> -->``
and ``<!-- END generated -->``:

- ``fields:<message>``: one row per field (dotted path for nested records) of the NEWEST
  version of ``schemas/avro/<message>/``: type, required or default, French description
  from ``FIELDS_FR`` below. A field without a French description fails the rendering, so a
  schema change cannot reach the guides silently (tests/unit/docs/test_guides_fr.py).
- ``example:<vector>``: the JSON of ``tests/vectors/<vector>.json`` (a real message that
  Vigie's codec wrote and read back).
- ``reasons:partner`` / ``reasons:unit``: the reason codes that audience can receive, with
  Vigie's fixed French text (``ReasonCode.message_fr``) and what to do (``ACTION_FR``).
  Every code of ``vigie.contracts.reasons`` is in one of the two tables.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from vigie.contracts.reasons import ReasonCode  # noqa: E402
from vigie.contracts.schemas import get_registry  # noqa: E402

GUIDES = (ROOT / "docs" / "fr" / "guide-bailleur.md", ROOT / "docs" / "fr" / "guide-unite.md")
VECTORS = ROOT / "tests" / "vectors"
BLOCK = re.compile(
    r"(<!-- BEGIN generated:(?P<kind>[a-z]+):(?P<name>[a-z0-9_]+) -->\n)(?P<body>.*?)"
    r"(<!-- END generated -->)", re.S)

#: French description of every field, by message and dotted path. ``RoutedEvent.event`` is
#: the PartnerEvent itself (its own table), so its sub-fields are not repeated.
FIELDS_FR: dict[str, dict[str, str]] = {
    "partner_event": {
        "event_id": "UUID choisi par le bailleur, unique par message : la clé d'idempotence "
        "(un renvoi sous le même id reçoit DUPLICATE). Premier champ, lisible même d'un "
        "message abîmé.",
        "partner_id": "Identifiant du bailleur ; doit être celui du topic (sinon "
        "SENDER_MISMATCH).",
        "sent_at": "Instant d'envoi par le bailleur.",
        "occurred_at": "Instant des faits (ou du constat) ; pas après `sent_at`, pas plus "
        "de 30 jours avant.",
        "status": "Statut CAP : `ACTUAL` réel, `EXERCISE` exercice, `TEST` essai "
        "(voir « Bac à sable »).",
        "message_type": "Type CAP : `NEW` nouvel événement, `UPDATE` complément, `CANCEL` "
        "annulation.",
        "references": "Pour `UPDATE`/`CANCEL` : les `event_id` visés, le premier étant "
        "l'événement initial (la racine) ; vide pour `NEW`.",
        "incident_id": "Référence libre du bailleur pour relier ses messages (dossier, "
        "ticket).",
        "category": "Nature des faits (taxonomie ci-dessous).",
        "urgency": "Urgence CAP : `IMMEDIATE`, `EXPECTED`, `FUTURE`, `PAST`, `UNKNOWN`.",
        "severity": "Gravité CAP : `EXTREME`, `SEVERE`, `MODERATE`, `MINOR`, `UNKNOWN`.",
        "certainty": "Certitude CAP : `OBSERVED`, `LIKELY`, `POSSIBLE`, `UNLIKELY`, "
        "`UNKNOWN`.",
        "site_id": "Identifiant du site (résidence, bâtiment) dans le référentiel de sites "
        "du bailleur : la meilleure façon de localiser.",
        "location": "Lieu explicite, quand il n'y a pas de site ou pour le préciser.",
        "location.coordinates": "Position GPS, si le déclarant en a une.",
        "location.coordinates.lat": "Latitude WGS 84, degrés décimaux.",
        "location.coordinates.lon": "Longitude WGS 84, degrés décimaux.",
        "location.address": "Adresse postale ; chaque partie est facultative.",
        "location.address.street": "Numéro et voie.",
        "location.address.postcode": "Code postal à 5 chiffres.",
        "location.address.commune_name": "Nom de la commune.",
        "location.address.insee_code": "Code INSEE de la commune (5 caractères).",
        "staff_involved": "Un personnel du bailleur est concerné.",
        "persons_in_danger": "Des personnes sont en danger en ce moment (voie urgente).",
        "description": "Texte libre, 2 000 caractères au plus, sans caractères de contrôle. "
        "Peut contenir des données personnelles : il ne va qu'à l'unité destinataire, "
        "jamais dans les accusés, journaux ou métriques.",
        "expires_at": "Au-delà de cet instant l'événement n'a plus d'objet : non acheminé "
        "(EXPIRED).",
        "source_system": "Nom du logiciel du bailleur qui a produit le message.",
        "reporter_role": "Qui a signalé : `CARETAKER` gardien, `LOCAL_AGENT` agent de "
        "proximité, `MANAGER` responsable de secteur, `SECURITY_GUARD` agent de sécurité, "
        "`CALL_CENTRE` astreinte, `TENANT` locataire, `OTHER`.",
    },
    "acknowledgement": {
        "ack_id": "UUID de l'accusé ; le même pour la même réponse relue (dédoublonnez "
        "dessus).",
        "partner_id": "Le bailleur destinataire.",
        "event_id": "Le message auquel il répond (son propre `event_id`, y compris pour un "
        "UPDATE ou un CANCEL) ; null si le message était trop abîmé pour le lire.",
        "status": "Ce qu'il est advenu (tableau « Statuts des accusés »).",
        "issued_at": "Instant d'émission.",
        "units": "Unités destinataires (ou qui ont répondu).",
        "reason_code": "Code de motif stable (tableau « Codes de motif »), sinon null.",
        "reason_message": "Texte français fixe du motif ; jamais de contenu du message.",
        "source": "Où Vigie a lu le message (topic, partition, offset).",
        "source.topic": "Nom du topic.",
        "source.partition": "Numéro de partition.",
        "source.offset": "Position dans la partition.",
        "routing_rule": "Règle qui a écarté l'unité compétente (`UNIT_UNAVAILABLE`, "
        "`OUTSIDE_HOURS`, `PUBLIC_HOLIDAY`, `OVERFLOW`) ; null sinon.",
        "competent_unit_id": "L'unité compétente pour le lieu, même si une autre a reçu "
        "l'événement.",
    },
    "status_update": {
        "event_id": "Identifiant RACINE de l'affaire : la clé Kafka de l'événement reçu "
        "(l'`event_id` du NEW du bailleur, même pour une copie d'UPDATE ou de CANCEL).",
        "unit_id": "L'unité qui répond ; doit être celle du topic.",
        "status": "`TAKEN_IN_CHARGE` pris en compte, `PATROL_DISPATCHED` patrouille "
        "engagée (vaut prise en compte), `CLOSED` terminé, `TRANSFER_REQUESTED` "
        "relève de l'autre force.",
        "at": "Instant du statut (pas plus de 5 minutes dans le futur).",
        "transfer_to_force": "`PN` ou `GN` : obligatoire pour `TRANSFER_REQUESTED`, "
        "interdit sinon.",
    },
    "routed_event": {
        "unit_id": "L'unité destinataire de cette copie.",
        "routed_at": "Instant de l'acheminement par Vigie.",
        "event": "Le message du bailleur, inchangé (tous les champs du PartnerEvent, "
        "voir le guide bailleur).",
        "enrichment": "Données de référence ajoutées par Vigie.",
        "enrichment.site": "Le site du bailleur, s'il est connu.",
        "enrichment.site.site_id": "Identifiant du site.",
        "enrichment.site.partner_id": "Bailleur propriétaire.",
        "enrichment.site.residence_name": "Nom de la résidence.",
        "enrichment.site.street": "Numéro et voie.",
        "enrichment.site.postcode": "Code postal.",
        "enrichment.site.commune_name": "Commune.",
        "enrichment.site.insee_code": "Code INSEE.",
        "enrichment.site.lat": "Latitude WGS 84.",
        "enrichment.site.lon": "Longitude WGS 84.",
        "enrichment.site.qpv_name": "Quartier prioritaire (QPV) du site, s'il y en a un.",
        "enrichment.site.zsp": "Site en zone de sécurité prioritaire.",
        "enrichment.site.homes": "Nombre de logements.",
        "enrichment.commune": "Commune où l'événement a été placé.",
        "enrichment.commune.insee_code": "Code INSEE.",
        "enrichment.commune.name": "Nom.",
        "enrichment.commune.population": "Population légale, si connue.",
        "enrichment.qpv_name": "Quartier prioritaire, s'il y en a un.",
        "enrichment.zsp": "En zone de sécurité prioritaire.",
        "decision": "La décision d'acheminement.",
        "decision.status": "`ROUTED` acheminé, `MANUAL_TRIAGE` tri manuel par le centre "
        "départemental (lieu indéterminé ou aucune unité disponible).",
        "decision.units": "Toutes les unités destinataires.",
        "decision.force": "Force compétente (`PN`, `GN`), si connue.",
        "decision.lane": "`ALERT` voie urgente (topic `alerts`), `INCIDENT` sinon.",
        "decision.method": "Comment le lieu a été trouvé : `SITE`, `COORDINATES`, `INSEE`, "
        "`POSTCODE`, `DEFAULT` (non placé).",
        "decision.insee_code": "Commune retenue.",
        "decision.reference_versions": "Version de chaque table de référence utilisée.",
        "decision.discrepancy": "Note quand les sources de lieu se contredisent.",
        "decision.reason_code": "Code de motif quand l'acheminement n'est pas ordinaire "
        "(tableau « Codes de motif »).",
        "decision.explanation": "Explication de la décision, en clair (sans contenu du "
        "message).",
        "decision.competent_unit_id": "L'unité compétente pour la commune (à qui est la "
        "zone), même si l'événement est allé ailleurs.",
        "decision.routing_rule": "Règle qui a écarté l'unité compétente (`UNIT_UNAVAILABLE`, "
        "`OUTSIDE_HOURS`, `PUBLIC_HOLIDAY`, `OVERFLOW`) ; null sinon.",
        "decision.rules_version": "Version des règles d'acheminement appliquées.",
    },
    "unit_feedback": {
        "feedback_id": "UUID de la réponse ; le même pour le même statut refusé relu.",
        "unit_id": "L'unité destinataire (propriétaire du topic de statuts).",
        "event_id": "L'identifiant cité par le statut refusé, s'il a pu être lu.",
        "status": "Le statut envoyé, s'il a pu être lu.",
        "reason_code": "Code de motif stable (tableau « Codes de motif »).",
        "reason_message": "Texte français : le motif et quoi faire ; jamais de contenu.",
        "issued_at": "Instant de la réponse.",
        "source": "Où le statut refusé a été lu (topic, partition, offset).",
        "source.topic": "Nom du topic.",
        "source.partition": "Numéro de partition.",
        "source.offset": "Position dans la partition.",
    },
}

#: What the landlord does for each code it can receive (in a REJECTED, EXPIRED or ROUTED ack).
PARTNER_ACTIONS: dict[ReasonCode, str] = {
    ReasonCode.EMPTY_MESSAGE: "Corriger le logiciel : il publie une valeur vide.",
    ReasonCode.BAD_MARKER: "Encoder en Avro « single-object » (C3 01 + empreinte), pas en "
    "JSON ni avec l'en-tête d'un registre Confluent.",
    ReasonCode.UNKNOWN_SCHEMA: "Utiliser les schémas publiés (`schemas/avro/partner_event/`) "
    "sans les modifier.",
    ReasonCode.TRUNCATED: "Vérifier l'encodage : le message est coupé.",
    ReasonCode.TRAILING_BYTES: "Vérifier l'encodage : un seul enregistrement par message.",
    ReasonCode.OVERSIZED: "Raccourcir le message (64 Kio au plus).",
    ReasonCode.SCHEMA_VIOLATION: "Corriger le champ en cause (valeur hors contrat).",
    ReasonCode.INVALID_EVENT_ID: "Mettre un UUID canonique dans `event_id`.",
    ReasonCode.SENDER_MISMATCH: "`partner_id` doit être votre identifiant, celui du topic.",
    ReasonCode.FUTURE_TIMESTAMP: "Synchroniser l'horloge (NTP) ; instants en UTC ou avec "
    "leur fuseau.",
    ReasonCode.INCONSISTENT_TIMESTAMPS: "`occurred_at` ≤ `sent_at`, et `expires_at` après "
    "`occurred_at`.",
    ReasonCode.INVALID_COORDINATES: "Latitude et longitude WGS 84 en degrés décimaux (pas "
    "de Lambert 93).",
    ReasonCode.INVALID_INSEE: "Code INSEE de la commune (5 caractères), pas le code postal.",
    ReasonCode.INVALID_POSTCODE: "Code postal à 5 chiffres.",
    ReasonCode.TEXT_TOO_LONG: "Raccourcir le texte (description : 2 000 caractères).",
    ReasonCode.INVALID_IDENTIFIER: "Identifiants (site, dossier) : lettres, chiffres, tirets.",
    ReasonCode.MISSING_REFERENCES: "Un UPDATE ou un CANCEL cite l'événement initial dans "
    "`references`.",
    ReasonCode.UNEXPECTED_REFERENCES: "Un NEW a `references` vide.",
    ReasonCode.KEY_MISMATCH: "Clé Kafka = identifiant racine en UTF-8 (voir « Clé »).",
    ReasonCode.EVENT_ID_CONFLICT: "Tirer les `event_id` au hasard (UUID v4), jamais par "
    "compteur.",
    ReasonCode.WRONG_PARTITION: "Partitionneur murmur2 (librdkafka : "
    "`partitioner=murmur2_random`) ; ne jamais choisir la partition.",
    ReasonCode.UNSAFE_TEXT: "Retirer les caractères de contrôle et de direction du texte.",
    ReasonCode.TOO_OLD: "Faits de plus de 30 jours : à signaler par les voies ordinaires.",
    ReasonCode.UNKNOWN_REFERENCE: "Citer un événement déjà ACHEMINÉ (ROUTED) de votre "
    "bailleur ; attendre son accusé avant l'UPDATE.",
    ReasonCode.EXPIRED: "Rien : l'événement était périmé (`expires_at`) ; en envoyer un "
    "nouveau s'il a encore un objet.",
    ReasonCode.INTERNAL_ERROR: "Rien : l'exploitation est prévenue et réexaminera le "
    "message ; ne pas le renvoyer sous un autre id.",
    ReasonCode.OUT_OF_AREA: "Acheminé au tri manuel : vérifier le lieu (hors Oise).",
    ReasonCode.UNLOCATED: "Acheminé au tri manuel : donner un site connu, des coordonnées "
    "ou une adresse avec code INSEE.",
    ReasonCode.UNKNOWN_SITE: "Acheminé par l'adresse ou les coordonnées : faire charger le "
    "site dans le référentiel (exploitation Vigie).",
    ReasonCode.SITE_OF_OTHER_PARTNER: "Acheminé par l'adresse ou les coordonnées : vérifier "
    "`site_id` (c'est le site d'un autre bailleur).",
    ReasonCode.UNKNOWN_UNIT: "Acheminé au tri manuel : rien à faire, l'exploitation corrige "
    "le référentiel.",
    ReasonCode.NO_UNIT_ON_DUTY: "Acheminé au centre départemental : rien à faire.",
    ReasonCode.TEST_EVENT: "Rien : essai réussi ; vérifier dans `units` et sur "
    "`partner.<id>.sandbox.v1` ce qui aurait été envoyé.",
    ReasonCode.NOT_IN_EXERCISE: "Aucune unité destinataire ne participe à un exercice en "
    "cours : vérifier le calendrier de l'exercice avec l'exploitation.",
    ReasonCode.CAP_STATUS_MISMATCH: "Donner à l'UPDATE ou au CANCEL le `status` de "
    "l'événement initial.",
}

#: What the unit does for each code it can receive: in a RoutedEvent's ``decision`` (manual
#: triage), or, once it exists, in the answer to a refused status (``unit_feedback``).
UNIT_ACTIONS: dict[ReasonCode, str] = {
    ReasonCode.EMPTY_MESSAGE: "Corriger le logiciel : il publie une valeur vide.",
    ReasonCode.BAD_MARKER: "Encoder le statut en Avro « single-object ».",
    ReasonCode.UNKNOWN_SCHEMA: "Utiliser le schéma publié (`schemas/avro/status_update/`).",
    ReasonCode.TRUNCATED: "Vérifier l'encodage : le message est coupé.",
    ReasonCode.TRAILING_BYTES: "Vérifier l'encodage : un seul enregistrement par message.",
    ReasonCode.OVERSIZED: "Un statut tient en moins de 100 octets : vérifier l'encodage.",
    ReasonCode.SCHEMA_VIOLATION: "Corriger le champ en cause.",
    ReasonCode.INVALID_EVENT_ID: "Citer l'identifiant racine reçu (un UUID), tel quel.",
    ReasonCode.SENDER_MISMATCH: "`unit_id` doit être votre unité, celle du topic.",
    ReasonCode.INVALID_IDENTIFIER: "`unit_id` : votre identifiant d'unité.",
    ReasonCode.FUTURE_TIMESTAMP: "Synchroniser l'horloge (NTP).",
    ReasonCode.KEY_MISMATCH: "Clé Kafka = `event_id` du statut = identifiant racine.",
    ReasonCode.WRONG_PARTITION: "Partitionneur murmur2 (librdkafka : "
    "`partitioner=murmur2_random`).",
    ReasonCode.UNKNOWN_REFERENCE: "Citer un événement reçu par l'unité (de préférence sa "
    "clé Kafka, l'identifiant racine) ; vérifier l'identifiant.",
    ReasonCode.STATUS_NOT_ALLOWED: "Statut répété, à rebours, d'une unité non destinataire, "
    "pendant un transfert ou après CLOSED : rien n'est transmis au bailleur ; vérifier "
    "l'affaire.",
    ReasonCode.INTERNAL_ERROR: "Rien : l'exploitation réexaminera le statut.",
    ReasonCode.OUT_OF_AREA: "Tri manuel (centres départementaux) : lieu hors Oise.",
    ReasonCode.UNLOCATED: "Tri manuel : lieu indéterminé, le situer avec le bailleur.",
    ReasonCode.UNKNOWN_UNIT: "Tri manuel : l'unité compétente n'est pas au référentiel.",
    ReasonCode.NO_UNIT_ON_DUTY: "Reçu au centre départemental : aucune unité de repli de "
    "service ; `competent_unit_id` dit à qui est la zone.",
}

AUDIENCES = {"partner": PARTNER_ACTIONS, "unit": UNIT_ACTIONS}


# -- fields -----------------------------------------------------------------------------------
def _type_fr(kind: Any) -> tuple[str, Any]:
    """(French name of an Avro type, the record schema to expand or None)."""
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        name, record = _type_fr(others[0]) if len(others) == 1 else ("union", None)
        return name, record
    if isinstance(kind, str):
        return {"string": "texte", "boolean": "booléen", "int": "entier", "long": "entier long",
                "double": "réel", "bytes": "octets"}.get(kind, kind), None
    logical = kind.get("logicalType")
    if logical == "timestamp-millis":
        return "instant (ms UTC)", None
    if kind["type"] == "enum":
        return f"énum `{kind['name']}`", None
    if kind["type"] == "array":
        return f"liste de {_type_fr(kind['items'])[0]}", None
    if kind["type"] == "map":
        return f"table texte → {_type_fr(kind['values'])[0]}", None
    if kind["type"] == "record":
        return f"`{kind['name']}`", kind
    return str(kind["type"]), None


def _presence(field: dict[str, Any]) -> str:
    if "default" not in field:
        return "obligatoire"
    default = field["default"]
    if default is None:
        return "facultatif (null)"
    return f"défaut `{json.dumps(default, ensure_ascii=False)}`"


def field_rows(message: str) -> list[tuple[str, str, str]]:
    """(path, type, presence) of every field of the newest schema, nested records expanded
    (the PartnerEvent inside a RoutedEvent is not: it has its own table)."""
    rows: list[tuple[str, str, str]] = []

    def walk(record: dict[str, Any], prefix: str) -> None:
        for field in record["fields"]:
            path = prefix + field["name"]
            kind, sub = _type_fr(field["type"])
            rows.append((path, kind, _presence(field)))
            if sub is not None and sub["name"] != "PartnerEvent":
                walk(sub, path + ".")

    walk(get_registry().versions(message)[-1].raw, "")
    return rows


def render_fields(message: str) -> str:
    version = get_registry().versions(message)[-1]
    described = FIELDS_FR.get(message, {})
    lines = [f"Schéma `schemas/avro/{message}/v{version.version}.avsc` (enregistrement "
             f"`fr.vigie.{version.raw['name']}`).", "",
             "| Champ | Type | Présence | Description |", "|---|---|---|---|"]
    for path, kind, presence in field_rows(message):
        if path not in described:
            raise KeyError(f"{message}.{path}: no French description in scripts/guides_fr.py "
                           "FIELDS_FR")
        lines.append(f"| `{path}` | {kind} | {presence} | {described[path]} |")
    return "\n".join(lines) + "\n"


def render_example(vector: str) -> str:
    data = json.loads((VECTORS / f"{vector}.json").read_text(encoding="utf-8"))
    body = json.dumps(data["value"], indent=2, ensure_ascii=False)
    return f"```json\n{body}\n```\n"


def render_reasons(audience: str) -> str:
    actions = AUDIENCES[audience]
    lines = ["| Code | Texte de Vigie | Que faire |", "|---|---|---|"]
    for code in ReasonCode:  # the declaration order: decoding, validation, routing
        if code in actions:
            lines.append(f"| `{code.value}` | {code.message_fr} | {actions[code]} |")
    return "\n".join(lines) + "\n"


def render_block(kind: str, name: str) -> str:
    if kind == "fields":
        return render_fields(name)
    if kind == "example":
        return render_example(name)
    if kind == "reasons":
        return render_reasons(name)
    raise KeyError(f"unknown generated block kind {kind!r}")


def render(text: str) -> str:
    """``text`` with every generated block rendered afresh."""
    return BLOCK.sub(lambda m: m.group(1) + render_block(m["kind"], m["name"]) + m.group(5),
                     text)


def main(argv: list[str]) -> int:
    stale = []
    for guide in GUIDES:
        text = guide.read_text(encoding="utf-8")
        fresh = render(text)
        if fresh != text:
            stale.append(guide)
            if "--check" not in argv:
                guide.write_text(fresh, encoding="utf-8")
    for guide in stale:
        print(f"{guide.relative_to(ROOT)}: {'à régénérer' if '--check' in argv else 'régénéré'}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
