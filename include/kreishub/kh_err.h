/*  kh_err.h - the one error enum of kreishub; the same codes travel in error replies.

    A code is stable once released: clients in other languages match on the number
    (or on the name, which is the enum without its KH_E prefix). Add codes at the end.
*/
#ifndef KH_ERR_H_INCLUDED
#define KH_ERR_H_INCLUDED

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks what libkreishub exports; everything else in the shared library is hidden. */
#ifndef KH_EXPORT
#   define KH_EXPORT __attribute__ ((visibility ("default")))
#endif

typedef enum {
    KH_OK = 0,
    KH_EMALFORMED = 1,      /* not msgpack, truncated, or bytes after the object */
    KH_ETOOLARGE = 2,       /* frame larger than its limit */
    KH_EFRAMES = 3,         /* wrong number of frames for the command */
    KH_EVERSION = 4,        /* unknown format version */
    KH_ETYPE = 5,           /* unknown message type */
    KH_EMISSING = 6,        /* a required field is missing */
    KH_EWRONGTYPE = 7,      /* a field has the wrong msgpack type */
    KH_ERANGE = 8,          /* string, list or number outside its limits */
    KH_EUTF8 = 9,           /* string is not valid UTF-8 */
    KH_EUNKNOWNFIELD = 10,  /* a field the schema does not define */
    KH_EVALUE = 11,         /* a value of the right type but not allowed (AGS, date, enum) */
    KH_ECOMMAND = 12,       /* unknown command frame */
    KH_EUNAVAILABLE = 13,   /* the recorder is not reachable or the queue is full */
    KH_ESTORE = 14,         /* the store failed to commit */
    KH_ETIMEOUT = 15,       /* client side: no answer in time */
    KH_EUNREACHABLE = 16,   /* client side: cannot reach the hub */
    KH_EFORBIDDEN = 17,     /* not allowed: no identity, not a sender, not the role */
    KH_EQUERY = 18,         /* a query that cannot be answered as asked */
    KH_ENOMEM = 19,         /* out of memory */
    KH_EINVAL = 20,         /* local misuse: bad argument to a function */
    KH_EIO = 21,            /* local I/O error (file, socket setup) */
    KH_ESENDER = 22,        /* from is not the AGS of the sender's certificate */
    KH_EFULL = 23,          /* the store's disk is full: nothing was stored */
    KH_EBUSY = 24,          /* too many publishes of this connection wait: read answers */
    KH_ENOITEM = 25,        /* ref names no item: an unknown id, or not an item's */
    KH_ETRANSITION = 26,    /* a status change the lifecycle does not allow */
    KH_ENOTOWNER = 27,      /* a status, revise or withdraw by neither owner nor its Kreis */
    KH_ECLOSED = 28,        /* interest in a withdrawn or expired item */
    KH_ERR_COUNT_
} kh_err_t;

/* Returns a readable sentence for code; an unknown code gives "unknown error". */
KH_EXPORT const char *kh_strerror (int code);

/* Returns the wire name of code ("MALFORMED"); an unknown code gives "UNKNOWN". */
KH_EXPORT const char *kh_errname (int code);

/* True for the codes that say "nothing was decided about this request; the same
   request may succeed later": the hub cannot store now (UNAVAILABLE, STORE, FULL),
   this connection has too many publishes waiting (BUSY), no answer came in time
   (TIMEOUT) or the hub cannot be reached (UNREACHABLE). A publish refused so is
   retried with the same id; it is never stored twice. */
KH_EXPORT bool kh_err_transient (int code);

#ifdef __cplusplus
}
#endif
#endif
