/*  kh_err.c - names and sentences for the kreishub error codes, and kh_problem, the
    one way the codec says why it refused something. */
#include <stdarg.h>
#include <stdio.h>
#include "kh_codec.h"

static const struct {
    const char *name;
    const char *text;
} s_errors [KH_ERR_COUNT_] = {
    [KH_OK]            = { "OK", "no error" },
    [KH_EMALFORMED]    = { "MALFORMED", "not a well-formed msgpack object" },
    [KH_ETOOLARGE]     = { "TOO_LARGE", "frame larger than allowed" },
    [KH_EFRAMES]       = { "FRAMES", "wrong number of frames" },
    [KH_EVERSION]      = { "VERSION", "unknown format version" },
    [KH_ETYPE]         = { "TYPE", "unknown message type" },
    [KH_EMISSING]      = { "MISSING", "required field missing" },
    [KH_EWRONGTYPE]    = { "WRONG_TYPE", "field has the wrong type" },
    [KH_ERANGE]        = { "RANGE", "value outside its limits" },
    [KH_EUTF8]         = { "UTF8", "string is not valid UTF-8" },
    [KH_EUNKNOWNFIELD] = { "UNKNOWN_FIELD", "field not defined by the schema" },
    [KH_EVALUE]        = { "VALUE", "value not allowed" },
    [KH_ECOMMAND]      = { "COMMAND", "unknown command" },
    [KH_EUNAVAILABLE]  = { "UNAVAILABLE", "store not available, try again" },
    [KH_ESTORE]        = { "STORE", "store failed to commit" },
    [KH_ETIMEOUT]      = { "TIMEOUT", "no answer in time" },
    [KH_EUNREACHABLE]  = { "UNREACHABLE", "hub not reachable" },
    [KH_EFORBIDDEN]    = { "FORBIDDEN", "not allowed for this sender" },
    [KH_EQUERY]        = { "QUERY", "query not valid" },
    [KH_ENOMEM]        = { "NOMEM", "out of memory" },
    [KH_EINVAL]        = { "INVAL", "invalid argument" },
    [KH_EIO]           = { "IO", "input/output error" },
    [KH_ESENDER]       = { "SENDER", "from is not the sender's own AGS" },
    [KH_EFULL]         = { "FULL", "the store is full; nothing was stored" },
    [KH_EBUSY]         = { "BUSY", "too many publishes wait for answers; try again" },
    [KH_ENOITEM]       = { "NO_ITEM", "ref names no item" },
    [KH_ETRANSITION]   = { "TRANSITION", "the lifecycle does not allow this status change" },
    [KH_ENOTOWNER]     = { "NOT_OWNER", "only the item's owner or its Kreis may do this" },
    [KH_ECLOSED]       = { "CLOSED", "the item is withdrawn or expired" },
};

const char *
kh_strerror (int code)
{
    if (code < 0 || code >= KH_ERR_COUNT_ || !s_errors [code].text)
        return "unknown error";
    return s_errors [code].text;
}

const char *
kh_errname (int code)
{
    if (code < 0 || code >= KH_ERR_COUNT_ || !s_errors [code].name)
        return "UNKNOWN";
    return s_errors [code].name;
}

bool
kh_err_transient (int code)
{
    return code == KH_EUNAVAILABLE || code == KH_ESTORE || code == KH_ETIMEOUT
        || code == KH_EUNREACHABLE || code == KH_EFULL || code == KH_EBUSY;
}

int
kh_problem (kh_problem_t *why, int code, const char *fmt, ...)
{
    if (why) {
        why->code = code;
        va_list args;
        va_start (args, fmt);
        vsnprintf (why->reason, sizeof why->reason, fmt, args);
        va_end (args);
    }
    return -1;
}
