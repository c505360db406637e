-- kreishub.sql - the store of the kreishub recorder (SQLite). Version 2.
--
-- The one declaration of the store: the recorder embeds this file at build time.
-- It is written as the history of the store's versions: each section, from a line
-- "-- version N" to the next such line, takes a database of version N - 1 to
-- version N, and ends by setting `PRAGMA user_version` to N. An empty database runs
-- every section in turn, an older one the sections after its version, each in a
-- transaction of its own; so a section, once released, never changes.
-- Pragmas for the connection (journal_mode=WAL, synchronous=FULL) are set by the
-- recorder at open, not here, because they belong to the connection's durability choice.

-- version 1: the log of messages.
CREATE TABLE IF NOT EXISTS message (
    seq          INTEGER PRIMARY KEY,        -- gap-free from 1, assigned by the recorder
    id           BLOB    NOT NULL UNIQUE     -- the publisher's 16-byte message id (UUIDv7)
                 CHECK (length(id) = 16),
    type         TEXT    NOT NULL,           -- "idea", "offer", ...
    sender       TEXT    NOT NULL,           -- AGS of the publisher (5 or 8 digits)
    ts           INTEGER NOT NULL,           -- publisher's timestamp, ms since epoch
    at           INTEGER NOT NULL,           -- recorder's clock at commit, ms since epoch
    prev_type    INTEGER NOT NULL,           -- seq of the previous message of this type, 0 if none
    prev_sender  INTEGER NOT NULL,           -- ... from this sender
    prev_pair    INTEGER NOT NULL,           -- ... of this type from this sender
    title        TEXT    NOT NULL,           -- copy of body.title, for the admin's view
    envelope     BLOB    NOT NULL            -- the msgpack envelope, byte for byte as published
);

CREATE INDEX IF NOT EXISTS message_by_type   ON message (type, seq);
CREATE INDEX IF NOT EXISTS message_by_sender ON message (sender, seq);
CREATE INDEX IF NOT EXISTS message_by_at     ON message (at);

PRAGMA user_version = 1;

-- version 2: the audit of what the broker refused (PROTOCOL.md section 12). Every
-- text is bounded by the broker (kreishub/kh_wire.h, kh_audit_t) and "" if unknown.
CREATE TABLE IF NOT EXISTS audit (
    seq          INTEGER PRIMARY KEY,        -- gap-free from 1, the audit's own
    at           INTEGER NOT NULL,           -- broker's clock at the refusal, ms since epoch
    endpoint     TEXT    NOT NULL,           -- client, live, recorder (broker: a note)
    command      TEXT    NOT NULL,           -- PUBLISH, QUERY, PING, AUDIT, ...; CONNECT
    code         INTEGER NOT NULL,           -- the error code (PROTOCOL.md section 7)
    size         INTEGER NOT NULL,           -- bytes of the refused message, 0: a connection
    peer         TEXT    NOT NULL,           -- the peer's address
    claimed      TEXT    NOT NULL,           -- the from the envelope claimed
    ags          TEXT    NOT NULL,           -- the certificate's ags, role and public key
    role         TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    reason       TEXT    NOT NULL            -- why, in a short sentence
);

CREATE INDEX IF NOT EXISTS audit_by_at ON audit (at);

PRAGMA user_version = 2;
