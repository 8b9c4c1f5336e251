"""Profiles: canonical items joined around one identifier, on state stores joined through a repartition topic.

Two profiles, each written to a compacted topic ``<prefix>.profile.<name>`` with its own schema
(``schemas/catalogue/profiles/``), keyed by its identifier:

**enterprise** (unified social credit code):

===================================  =================  ======================================
side                                 from item          through field (null: not in a profile)
===================================  =================  ======================================
registration (anchor)                enterprise_registration        ``uscc`` (its key)
latest tax payment certificate       tax_payment_certificate        ``taxpayer_uscc``: null for an
  + how many                                                        individual taxpayer
credit records                       credit_record                  ``subject_uscc``: null for a
                                                                    natural person
procurement awards                   government_procurement_award   ``supplier_uscc``
===================================  =================  ======================================

**person** (resident identity number):

===================================  =================  ======================================
identity (anchor)                    identity_verification          ``resident_id`` (its key)
degrees and diplomas                 degree_certification           ``holder_resident_id``
real-estate titles                   real_estate_registration       ``owner_resident_id``: null for
                                                                    an organisation holder
===================================  =================  ======================================

So an individual's tax certificate, a natural person's credit record and an organisation's
title are in no profile: their record lacks the identifier of the profile that has such a side
(the person profile has no tax or credit side, the enterprise profile no title side; adding one
is a line in the profile's metadata and a field in its schema).

Rules: any change of a side re-emits the profile (if its anchor record exists); a DELETE removes
that record; a record whose identifier field changes leaves the old profile and joins the new
one; a deleted anchor record tombstones the profile (null value; the other sides are kept, and
come back with a new anchor record). Output events carry an id derived from the input event id
and content that is a pure function of the table state, so a re-emit after a restart is
identical. See :mod:`streams.profiles.app` for the topology and restart safety,
:mod:`streams.profiles.topology` for the topics, :mod:`streams.profiles.state` for the state.

Run with ``python -m streams.profiles`` or ``govbus streams profiles``.
"""
