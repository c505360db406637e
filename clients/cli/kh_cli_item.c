/*  kh_cli_item.c - an item named on the command line, by its id or by its seq (the
    number `kreishub items` shows), and the item fetched from the catalogue. */
#include <string.h>
#include "kh_cli.h"

/* What the lookup of a seq found. */
typedef struct {
    bool     found;
    bool     readable;                  /* its envelope could be read */
    kh_envelope_t env;
} s_found_t;

/* Keeps the one record of the lookup. */
static int
s_found (const kh_record_t *rec, void *arg)
{
    s_found_t *found = (s_found_t *) arg;
    found->found = true;
    found->readable = kh_envelope_check (rec->msg, rec->msg_size, &found->env, NULL,
                                         NULL) == 0;
    return 1;
}

/* Looks up the record at seq and takes its id if it is an item. Returns 0, or an
   exit status after saying why. */
static int
s_by_seq (kh_cli_t *cli, const char *program, uint64_t seq, int timeout,
          uint8_t id [KH_ID_SIZE])
{
    kh_client_t *client = kh_cli_client (cli);
    if (!client)
        return KH_EXIT_USAGE;
    kh_query_t query = { .since_seq = seq, .until_seq = seq };
    s_found_t found = { .found = false };
    int rc = kh_client_query (client, &query, 1, timeout, s_found, &found);
    int status = rc ? kh_cli_report (kh_cli_endpoint (cli), rc, kh_client_last_error (client),
                                     kh_client_link (client))
                    : KH_EXIT_OK;
    kh_client_destroy (&client);
    if (status == KH_EXIT_OK && (!found.found || !found.readable)) {
        fprintf (stderr, "%s: no item has seq %llu (%s)\n", program, (unsigned long long) seq,
                 found.found ? "its record cannot be read" : "no record has it");
        status = KH_EXIT_REJECTED;
    }
    else
    if (status == KH_EXIT_OK && !kh_schema_type_item (found.env.type)) {
        char ref [KH_ID_STR_SIZE];
        kh_id_format (found.env.ref, ref);
        fprintf (stderr, "%s: seq %llu is a message of type %s about item %s, not an item\n",
                 program, (unsigned long long) seq, found.env.type, ref);
        status = KH_EXIT_USAGE;
    }
    if (status == KH_EXIT_OK)
        memcpy (id, found.env.id, KH_ID_SIZE);
    return status;
}

int
kh_cli_item_id (kh_cli_t *cli, const char *program, const char *text, int timeout,
                uint8_t id [KH_ID_SIZE])
{
    uint64_t seq;
    if (kh_id_parse (text, id) == 0)
        return KH_EXIT_OK;
    if (*text && strspn (text, "0123456789") == strlen (text)
    &&  kh_uint_parse (text, UINT64_MAX, &seq) == 0 && seq > 0)
        return s_by_seq (cli, program, seq, timeout, id);
    fprintf (stderr, "%s: '%s' names no item: give its seq (as 'kreishub items' shows it) "
             "or its id\n", program, text);
    return KH_EXIT_USAGE;
}

/* Copies the one item of the reply, its views into storage of its own. */
static int
s_keep (const kh_item_t *item, void *arg)
{
    kh_cli_item_t *kept = (kh_cli_item_t *) arg;
    size_t parts = item->participant_count * sizeof (kh_participant_t);
    kept->fields = (uint8_t *) malloc (item->fields_size ? item->fields_size : 1);
    kept->participants = (kh_participant_t *) malloc (parts ? parts : 1);
    if (!kept->fields || !kept->participants) {
        kept->failed = true;
        return 1;
    }
    kept->item = *item;
    if (item->fields_size)              /* an empty view may be NULL */
        memcpy (kept->fields, item->fields, item->fields_size);
    if (parts)
        memcpy (kept->participants, item->participants, parts);
    kept->item.fields = kept->fields;
    kept->item.participants = kept->participants;
    kept->found = true;
    return 1;
}

int
kh_cli_item_fetch (kh_client_t *client, const uint8_t id [KH_ID_SIZE], int timeout,
                   kh_cli_item_t *kept)
{
    kh_items_query_t query = { .has_id = true };
    memcpy (query.id, id, KH_ID_SIZE);
    memset (kept, 0, sizeof *kept);
    int rc = kh_client_items (client, &query, 1, timeout, s_keep, kept);
    if (rc == 0 && kept->failed)
        rc = KH_ENOMEM;
    return rc;
}

void
kh_cli_item_release (kh_cli_item_t *kept)
{
    free (kept->fields);
    free (kept->participants);
    memset (kept, 0, sizeof *kept);
}
