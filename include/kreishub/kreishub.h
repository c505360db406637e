/*  kreishub.h - libkreishub: publish to, query and follow a kreishub hub from C.

    Two classes, and the keys they connect with. A kh_client_t is one DEALER
    connection to the broker's client endpoint: it publishes envelopes (waiting for
    the ACK, or pipelined), pings, and pages through history queries. A
    kh_subscriber_t follows the live endpoint with a filter, optionally catching up
    from the store first, and fills any gap it detects from the store, so that its
    caller sees every matching record once, in ascending seq (PROTOCOL.md section 6).
    A hub is secure (CURVE) unless it runs in plain mode for development: connect to
    it with kh_keys_t, made from the certificate `kreishub keygen` wrote.

    Functions return 0 on success or a code from kh_err.h: KH_ETIMEOUT when the hub
    did not answer in time, a protocol code (KH_EMISSING, KH_EUNAVAILABLE, ...) when
    the hub answered with an ERROR, KH_EIO when a socket failed, KH_EINVAL for a bad
    argument; each function below lists exactly which. Nothing here asserts on what
    arrives from the network: a reply that cannot be read is ignored.

    Timeouts are in milliseconds; -1 waits for ever, 0 does not wait.
    Envelopes are built (kh_builder_t) and records read (kh_record_t,
    kh_envelope_check) with what kh_wire.h declares; error codes are in kh_err.h.
*/
#ifndef KREISHUB_H_INCLUDED
#define KREISHUB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kh_err.h"
#include "kh_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------------------------- keys */
/* Who a client is to a secure hub (PROTOCOL.md section 11): its certificate, made by
   `kreishub keygen` (NAME.cert with NAME.cert_secret beside it, or the
   NAME.cert_secret itself), and the hub's public certificate (the broker's
   server.cert), which proves that the hub is the one it claims to be. The hub
   admits the certificate's public key if its clients directory holds it, and takes
   the holder's AGS and role from the certificate; the library does not check them. */
typedef struct _kh_keys_t kh_keys_t;

/* Loads our certificate (with its secret key) from cert_file and the hub's public
   key from server_cert_file. Returns the keys, or NULL with why (if not NULL) set:
   KH_EINVAL (a path is NULL or empty), KH_EIO (a file cannot be read), KH_EVALUE (a
   file is not a certificate, or ours holds no secret key); the reason names the
   file. */
KH_EXPORT kh_keys_t *kh_keys_load (const char *cert_file, const char *server_cert_file,
                                   kh_problem_t *why);

/* Forgets the keys (the secret key's bytes are wiped) and frees them; sets *self_p
   to NULL. Safe on NULL. Clients made with the keys keep working. */
KH_EXPORT void kh_keys_destroy (kh_keys_t **self_p);

/* What our certificate says: its AGS, name and role ("municipality": publishes its
   own items; "kreis": publishes as the Kreis; "admin": reads everything, publishes
   nothing; "" for what it does not say, or for no keys), and its public key (40
   characters of Z85). Valid as long as the keys. */
KH_EXPORT const char *kh_keys_ags (const kh_keys_t *self);
KH_EXPORT const char *kh_keys_name (const kh_keys_t *self);
KH_EXPORT const char *kh_keys_role (const kh_keys_t *self);
KH_EXPORT const char *kh_keys_public (const kh_keys_t *self);

/* ------------------------------------------------------------------ client */
typedef struct _kh_client_t kh_client_t;

/* What kh_client_recv_reply returns: the answer to one publish. */
typedef enum {
    KH_REPLY_ACK = 1,                   /* stored: id, seq, dup are set */
    KH_REPLY_ERROR = 2                  /* refused: error is set (error.id if has_id) */
} kh_reply_kind_t;

typedef struct {
    kh_reply_kind_t  kind;
    uint8_t          id [KH_ID_SIZE];   /* ACK: the message acknowledged */
    uint64_t         seq;               /* ACK: its place in the log */
    bool             dup;               /* ACK: stored before (seq is the original's) */
    kh_error_reply_t error;             /* ERROR: code, name, reason, id/req */
} kh_reply_t;

/* Creates a client connected (DEALER) to the broker's client endpoint. The
   connection is made in the background: a hub that is down shows as a timeout
   later, not here. Returns NULL if the endpoint is not valid or sockets cannot
   be created. */
KH_EXPORT kh_client_t *kh_client_new (const char *endpoint);

/* As kh_client_new, over CURVE with keys (read at once; the keys may be destroyed
   afterwards): the hub authenticates us by our certificate and we it by its public
   key. A hub that does not admit us does not answer (KH_ETIMEOUT later). Returns
   NULL as kh_client_new does, and for no keys. */
KH_EXPORT kh_client_t *kh_client_new_secure (const char *endpoint, const kh_keys_t *keys);

/* What a watched client or subscriber knows of its connection to the hub (a
   ZeroMQ socket monitor tells it), so that a program can say "no connection to the
   hub" apart from "connected, but no answer in time". */
typedef enum {
    KH_LINK_UNKNOWN = 0,                /* not watched (made by the other _new calls) */
    KH_LINK_NONE = 1,                   /* no connection so far: the hub is not reached */
    KH_LINK_UP = 2,                     /* connected, the handshake done */
    KH_LINK_LOST = 3,                   /* was connected; the connection ended (ZeroMQ
                                           tries again: KH_LINK_UP once it is back) */
    KH_LINK_REFUSED = 4                 /* reached, but the handshake failed: the hub
                                           does not admit our certificate, or it is
                                           not the hub whose public key we hold, or it
                                           speaks plain where we speak CURVE */
} kh_link_t;

/* As kh_client_new (keys NULL) or kh_client_new_secure, and watches the connection
   from the start: kh_client_link tells its state. The watching costs a thread,
   which reads the monitor's events as they come. Returns NULL as those do. */
KH_EXPORT kh_client_t *kh_client_new_watched (const char *endpoint, const kh_keys_t *keys);

/* The state of a watched client's connection now; KH_LINK_UNKNOWN for a client
   that is not watched, or no client. */
KH_EXPORT kh_link_t kh_client_link (kh_client_t *self);

/* Closes the connection (dropping anything unsent) and frees the client; sets
   *self_p to NULL. Safe on NULL. */
KH_EXPORT void kh_client_destroy (kh_client_t **self_p);

/* Publishes one envelope (size bytes, as built by kh_builder_encode) and waits up
   to timeout_ms for the ACK that names its id; replies for other ids are ignored.
   Without an answer it sends the same bytes again (same id, so never stored twice),
   up to retries more times. A transient refusal (KH_EUNAVAILABLE, KH_ESTORE) is
   retried the same way after a short pause. A reply ERROR that names no id and no
   query is taken as the answer, since the hub could not read the id of what it
   refuses - but only if this envelope's id is not readable either, so that a late
   error for something else is not taken as the answer.
   Returns 0 with *seq and *dup (either may be NULL) set; KH_ETIMEOUT if no ACK
   came and some attempt went unanswered (the outcome is unknown: the message may
   yet be stored; retry with the same envelope), also when interrupted by
   SIGINT/SIGTERM through czmq's handler or when the queue towards the broker
   stayed full for 5 s; the hub's error code with *err (if not NULL) filled: the
   hub rejected the envelope (*err is cleared first, so its code is 0 unless the
   hub answered ERROR); KH_ETOOLARGE (over KH_FRAME_MAX, nothing sent); KH_EIO if
   the socket failed; or KH_EINVAL (no client or envelope). */
KH_EXPORT int kh_client_publish (kh_client_t *self, const void *envelope, size_t size,
                                 int timeout_ms, int retries, uint64_t *seq, bool *dup,
                                 kh_error_reply_t *err);

/* Sends one PUBLISH and returns at once, for a publisher that keeps many in flight
   and matches the answers with kh_client_recv_reply. Returns 0, KH_EINVAL (no
   client or envelope), KH_ETOOLARGE (over KH_FRAME_MAX: the broker would cut the
   connection), KH_ETIMEOUT if the socket's queue stayed full for 5 s, or KH_EIO
   if the socket failed (a signal interrupting the send included). */
KH_EXPORT int kh_client_send (kh_client_t *self, const void *envelope, size_t size);

/* Waits up to timeout_ms for the next ACK or ERROR and fills *reply (an ERROR is a
   reply too: 0 with reply->kind KH_REPLY_ERROR). Other replies (PONG, ROWS,
   unreadable ones) are skipped. Returns 0; KH_ETIMEOUT if none came in time (also
   when interrupted by SIGINT/SIGTERM through czmq's handler); KH_EIO if the socket
   failed; or KH_EINVAL (no client or reply). */
KH_EXPORT int kh_client_recv_reply (kh_client_t *self, int timeout_ms, kh_reply_t *reply);

/* Asks the broker for its head (last published seq) and whether a recorder is
   connected. Either output may be NULL. Returns 0; KH_ETIMEOUT if no PONG came in
   time (also when interrupted, as above, or when the queue towards the broker
   stayed full for 5 s); the hub's code if it answered with an ERROR that names no
   id and no query (KH_EFORBIDDEN: it does not accept who we are; the reason is
   kh_client_last_error's); KH_EIO if the socket failed; or KH_EINVAL (no client). */
KH_EXPORT int kh_client_ping (kh_client_t *self, int timeout_ms, uint64_t *head,
                              bool *recorder_up);

/* Called once per record of a query, in ascending seq; rec is valid only during
   the call. A non-zero return stops the query (kh_client_query then returns 0). */
typedef int (kh_record_fn) (const kh_record_t *rec, void *arg);

/* Runs a history query, page after page until the store has no more matching
   records or max_rows (0: no limit) were delivered: a query without filters asks
   windows of seqs a few at once (PROTOCOL.md section 5), a filtered one one page at
   a time (since_seq = next). Either way the callback sees every record once, in
   ascending seq. query->req and
   query->limit are chosen here. Each page may take up to timeout_ms. Returns 0;
   KH_ETIMEOUT if a page did not come in time (also when interrupted, or when the
   queue towards the broker stayed full for 5 s); the hub's error code for an ERROR
   answering the query (KH_EQUERY if it carried none; see kh_client_last_error);
   KH_EMALFORMED if a page's next does not advance (not a kreishub hub); KH_ENOMEM
   if the query could not be encoded; KH_EIO if the socket failed; or KH_EINVAL (no
   client, query or callback). */
KH_EXPORT int kh_client_query (kh_client_t *self, const kh_query_t *query,
                               uint64_t max_rows, int timeout_ms, kh_record_fn *callback,
                               void *arg);

/* Called once per record of the audit, in ascending seq; rec is valid only during
   the call. A non-zero return stops kh_client_audit (which then returns 0). */
typedef int (kh_audit_fn) (const kh_audit_t *rec, void *arg);

/* Reads the hub's audit (PROTOCOL.md section 12): what it refused, messages and
   connections, in ascending seq, paging as kh_client_query does until no more
   matches query or max_rows (0: no limit) were delivered. query->req and
   query->limit are chosen here. Only an admin's certificate may read it (any
   client of a hub in plain mode). Returns 0; KH_EFORBIDDEN if the hub does not
   show us the audit (see kh_client_last_error); the hub's code for another ERROR
   answering it (KH_EQUERY: a code that names no error, an ags that is no AGS;
   KH_EUNAVAILABLE: no recorder); KH_ETIMEOUT, KH_EMALFORMED, KH_ENOMEM, KH_EIO or
   KH_EINVAL as kh_client_query. */
KH_EXPORT int kh_client_audit (kh_client_t *self, const kh_audit_query_t *query,
                               uint64_t max_rows, int timeout_ms, kh_audit_fn *callback,
                               void *arg);

/* Called once per item of a catalogue query, in the reply's order; item and its
   views are valid only during the call. A non-zero return stops kh_client_items
   (which then returns 0). */
typedef int (kh_item_fn) (const kh_item_t *item, void *arg);

/* Reads the catalogue (PROTOCOL.md section 14): the items that match query, by last
   activity, newest first, paging (before = next) until no more match or max_rows
   (0: no limit) were delivered. query->req, ->before and ->limit are chosen here.
   Returns 0; the hub's code for an ERROR answering it (KH_EQUERY: see
   kh_client_last_error; KH_EUNAVAILABLE: no recorder); KH_ETIMEOUT, KH_EMALFORMED,
   KH_ENOMEM, KH_EIO or KH_EINVAL as kh_client_query. */
KH_EXPORT int kh_client_items (kh_client_t *self, const kh_items_query_t *query,
                               uint64_t max_rows, int timeout_ms, kh_item_fn *callback,
                               void *arg);

/* Counts the log (PROTOCOL.md section 14) as query asks; query->req is chosen here.
   On success *stats_p holds the count (free it with kh_stats_destroy). Returns 0,
   or the codes of kh_client_items. */
KH_EXPORT int kh_client_stats (kh_client_t *self, const kh_stats_query_t *query,
                               int timeout_ms, kh_stats_t **stats_p);

/* Asks the broker what it counts (PROTOCOL.md section 14) and fills *counters.
   Returns 0; KH_ETIMEOUT, KH_EFORBIDDEN, KH_EMALFORMED, KH_EIO or KH_EINVAL as
   kh_client_ping. */
KH_EXPORT int kh_client_counters (kh_client_t *self, int timeout_ms,
                                  kh_counters_t *counters);

/* The last ERROR the hub sent this client in answer to a query (or audit query), a
   ping, or a publish made with kh_client_publish (all zero before the first).
   Valid until the next call; NULL for no client. */
KH_EXPORT const kh_error_reply_t *kh_client_last_error (kh_client_t *self);

/* -------------------------------------------------------------- subscriber */
typedef struct _kh_subscriber_t kh_subscriber_t;

/* Creates a subscriber on the broker's live endpoint (and a client on its client
   endpoint, for the store). type (a message type) and from (an AGS) filter what is
   followed; NULL or "" means any. since_seq 0 follows live records only, starting
   with the first record that arrives (or after the head of the first heartbeat,
   whichever comes first); since_seq S first delivers every matching record from
   seq S on out of the store, then continues live. Returns NULL if type is
   not a message type, from is not an AGS, an endpoint is missing or not valid, or
   memory or sockets cannot be had. */
KH_EXPORT kh_subscriber_t *kh_subscriber_new (const char *client_endpoint,
                                              const char *live_endpoint, const char *type,
                                              const char *from, uint64_t since_seq);

/* As kh_subscriber_new, with both connections over CURVE with keys (read at once).
   Returns NULL as kh_subscriber_new does, and for no keys. */
KH_EXPORT kh_subscriber_t *kh_subscriber_new_secure (const char *client_endpoint,
                                                     const char *live_endpoint,
                                                     const kh_keys_t *keys,
                                                     const char *type, const char *from,
                                                     uint64_t since_seq);

/* As kh_subscriber_new (keys NULL) or kh_subscriber_new_secure, and watches the
   connection to the live endpoint from the start (kh_subscriber_link). Returns NULL
   as those do. */
KH_EXPORT kh_subscriber_t *kh_subscriber_new_watched (const char *client_endpoint,
                                                      const char *live_endpoint,
                                                      const kh_keys_t *keys,
                                                      const char *type, const char *from,
                                                      uint64_t since_seq);

/* As kh_subscriber_new_watched (watching if watch; over CURVE if keys is not NULL),
   following what filter selects: its types (none: all), its senders (an AGS, or a
   region prefix such as "0516*"; none: all) and its item (has_ref: the item and
   every message about it). The broker filters by type and sender (PROTOCOL.md
   section 6), the subscriber tests the rest; a filter no previous-link covers (more
   than one type or sender, a prefix, an item) has the store asked for what lies
   between a wanted record and the last one delivered. Returns NULL as
   kh_subscriber_new does, and if filter has bounds, a search or more than
   KH_FILTER_MAX values in a list. */
KH_EXPORT kh_subscriber_t *kh_subscriber_new_filtered (const char *client_endpoint,
                                                       const char *live_endpoint,
                                                       const kh_keys_t *keys,
                                                       const kh_query_t *filter,
                                                       uint64_t since_seq, bool watch);

/* The state of a watched subscriber's connection to the live endpoint now (see
   kh_link_t); KH_LINK_UNKNOWN if it is not watched, or for no subscriber. */
KH_EXPORT kh_link_t kh_subscriber_link (kh_subscriber_t *self);

/* Closes both connections and frees the subscriber; sets *self_p to NULL. Safe on
   NULL. */
KH_EXPORT void kh_subscriber_destroy (kh_subscriber_t **self_p);

/* Waits up to timeout_ms for the next matching record and fills *out; its msg
   stays valid until the next call. Every record is delivered once, in ascending
   seq, without gaps: a gap seen in the previous-links or the heartbeat is filled
   from the store first. Returns 0; KH_ETIMEOUT if nothing arrived in time (also
   when interrupted by SIGINT/SIGTERM through czmq's handler); KH_EUNREACHABLE if
   a store query got no answer in its own timeout (or could not be sent for 5 s);
   the hub's code for a store query it refused (KH_EUNAVAILABLE, ...; KH_EQUERY if
   the ERROR carried none); KH_ENOMEM if a store query could not be encoded; KH_EIO
   if a socket failed; or KH_EINVAL (no subscriber or out). After a failure,
   calling again asks the store again. */
KH_EXPORT int kh_subscriber_next (kh_subscriber_t *self, int timeout_ms,
                                  kh_record_t *out);

/* How many gaps were detected and how many records were filled from the store
   into them (catching up with since_seq is not counted). Either may be NULL; no
   subscriber gives zeros. */
KH_EXPORT void kh_subscriber_stats (kh_subscriber_t *self, uint64_t *gaps,
                                   uint64_t *filled);

/* Sets how long each store query of the subscriber may take (default 5000 ms).
   Does nothing for no subscriber. */
KH_EXPORT void kh_subscriber_set_query_timeout (kh_subscriber_t *self, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
