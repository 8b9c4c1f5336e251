"""The run's subscribers, their subscriptions and the grants the providing departments approve.

=================  ===============  =====================================================================
subscriber         delivery         what, under which grant
=================  ===============  =====================================================================
``scn-centre``     signed webhook   tax payment certificates (conditional: taxation's grant, the taxpayer's
                                    name unmasked, the identity number masked) and enterprise registrations
                                    of Zhejiang (a filter; the legal representative masked)
``scn-archive``    PostgreSQL       social organisations and public institutions (unconditional; the legal
                   mirror           representative masked)
``scn-bank``       Kafka topic      degree certificates and real-estate registrations (conditional: education's
                                    and natural resources' grants; names, addresses, identity numbers masked)
``public-feed``    disclosure feed  every item open to the public, no personal field
``scn-hotel``      Kafka topic      identity verifications (public security's grant), **revoked mid-run**
=================  ===============  =====================================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from govbus.sharing.model import Grant, Subscription

WEBHOOK_SECRET_ENV = "GOVBUS_SCENARIO_WEBHOOK_SECRET"
MIRROR_DSN_ENV = "GOVBUS_SCENARIO_MIRROR_DSN"
REVOKED_GRANT = "scn-identity-1"


@dataclass(frozen=True)
class Party:
    subscriber: str
    subscription: str
    kind: str  # webhook, postgres, kafka, feed

    @property
    def name(self) -> str:
        return self.subscriber


CENTRE = Party("scn-centre", "scn-centre-hooks", "webhook")
ARCHIVE = Party("scn-archive", "scn-archive-mirror", "postgres")
BANK = Party("scn-bank", "scn-bank-stream", "kafka")
HOTEL = Party("scn-hotel", "scn-hotel-checks", "kafka")
FEED = Party("public-feed", "public-feed", "feed")
PARTIES = (CENTRE, ARCHIVE, BANK, HOTEL, FEED)
DECLARED = (CENTRE, ARCHIVE, BANK, HOTEL)
"""the parties with a subscription of their own (the feed serves the open items without one)"""


def grants(expires_in: dt.timedelta = dt.timedelta(days=30)) -> list[Grant]:
    expires = dt.datetime.now(dt.UTC) + expires_in
    return [
        Grant(grant_id="scn-tax-1", subscriber=CENTRE.subscriber, item="tax_payment_certificate",
              approved_by="taxation", purpose="housing purchase qualification checks",
              fields=["certificate_number", "taxpayer_kind", "taxpayer_name", "taxpayer_resident_id", "tax_type",
                      "amount_cents", "paid_at"], unmasked=["taxpayer_name"], expires_at=expires),
        Grant(grant_id="scn-degree-1", subscriber=BANK.subscriber, item="degree_certification",
              approved_by="education", purpose="student loan eligibility checks",
              fields=["certificate_number", "holder_name", "holder_resident_id", "institution_name", "major",
                      "level", "status"], expires_at=expires),
        Grant(grant_id="scn-estate-1", subscriber=BANK.subscriber, item="real_estate_registration",
              approved_by="natural-resources", purpose="mortgage collateral checks",
              fields=["certificate_number", "division_code", "location", "owner_name", "owner_resident_id",
                      "right_type", "status"], expires_at=expires),
        identity_grant(expires),
    ]


def identity_grant(expires: dt.datetime, revoked: bool = False) -> Grant:
    return Grant(grant_id=REVOKED_GRANT, subscriber=HOTEL.subscriber, item="identity_verification",
                 approved_by="public-security", purpose="guest identity checks at registration",
                 fields=["resident_id", "name", "card_status", "valid_until"], expires_at=expires, revoked=revoked)


def subscriptions(receiver_url: str) -> list[Subscription]:
    return [Subscription.model_validate(declared) for declared in (
        {"name": CENTRE.subscription, "subscriber": CENTRE.subscriber,
         "items": [{"item": "tax_payment_certificate",
                    "fields": ["certificate_number", "taxpayer_kind", "taxpayer_name", "taxpayer_resident_id",
                               "tax_type", "amount_cents", "paid_at"]},
                   {"item": "enterprise_registration",
                    "fields": ["uscc", "name", "legal_representative", "status", "division_code"],
                    "filter": {"division_prefix": "33"}}],
         "delivery": {"kind": "webhook", "url": receiver_url, "secret_env": WEBHOOK_SECRET_ENV}},
        {"name": ARCHIVE.subscription, "subscriber": ARCHIVE.subscriber,
         "items": [{"item": "social_organisation_registration",
                    "fields": ["uscc", "name", "organisation_type", "legal_representative", "status",
                               "division_code"]},
                   {"item": "public_institution_registration",
                    "fields": ["uscc", "name", "legal_representative", "status", "division_code"]}],
         "delivery": {"kind": "postgres", "dsn_env": MIRROR_DSN_ENV, "table_prefix": "scn_"}},
        {"name": BANK.subscription, "subscriber": BANK.subscriber,
         "items": [{"item": "degree_certification",
                    "fields": ["certificate_number", "holder_name", "holder_resident_id", "institution_name",
                               "major", "level", "status"]},
                   {"item": "real_estate_registration",
                    "fields": ["certificate_number", "division_code", "location", "owner_name",
                               "owner_resident_id", "right_type", "status"]}],
         "delivery": {"kind": "kafka"}},
        {"name": HOTEL.subscription, "subscriber": HOTEL.subscriber,
         "items": [{"item": "identity_verification", "fields": ["resident_id", "name", "card_status", "valid_until"]}],
         "delivery": {"kind": "kafka"}},
    )]
