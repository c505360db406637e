-- kreishub.sql - the store of the kreishub recorder (SQLite). Version 3.
--
-- The one declaration of the store: the recorder embeds this file at build time.
-- It is written as the history of the store's versions: each section, from a line
-- "-- version N" to the next such line, takes a database of version N - 1 to
-- version N, and ends by setting `PRAGMA user_version` to N. An empty database runs
-- every section in turn, an older one the sections after its version, all in one
-- transaction; so a section, once released, never changes.
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

-- version 3: the current state of the items (PROTOCOL.md sections 9 and 13), derived
-- from the log. The log stays the source of truth: the recorder writes the state in
-- the transaction that stores each message (the search index follows a little later,
-- see `derived`), and `kreishub-recorder --rebuild-state` derives it again from the
-- log alone. Item keys are the seq of the item's first message (message.item).

-- The item a message is about (its ref): the seq of the item's first message, so
-- that the messages about one item are one range of message_by_item (with the item
-- itself: seq = X OR item = X). NULL for an item, which is its own item, and for a
-- message the state cannot read (stored before the schema changed). The index
-- holds only the messages about an item, so that storing an item costs no entry.
ALTER TABLE message ADD COLUMN item INTEGER;
CREATE INDEX IF NOT EXISTS message_by_item ON message (item, seq) WHERE item IS NOT NULL;
-- The publication time (the envelope's ts), on which queries filter by default. The
-- commit time needs no index: at never decreases as seq grows, so a range of at is
-- found as a range of seq by a binary search over the primary key.
CREATE INDEX IF NOT EXISTS message_by_ts ON message (ts);
DROP INDEX IF EXISTS message_by_at;

-- One row per item, as its messages left it. The field columns hold the item's fields
-- now, after its revisions (NULL where the field is not set); body holds all of them.
CREATE TABLE IF NOT EXISTS item (
    seq          INTEGER PRIMARY KEY,        -- its first message's seq
    type         TEXT    NOT NULL,           -- idea, offer, request, announcement
    owner        TEXT    NOT NULL,           -- AGS, the from of its first message
    ts           INTEGER NOT NULL,           -- its first message's publication time, ms
    title        TEXT    NOT NULL,           -- fields now: title
    hf           INTEGER,                    --   Handlungsfeld 1-5
    topic        TEXT,                       --   topic
    maturity     TEXT,                       --   maturity
    valid_until  TEXT,                       --   YYYY-MM-DD: expired from the day after
    body         BLOB,                       -- every field now as a msgpack map (the
                                             --   first message's body with each revise's
                                             --   fields in place); NULL until a revise:
                                             --   then the first message's body is it
    revised      INTEGER NOT NULL,           -- seq of its latest revise, 0 if none
    status       TEXT    NOT NULL,           -- lifecycle stage: proposed .. done, withdrawn
    status_seq   INTEGER NOT NULL,           -- seq of the message that set it (its own
    status_ts    INTEGER NOT NULL,           --   for proposed), and its publication time
    n_interested INTEGER NOT NULL,           -- bodies whose latest interest in it says
    n_joined     INTEGER NOT NULL,           --   interested, join, decline, leave: the
    n_declined   INTEGER NOT NULL,           --   rows of participant in each state
    n_left       INTEGER NOT NULL,
    messages     INTEGER NOT NULL,           -- messages about it, its first one included
    last_seq     INTEGER NOT NULL,           -- its latest message (last activity): seq
    last_ts      INTEGER NOT NULL            --   and publication time
);

-- Who answered an item with an interest: one row per item and body, as its latest
-- interest left it.
CREATE TABLE IF NOT EXISTS participant (
    item         INTEGER NOT NULL,           -- item.seq
    ags          TEXT    NOT NULL,           -- the body: from of its interests
    state        TEXT    NOT NULL,           -- interested, joined, declined or left
    since        INTEGER NOT NULL,           -- publication time of that interest, ms
    seq          INTEGER NOT NULL,           -- its seq
    PRIMARY KEY (item, ags)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS participant_by_ags ON participant (ags, item);

-- The bodies an item's fields name now: its lead and its participants.
CREATE TABLE IF NOT EXISTS named (
    item         INTEGER NOT NULL,           -- item.seq
    field        TEXT    NOT NULL,           -- lead or participants
    ags          TEXT    NOT NULL,
    PRIMARY KEY (item, field, ags)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS named_by_ags ON named (ags, item);

-- Full text: one document per message that has texts, its rowid the message's seq:
-- an item's title, description and keywords; a revise's new title, description and
-- keywords; the text of a comment, and the note of an interest, status or revise.
-- Contentless: the texts stay in the envelopes.
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (
    title, description, keywords, text,
    content = '', tokenize = 'unicode61 remove_diacritics 2'
);

-- How far the derived tables follow the log. pending = 1: the state must be derived
-- from the whole log before the store takes a message (a migration that changes the
-- state sets it; the derivation clears it in its transaction). search_seq: every
-- message up to this seq is in search.
CREATE TABLE IF NOT EXISTS derived (
    pending      INTEGER NOT NULL,
    search_seq   INTEGER NOT NULL
);

INSERT INTO derived (pending, search_seq)
    VALUES ((SELECT EXISTS (SELECT 1 FROM message)), 0);

PRAGMA user_version = 3;
