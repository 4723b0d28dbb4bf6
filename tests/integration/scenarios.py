"""Where the integration tests place their events.

Test partners have ids of their own (see conftest), so their events are placed by commune
(``tests.factories.partner_event(partner, insee, fresh=True)``) rather than by the shared
sample sites.
"""

from __future__ import annotations

#: Communes with a known competent force (reference/data): Creil (60175) is police, Méru
#: (60395) gendarmerie.
COMMUNES = ["60175", "60414", "60463", "60684", "60057", "60159", "60395", "60139", "60471",
            "60612", "60141", "60176", "60509", "60157"]
