"""Who may receive what: subscriptions, grants, the authorisation decision and masking.

Pure logic, no I/O (items: :mod:`.item_plan`; profiles, side by side: :mod:`.profile_authorisation`): the
subscriber connectors (webhook, PostgreSQL mirror, public feed) use it to
shape every record before it leaves the bus.
"""
