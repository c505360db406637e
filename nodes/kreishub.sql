-- kreishub.sql - the store of the kreishub recorder (SQLite). Version 1.
--
-- The one declaration of the store: the recorder embeds this file at build time and
-- runs it on an empty database; `PRAGMA user_version` says which version a database
-- has, so that a later recorder can migrate an existing one step by step.
-- Pragmas for the connection (journal_mode=WAL, synchronous=FULL) are set by the
-- recorder at open, not here, because they belong to the connection's durability choice.

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
