-- govbus outbox, version 1: the outbox a department's application writes to in the same
-- transaction as its business change, the connector's position and its record of rejected rows.
-- Safe to apply more than once (every statement is IF NOT EXISTS / OR REPLACE).
-- Needs PostgreSQL >= 13 (xid8, pg_current_xact_id, pg_current_snapshot, gen_random_uuid).

CREATE TABLE IF NOT EXISTS govbus_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the writing transaction's 64-bit id; set by the trigger below, whatever the insert says
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id    uuid NOT NULL DEFAULT gen_random_uuid(),
    data_item   text NOT NULL,
    operation   text NOT NULL DEFAULT 'UPSERT',
    -- the record's key fields joined with '|': required for DELETE; for UPSERT the connector derives
    -- it from the record (and rejects the row if a given key disagrees)
    record_key  text,
    record      jsonb,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    trace_id    text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT govbus_outbox_event_id_unique UNIQUE (event_id),
    CONSTRAINT govbus_outbox_operation_check CHECK (operation IN ('UPSERT', 'DELETE')),
    CONSTRAINT govbus_outbox_record_check CHECK (
        (operation = 'UPSERT' AND record IS NOT NULL AND jsonb_typeof(record) = 'object')
        OR (operation = 'DELETE' AND record IS NULL AND record_key IS NOT NULL))
);

COMMENT ON TABLE govbus_outbox IS
    'Changes to publish on govbus: insert one row per change in the same transaction as the change itself.';
COMMENT ON COLUMN govbus_outbox.txid IS
    'Id of the inserting transaction (pg_current_xact_id()); the connector reads in (txid, id) order.';

-- the reader's access path: rows after a position, in (txid, id) order
CREATE INDEX IF NOT EXISTS govbus_outbox_txid_id ON govbus_outbox (txid, id);

-- txid must be the inserting transaction's id, or the reader could skip the row: never trust the insert
CREATE OR REPLACE FUNCTION govbus_outbox_set_txid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.txid := pg_current_xact_id();
    RETURN NEW;
END;
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'govbus_outbox_set_txid'
                   AND tgrelid = 'govbus_outbox'::regclass) THEN
        CREATE TRIGGER govbus_outbox_set_txid BEFORE INSERT ON govbus_outbox
            FOR EACH ROW EXECUTE FUNCTION govbus_outbox_set_txid();
    END IF;
END;
$$;

-- where each connector (by name) has got to: the last (txid, id) whose row was acknowledged or rejected
CREATE TABLE IF NOT EXISTS govbus_outbox_position (
    connector  text PRIMARY KEY,
    last_txid  xid8 NOT NULL,
    last_id    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- rows the connector did not publish because they break their item's rules (the position moved past them)
CREATE TABLE IF NOT EXISTS govbus_outbox_rejected (
    connector   text NOT NULL,
    outbox_id   bigint NOT NULL,
    txid        xid8 NOT NULL,
    event_id    uuid NOT NULL,
    data_item   text NOT NULL,
    field       text NOT NULL,
    rule        text NOT NULL,
    reason      text NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, outbox_id)
);
