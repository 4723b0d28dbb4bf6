"""Closed vocabularies shared by every message.

The values mirror the Avro enums in ``schemas/avro/``; each Avro enum has a ``default`` symbol
(``OTHER`` / ``UNKNOWN``) so that adding a symbol later stays FULL_TRANSITIVE compatible.
"""

from enum import StrEnum


class EventStatus(StrEnum):
    """CAP 1.2 ``status``. ACTUAL reaches units; EXERCISE only the units taking part in an
    exercise; TEST none (the partner's sandbox): ``vigie.routing.cap``, docs/routing.md."""

    ACTUAL = "ACTUAL"
    EXERCISE = "EXERCISE"
    TEST = "TEST"


class MessageType(StrEnum):
    """CAP 1.2 ``msgType`` restricted to what a partner may send."""

    NEW = "NEW"
    UPDATE = "UPDATE"
    CANCEL = "CANCEL"


class Category(StrEnum):
    """Taxonomy of what a landlord reports around its buildings."""

    STAFF_AGGRESSION = "STAFF_AGGRESSION"  # agression d'un personnel de proximité
    STAFF_THREAT = "STAFF_THREAT"  # menace ou intimidation d'un personnel
    DAMAGE = "DAMAGE"  # dégradation de parties communes, équipements
    GRAFFITI = "GRAFFITI"  # tags, inscriptions
    FIRE = "FIRE"  # incendie (poubelles, caves, véhicules)
    INTRUSION = "INTRUSION"  # intrusion dans locaux techniques, caves, toitures
    SQUAT = "SQUAT"  # occupation illicite d'un logement
    COMMON_AREA_OCCUPATION = "COMMON_AREA_OCCUPATION"  # occupation de halls, cages d'escalier
    DRUG_DEALING = "DRUG_DEALING"  # point de deal, trafic
    THEFT = "THEFT"  # vol, cambriolage de locaux
    NOISE = "NOISE"  # nuisances sonores, tapage
    ABANDONED_VEHICLE = "ABANDONED_VEHICLE"  # véhicule ventouse ou épave
    RODEO = "RODEO"  # rodéo motorisé
    WEAPON = "WEAPON"  # arme aperçue, tirs
    OTHER = "OTHER"


#: Categories that always travel the urgent-alert lane, whatever the sender chose.
URGENT_CATEGORIES: frozenset[Category] = frozenset(
    {Category.STAFF_AGGRESSION, Category.STAFF_THREAT, Category.WEAPON}
)


class ReporterRole(StrEnum):
    """Who at the landlord reported the event (PartnerEvent v2). Unknown roles read as OTHER."""

    CARETAKER = "CARETAKER"  # gardien d'immeuble
    LOCAL_AGENT = "LOCAL_AGENT"  # agent de proximité, médiateur
    MANAGER = "MANAGER"  # responsable de secteur, gestionnaire
    SECURITY_GUARD = "SECURITY_GUARD"  # agent de sécurité, surveillance
    CALL_CENTRE = "CALL_CENTRE"  # centre d'appels, astreinte
    TENANT = "TENANT"  # locataire (signalement relayé)
    OTHER = "OTHER"


class Urgency(StrEnum):
    IMMEDIATE = "IMMEDIATE"
    EXPECTED = "EXPECTED"
    FUTURE = "FUTURE"
    PAST = "PAST"
    UNKNOWN = "UNKNOWN"


class Severity(StrEnum):
    EXTREME = "EXTREME"
    SEVERE = "SEVERE"
    MODERATE = "MODERATE"
    MINOR = "MINOR"
    UNKNOWN = "UNKNOWN"


class Certainty(StrEnum):
    OBSERVED = "OBSERVED"
    LIKELY = "LIKELY"
    POSSIBLE = "POSSIBLE"
    UNLIKELY = "UNLIKELY"
    UNKNOWN = "UNKNOWN"


class Force(StrEnum):
    """PN: police nationale; GN: gendarmerie nationale."""

    PN = "PN"
    GN = "GN"


class UnitKind(StrEnum):
    CIRCONSCRIPTION = "CIRCONSCRIPTION"  # police: circonscription de sécurité publique
    COMPAGNIE = "COMPAGNIE"  # gendarmerie: compagnie de départementale
    BRIGADE = "BRIGADE"  # gendarmerie: brigade territoriale (autonome ou de proximité)
    COMMAND_CENTRE = "COMMAND_CENTRE"  # CIC (police) or CORG (gendarmerie)


class Lane(StrEnum):
    """Urgent alerts travel their own topics and agents so no incident backlog delays them."""

    ALERT = "ALERT"
    INCIDENT = "INCIDENT"


class LocateMethod(StrEnum):
    """How the event was placed, in the order the locator tries them."""

    SITE = "SITE"
    COORDINATES = "COORDINATES"
    INSEE = "INSEE"
    POSTCODE = "POSTCODE"
    DEFAULT = "DEFAULT"  # unplaced: the departmental command centres triage it by hand


class RoutingRule(StrEnum):
    """Why an event went to another unit than the competent one (docs/routing.md, rule chain).

    Checked in this order for each unit of the chain, each only on the lanes its rule names:
    a declared unavailability first (an explicit human statement beats a schedule), then the
    weekly service hours (public holidays have hours of their own), then the overflow limit.
    """

    UNIT_UNAVAILABLE = "UNIT_UNAVAILABLE"  # declared unavailable until a time
    OUTSIDE_HOURS = "OUTSIDE_HOURS"  # outside the weekly service hours
    PUBLIC_HOLIDAY = "PUBLIC_HOLIDAY"  # a public holiday, outside the holiday hours
    OVERFLOW = "OVERFLOW"  # too many urgent alerts not yet taken in charge


#: Days of a service window: the weekdays, and ``HOLIDAY`` for public holidays (on a holiday
#: only the windows naming ``HOLIDAY`` apply). Plain strings on the wire, checked by the model.
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
HOLIDAY = "HOLIDAY"


class DecisionStatus(StrEnum):
    ROUTED = "ROUTED"
    MANUAL_TRIAGE = "MANUAL_TRIAGE"


class AckStatus(StrEnum):
    """What a partner learns about its event; see docs/acknowledgements.md for sequences."""

    ROUTED = "ROUTED"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"
    EXPIRED = "EXPIRED"
    ESCALATED = "ESCALATED"
    TAKEN_IN_CHARGE = "TAKEN_IN_CHARGE"
    PATROL_DISPATCHED = "PATROL_DISPATCHED"
    CLOSED = "CLOSED"
    TRANSFER_REQUESTED = "TRANSFER_REQUESTED"
    TRANSFERRED = "TRANSFERRED"


class ForceStatus(StrEnum):
    """What a unit may say about an event routed to it."""

    TAKEN_IN_CHARGE = "TAKEN_IN_CHARGE"
    PATROL_DISPATCHED = "PATROL_DISPATCHED"
    CLOSED = "CLOSED"
    TRANSFER_REQUESTED = "TRANSFER_REQUESTED"


class NoticeKind(StrEnum):
    """A hotspot episode's two notices (PreventionNotice)."""

    OPEN = "OPEN"
    CLOSE = "CLOSE"
    UNKNOWN = "UNKNOWN"


class HotspotTrigger(StrEnum):
    """What opened a hotspot episode: a rise above the residence's own history, or repeats."""

    RISE = "RISE"
    REPEAT = "REPEAT"
    UNKNOWN = "UNKNOWN"
