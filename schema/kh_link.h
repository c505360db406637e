/*  kh_link.h - the frames between broker and recorder (PROTOCOL.md section 8).

    Internal to the hub: no client ever sees them. The recorder connects a DEALER to
    the broker's recorder ROUTER and says HELLO; the broker hands it STOREs, each
    with a token the answer echoes; the recorder answers STORED or FAILED in the
    order the STOREs came, and says BYE when it stops cleanly. Queries pass through
    as [QUERY|ITEMS|STATS][client][query] (the log, the catalogue, the counts) and
    come back as [ROWS|ERROR][client][body]. The broker also hands over what it
    refused as [AUDIT][record], which nothing answers, and an admin's audit queries
    as [AUDIT_QUERY][client][query], answered [AUDIT_ROWS|AUDIT_ERROR][client][body]
    (PROTOCOL.md section 12).

    The encoders and decoders (in kh_link.c) keep kh_codec.h's rules: an encoder
    appends a whole frame or, if memory runs out, returns -1 and leaves out as it
    was; a decoder returns -1 with why set on any bytes it cannot take.
*/
#ifndef KH_LINK_H_INCLUDED
#define KH_LINK_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "kh_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KH_REC_HELLO    "HELLO"     /* recorder -> broker, on connect and every second */
#define KH_REC_STORE    "STORE"     /* broker -> recorder: [STORE][token][envelope] */
#define KH_REC_STORED   "STORED"    /* recorder -> broker: [STORED][token][stored] */
#define KH_REC_FAILED   "FAILED"    /* recorder -> broker: [FAILED][token][error] */
#define KH_REC_BYE      "BYE"       /* recorder -> broker: [BYE], stopping cleanly */
#define KH_REC_AUDIT    "AUDIT"     /* broker -> recorder: [AUDIT][record], unanswered */
#define KH_REC_AUDIT_QUERY "AUDIT_QUERY"    /* broker -> recorder: [..][client][query] */
#define KH_REC_AUDIT_ROWS  "AUDIT_ROWS"     /* recorder -> broker: [..][client][rows] */
#define KH_REC_AUDIT_ERROR "AUDIT_ERROR"    /* recorder -> broker: [..][client][error] */

/* The recorder's answer to STORE: where the message stands, and whether the id
   was stored before (dup: then info is the original's). */
int kh_stored_encode (msgpack_sbuffer *out, const kh_seqinfo_t *info, bool dup);
int kh_stored_decode (const void *data, size_t size, kh_seqinfo_t *info, bool *dup,
                      kh_problem_t *why);

/* HELLO: the recorder's format version and last committed seq. */
int kh_hello_encode (msgpack_sbuffer *out, uint64_t head);
int kh_hello_decode (const void *data, size_t size, uint64_t *head, kh_problem_t *why);

/* An audit record (kreishub/kh_wire.h), as the AUDIT frame carries it and as a row
   of an audit query's ROWS. The encoder packs every field; the decoder takes a map
   with "at" and "code" and any of the texts, each a str of valid UTF-8 that fits
   its field (RANGE, UTF8 otherwise), and ignores keys it does not know. */
int kh_audit_encode (msgpack_sbuffer *out, const kh_audit_t *rec);
int kh_audit_decode (const void *data, size_t size, kh_audit_t *rec, kh_problem_t *why);
/* The same decoder on one object already unpacked (kh_codec.c's audit rows). */
int kh__audit_read (const msgpack_object *map, kh_audit_t *rec, kh_problem_t *why);

/* Copies the len bytes at src into dst (cap > 0 bytes), NUL-terminated, as one line
   of well-formed UTF-8: a byte that begins no well-formed sequence, a control
   character (below 0x20, 0x7f) and a NUL become '?'; what does not fit is cut at a
   character's boundary. Returns the bytes written, without the NUL. For the audit's
   texts, which come from anyone. */
size_t kh_utf8_line (char *dst, size_t cap, const void *src, size_t len);

/* Writes the from of the envelope in the size bytes at data into from: "" unless
   the bytes are one msgpack map (within KH_ENVELOPE_MAX) holding "from" once as a
   str that is an AGS. For the audit of a refused publish: what it claimed to be. */
void kh_audit_claimed (const void *data, size_t size, char from [KH_AGS_MAX + 1]);

#ifdef __cplusplus
}
#endif
#endif
