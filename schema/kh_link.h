/*  kh_link.h - the frames between broker and recorder (PROTOCOL.md section 8).

    Internal to the hub: no client ever sees them. The recorder connects a DEALER to
    the broker's recorder ROUTER and says HELLO; the broker hands it STOREs, each
    with a token the answer echoes; the recorder answers STORED or FAILED in the
    order the STOREs came, and says BYE when it stops cleanly. Queries pass through
    as [QUERY][client][query] and come back as [ROWS|ERROR][client][body].

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

/* The recorder's answer to STORE: where the message stands, and whether the id
   was stored before (dup: then info is the original's). */
int kh_stored_encode (msgpack_sbuffer *out, const kh_seqinfo_t *info, bool dup);
int kh_stored_decode (const void *data, size_t size, kh_seqinfo_t *info, bool *dup,
                      kh_problem_t *why);

/* HELLO: the recorder's format version and last committed seq. */
int kh_hello_encode (msgpack_sbuffer *out, uint64_t head);
int kh_hello_decode (const void *data, size_t size, uint64_t *head, kh_problem_t *why);

#ifdef __cplusplus
}
#endif
#endif
