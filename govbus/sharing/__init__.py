"""Who may receive what: subscriptions, grants, the authorisation decision and masking.

Pure logic, no I/O: the subscriber connectors (webhook, PostgreSQL mirror, public feed) use it to
shape every record before it leaves the bus.
"""
