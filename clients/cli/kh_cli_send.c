/*  kh_cli_send.c - the publish path that `publish` and the commands acting on an item
    (respond, status, revise, withdraw, comment) share: who sends, texts as the hub
    wants them, one envelope published and its outcome told. */
#include <string.h>
#include "kh_cli.h"

/* Says that the digits text are too many for an AGS. Returns -1. */
static int
s_too_long (const char *program, const char *text)
{
    fprintf (stderr, "%s: --from: '%s' is not an AGS (8 or 5 digits)\n", program, text);
    return -1;
}

/* Reads the sender text into ags: digits as they are (the codec checks them), a
   name of the Kreis' registry as its AGS. Returns 0, or -1 after saying why (no
   such name, with the near ones; a beginning of several; a region). */
static int
s_sender (kh_cli_t *cli, const char *program, const char *text, char ags [KH_AGS_MAX + 1])
{
    if (strspn (text, "0123456789") == strlen (text)) {
        snprintf (ags, KH_AGS_MAX + 1, "%.*s", KH_AGS_MAX, text);
        return strlen (text) > KH_AGS_MAX ? s_too_long (program, text) : 0;
    }
    const kh_members_t *members = kh_cli_members (cli);
    char err [600];
    if (!members)
        return -1;
    if (strchr (text, '*')) {
        fprintf (stderr, "%s: --from: a message has one sender, an AGS or a name, not the "
                 "region '%s'\n", program, text);
        return -1;
    }
    if (kh_filter_one_ags (members, text, ags, err, sizeof err)) {
        fprintf (stderr, "%s: --from: %s\n", program, err);
        return -1;
    }
    return 0;
}

int
kh_cli_sender (kh_cli_t *cli, const char *program, const char *flag,
               char ags [KH_AGS_MAX + 1])
{
    const char *from = kh_cli_from (cli, flag);
    if (!from && kh_cli_trust (cli, false))
        return -1;
    if (!from && *kh_keys_ags (cli->keys))
        from = kh_keys_ags (cli->keys);     /* the certificate's: who the hub knows */
    if (!from) {
        fprintf (stderr, "%s: who sends it? give --from AGS (or set KREISHUB_FROM, or "
                 "'from' in the config's section client)\n", program);
        return -1;
    }
    return s_sender (cli, program, from, ags);
}

/* The time a UUIDv7 carries (its first 48 bits, ms since 1970), or 0 if id is not
   a UUIDv7. */
static uint64_t
s_id_time (const uint8_t id [KH_ID_SIZE])
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | id [i];
    return (id [6] >> 4) == 7 ? ms : 0;
}

int
kh_cli_ts_and_id (const char *program, const char *id_text, const char *ts_text,
                  uint64_t *ts, uint8_t id [KH_ID_SIZE])
{
    if (!id_text)
        kh_id_new (id);
    else
    if (kh_id_parse (id_text, id)) {
        fprintf (stderr, "%s: --id '%s' is not a UUID\n", program, id_text);
        return -1;
    }
    if (!s_id_time (id) && !ts_text) {
        fprintf (stderr, "%s: --id '%s' is not a UUIDv7 (no time in it); give --ts too, "
                 "the same on every retry\n", program, id_text);
        return -1;
    }
    *ts = s_id_time (id);
    if (ts_text && kh_value_uint (ts_text, 0, UINT64_MAX, ts)
    &&  kh_time_parse (ts_text, ts)) {
        fprintf (stderr, "%s: --ts '%s' is not a time (YYYY-MM-DD[THH:MM[:SS[.mmm]]Z] or "
                 "ms since 1970)\n", program, ts_text);
        return -1;
    }
    return 0;
}

/* Says on stderr why the publish failed (explain first, for a refusal of the hub),
   and for no answer from a hub that was reached, the id to retry with. Returns the
   exit status. */
static int
s_failed (kh_cli_t *cli, const kh_cli_send_t *send, int rc, const kh_error_reply_t *err,
          kh_link_t link)
{
    if (send->explain && err->code == rc && send->explain (cli, err, send->arg))
        return kh_cli_exit_status (rc);
    int status = kh_cli_report (kh_cli_endpoint (cli), rc, err, link);
    bool reached = link != KH_LINK_NONE && link != KH_LINK_REFUSED;
    if ((rc == KH_ETIMEOUT || rc == KH_EUNREACHABLE) && reached) {
        char text [KH_ID_STR_SIZE];
        kh_id_format (send->id, text);
        fprintf (stderr, "%s: it may still be stored; retry with --id %s to store it "
                 "once\n", send->program, text);
    }
    return status;
}

int
kh_cli_send (kh_cli_t *cli, const kh_cli_send_t *send, const kh_builder_t *builder,
             uint64_t *seq)
{
    size_t size;
    const void *envelope = kh_builder_data (builder, &size);
    kh_client_t *client = kh_cli_client (cli);
    if (!client)
        return KH_EXIT_USAGE;
    bool dup = false;
    kh_error_reply_t err;
    int rc = kh_client_publish (client, envelope, size, send->timeout, send->retries, seq,
                                &dup, &err);
    kh_link_t link = kh_client_link (client);
    kh_client_destroy (&client);
    if (rc)
        return s_failed (cli, send, rc, &err, link);
    if (send->quiet)
        return KH_EXIT_OK;
    printf ("seq %llu%s\n", (unsigned long long) *seq, dup ? " (duplicate)" : "");
    return KH_EXIT_OK;
}
