"""Place an event in a commune of Oise, and say how.

The order (first that succeeds wins):

1. ``site_id``: the partner's own registered site gives its commune. An unknown site, or a
   site registered by another landlord, is not used: the locator notes why and goes on.
2. coordinates: point-in-polygon over the 680 communes.
3. address INSEE code (an old code of a merged commune maps to its commune nouvelle).
4. postcode + commune name, only where the pair designates exactly one commune.
5. otherwise unplaced: ``OUT_OF_AREA`` when the data point outside Oise, else ``UNLOCATED``.

Discrepancies (recorded, never fatal):
- the event's coordinates fall in another commune than the site's: the site wins (a
  registered building is better data than a phone's GPS fix);
- coordinates inside Oise contradict the declared INSEE code (or postcode + name): the
  coordinates win;
- coordinates outside Oise with an address in Oise: the address wins (a bad fix near the
  département border must not send an urgent alert to manual triage). Coordinates outside
  Oise with no usable address give ``OUT_OF_AREA``.

Why pure: the same event and the same reference snapshot always give the same placement.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from vigie.contracts.enums import LocateMethod
from vigie.contracts.models import PartnerEvent, SiteRecord
from vigie.contracts.reasons import ReasonCode
from vigie.reference.communes import Commune
from vigie.reference.snapshot import ReferenceSnapshot

OUT_OF_AREA = str(ReasonCode.OUT_OF_AREA)
UNKNOWN_SITE = str(ReasonCode.UNKNOWN_SITE)
SITE_OF_OTHER_PARTNER = str(ReasonCode.SITE_OF_OTHER_PARTNER)
UNLOCATED = str(ReasonCode.UNLOCATED)
INSEE_DEPARTEMENT_PREFIX = "60"


class Placement(NamedTuple):
    """Where the event is and how we know. ``commune`` is None when unplaced.

    A NamedTuple rather than a frozen dataclass: as immutable, and several times cheaper to
    build on the router's hot path.
    """

    method: LocateMethod
    commune: Commune | None = None
    site: SiteRecord | None = None
    #: Why the event is unplaced (``OUT_OF_AREA``, ``UNLOCATED``); None when placed.
    reason_code: str | None = None
    #: Site problems met on the way (``UNKNOWN_SITE``, ``SITE_OF_OTHER_PARTNER``).
    notes: tuple[str, ...] = ()
    discrepancy: str | None = None

    @property
    def placed(self) -> bool:
        return self.commune is not None


def _valid(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def locate(event: PartnerEvent, ref: ReferenceSnapshot) -> Placement:
    """Apply the locating order above to one event."""
    communes = ref.communes
    notes: tuple[str, ...] = ()
    site_outside = False
    location = event.location
    coordinates = location.coordinates if location is not None else None
    address = location.address if location is not None else None

    # 1. the partner's registered site
    if event.site_id is not None:
        site = ref.sites.get(event.site_id)
        if site is None:
            notes = (UNKNOWN_SITE,)
        elif site.partner_id != event.partner_id:
            notes = (SITE_OF_OTHER_PARTNER,)
        else:
            commune = communes.by_insee(site.insee_code)
            if commune is None:
                commune = communes.locate(site.lat, site.lon)
            if commune is not None:
                discrepancy = None
                if coordinates is not None:
                    at = communes.locate(coordinates.lat, coordinates.lon)
                    if at is not None and at.insee != commune.insee:
                        discrepancy = (
                            f"coordinates in {at.insee}, site in {commune.insee}: site used"
                        )
                return Placement(LocateMethod.SITE, commune, site, None, notes, discrepancy)
            site_outside = True  # a registered site outside Oise: fall through

    # 2. coordinates
    outside = False
    coordinate_commune: Commune | None = None
    if coordinates is not None and _valid(coordinates.lat, coordinates.lon):
        coordinate_commune = communes.locate(coordinates.lat, coordinates.lon)
        outside = coordinate_commune is None

    # 3./4. the declared address
    declared: Commune | None = None
    declared_method = LocateMethod.INSEE
    declared_outside = False
    if address is not None:
        if address.insee_code:
            code = address.insee_code.strip().upper()
            declared = communes.by_insee(code)
            declared_outside = declared is None and not code.startswith(INSEE_DEPARTEMENT_PREFIX)
        if declared is None and address.postcode and address.commune_name:
            declared = communes.by_postcode_and_name(address.postcode, address.commune_name)
            declared_method = LocateMethod.POSTCODE
            if declared is None and not address.postcode.strip().startswith(
                INSEE_DEPARTEMENT_PREFIX
            ):
                declared_outside = True

    if coordinate_commune is not None:
        discrepancy = None
        if declared is not None and declared.insee != coordinate_commune.insee:
            discrepancy = (
                f"coordinates in {coordinate_commune.insee}, address "
                f"{declared_method.value} {declared.insee}: coordinates used"
            )
        elif declared is None and declared_outside:
            discrepancy = "address outside Oise, coordinates inside: coordinates used"
        return Placement(
            LocateMethod.COORDINATES, coordinate_commune, None, None, notes, discrepancy
        )
    if declared is not None:
        discrepancy = (
            f"coordinates outside Oise, address {declared_method.value} {declared.insee} used"
            if outside
            else None
        )
        return Placement(declared_method, declared, None, None, notes, discrepancy)
    reason = OUT_OF_AREA if (outside or declared_outside or site_outside) else UNLOCATED
    return Placement(LocateMethod.DEFAULT, None, None, reason, notes, None)
