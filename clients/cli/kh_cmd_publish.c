/*  kh_cmd_publish.c - `kreishub publish TYPE`: build an envelope from flags and JSON,
    publish it, wait until it is stored, print its seq. */
#include <limits.h>
#include "kh_cli.h"
#include "kh_schema.h"
#include "kh_suggest.h"

#define S_FIELDS_MAX  64                /* body values on one command line */
#define S_JSON_MAX    (1024 * 1024)     /* a JSON body file, at most */
#define S_RETRIES     3                 /* resends after a timeout, by default */

/* What the command line says, besides the shared options. */
typedef struct {
    const char     *type;
    const char     *from;               /* --from, else env/config */
    const char     *ts;                 /* --ts TIME or ms */
    const char     *id;                 /* --id UUID */
    const char     *json;               /* never set: kh_cli_split takes --json as a field */
    int             timeout;
    int             retries;
    kh_cli_field_t  fields [S_FIELDS_MAX];  /* --json and --<field>, in order */
    int             field_count;
} s_args_t;

/* The options as given, the body fields aside. */
typedef struct {
    const char *timeout, *retries;
} s_given_t;

/* Returns the message types of the schema as one text, "idea, offer, ...". */
static const char *
s_types (void)
{
    static char text [256];
    size_t used = 0;
    for (size_t i = 0; i < kh_schema_type_count () && used < sizeof text; i++) {
        int n = snprintf (text + used, sizeof text - used, "%s%s", i ? ", " : "",
                          kh_schema_type_name (i));
        used += n > 0 ? (size_t) n : 0;
    }
    return text;
}

/* Appends the word to text (cap bytes, used of them taken) on a line that is col
   characters long so far, wrapped before 80 columns (the next line begins with 3 blanks and the word's). */
static void
s_word (char *text, size_t cap, size_t *used, size_t *col, const char *word)
{
    size_t len = strlen (word);
    if (*col + len > 79 && *used + 5 < cap) {
        memcpy (text + *used, "\n   ", 4);
        *used += 4;
        *col = 3;
    }
    if (*used + len + 1 < cap) {
        memcpy (text + *used, word, len + 1);
        *used += len;
        *col += len;
    }
}

/* Returns the fields of each type of the schema as lines of text, "  idea:
   title*, description, ..." (* for a required one), generated from the table. */
static const char *
s_fields (void)
{
    static char text [2048];
    size_t used = 0, col = 0;
    s_word (text, sizeof text, &used, &col, "Fields (* required):");
    for (size_t t = 0; t < kh_schema_type_count (); t++) {
        const char *name = kh_schema_type_name (t);
        const kh_msgtype_t *type = kh__schema_type (name, strlen (name));
        char word [80];
        col = 0;
        snprintf (word, sizeof word, "\n  %s:", name);
        s_word (text, sizeof text, &used, &col, word);
        for (size_t f = 0; type && f < type->count; f++) {
            snprintf (word, sizeof word, " %s%s%s", type->fields [f].name,
                      type->fields [f].required ? "*" : "", f + 1 < type->count ? "," : "");
            s_word (text, sizeof text, &used, &col, word);
        }
    }
    s_word (text, sizeof text, &used, &col, "\n");
    return text;
}

/* Fills the option table and opts of publish for args and given. */
static void
s_options (kh_cli_t *cli, s_args_t *args, s_given_t *given, kh_opt_t table [7],
           kh_opts_t *opts)
{
    static char about [4096];
    snprintf (about, sizeof about,
              "Publishes one message of TYPE, waits until the hub has stored it durably, "
              "and\nprints its seq ('seq 42', or 'seq 42 (duplicate)' if its id was stored "
              "before).\nTYPE: %s.\nBody fields are given as --FIELD VALUE (e.g. --title, "
              "--hf, --keywords a,b,\n--participants 05162004,05162008). A message about an "
              "item names it with\n--ref ID (its id, as the log prints it); a revise gives "
              "each changed field as\n--fields.NAME VALUE. See PROTOCOL.md section 4. "
              "Texts with CRLF line ends (a file\nsaved on Windows) are sent with LF, as "
              "the hub wants them. --from takes an AGS\nor a name of the Kreis' members "
              "(Neuss, juechen).\n%s", s_types (), s_fields ());
    const kh_opt_t options [] = {
        { "from", 0, "WHO", &args->from, NULL,
          "sender, an AGS or a name (default env KREISHUB_FROM,\n"
          "config client/from, else your certificate's AGS)" },
        { "json", 0, "FILE", &args->json, NULL,
          "body fields from a JSON object (- for stdin); fields\n"
          "given after it override it" },
        { "ts", 0, "TIME", &args->ts, NULL,
          "publisher's time, e.g. 2021-11-03 (for imports; default the\n"
          "time in the id, i.e. now for a new one)" },
        { "id", 0, "UUID", &args->id, NULL,
          "message id (default a new UUIDv7); reuse it to retry" },
        { "timeout", 't', "MS", &given->timeout, NULL,
          "wait this long for each answer (default " KH_STR (KH_CLI_TIMEOUT) ")" },
        { "retries", 'r', "N", &given->retries, NULL,
          "resend (same id) this often without answer (default " KH_STR (S_RETRIES) ")" },
        { NULL }
    };
    memcpy (table, options, sizeof options);
    *opts = (kh_opts_t) {
        .program = "kreishub publish",
        .once = true, .synopsis = "TYPE [options] [--FIELD VALUE ...]",
        .table = table, .shared = kh_cli_shared (cli),
        .about = about,
        .notes = "Exit status: 0 stored, 1 invalid, 2 rejected by the hub, 3 no answer or "
                 "unable\nto store now. Without an answer it names the message's id: "
                 "retry with that --id,\nand the message is stored only once.\n"
    };
}

/* Says on stderr if a body field was given twice as a flag (a flag after --json
   overrides the file's field: that is no repeat). Returns true if one was. */
static bool
s_field_twice (const s_args_t *args)
{
    for (int i = 0; i < args->field_count; i++)
        for (int k = 0; k < i && !args->fields [i].json; k++)
            if (!args->fields [k].json && streq (args->fields [k].name, args->fields [i].name)) {
                fprintf (stderr, "kreishub publish: --%s given twice ('%s', then '%s'); give "
                         "it once\n", args->fields [i].name, args->fields [k].value,
                         args->fields [i].value);
                return true;
            }
    return false;
}

/* Parses argv into args, with kept (argc + 1 entries) to hold what kh_opts_parse
   reads. Returns what kh_opts_parse returned (KH_OPTS_BAD also for bad values). */
static int
s_parse_into (kh_cli_t *cli, int argc, char *argv [], s_args_t *args, char *kept [])
{
    s_given_t given = { NULL };
    kh_opt_t table [7];
    kh_opts_t opts;
    s_options (cli, args, &given, table, &opts);
    char err [128];
    int kept_argc, first;
    args->field_count = kh_cli_split (argc, argv, &opts, kept, &kept_argc, args->fields,
                                      S_FIELDS_MAX, err, sizeof err);
    if (args->field_count < 0) {
        fprintf (stderr, "kreishub publish: %s\n", err);
        return kh_cli_bad (&opts);
    }
    int rc = kh_opts_parse (&opts, kept_argc, kept, &first);
    if (rc != KH_OPTS_GO)
        return rc;
    if (s_field_twice (args))
        return kh_cli_bad (&opts);
    if (first != kept_argc - 1) {
        if (first < kept_argc)
            fprintf (stderr, "kreishub publish: one message type, please\n");
        else
            fprintf (stderr, "kreishub publish: which type? %s\n", s_types ());
        return kh_cli_bad (&opts);
    }
    args->type = kept [first];
    if (kh_cli_int ("--timeout", given.timeout, &args->timeout)
    ||  kh_cli_int ("--retries", given.retries, &args->retries))
        return kh_cli_bad (&opts);
    return KH_OPTS_GO;
}

/* Parses argv into args. Returns what kh_opts_parse returned. */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    char **kept = (char **) calloc ((size_t) argc + 1, sizeof *kept);
    if (!kept) {
        fprintf (stderr, "kreishub publish: out of memory\n");
        return KH_OPTS_BAD;
    }
    int rc = s_parse_into (cli, argc, argv, args, kept);
    free (kept);
    return rc;
}

/* Reads a whole file (path "-": stdin) of at most S_JSON_MAX bytes. Returns a
   malloc'd buffer with *size set, or NULL after saying why. */
static char *
s_read_file (const char *path, size_t *size)
{
    FILE *file = streq (path, "-") ? stdin : fopen (path, "rb");
    char *data = file ? (char *) malloc (S_JSON_MAX + 1) : NULL;
    size_t n = data ? fread (data, 1, S_JSON_MAX + 1, file) : 0;
    bool ok = data && !ferror (file) && n <= S_JSON_MAX;
    if (file && file != stdin)
        fclose (file);
    if (!ok) {
        fprintf (stderr, "kreishub publish: cannot read %s%s\n", path,
                 n > S_JSON_MAX ? " (larger than 1 MiB)" : "");
        free (data);
        return NULL;
    }
    *size = n;
    return data;
}

/* Writes into hint "; did you mean --X?" for the field name that type does not
   have, if a field of it (or, for fields.NAME, an item field) or an option of
   publish is near; else nothing. */
static void
s_hint (const char *type, const char *name, char *hint, size_t cap)
{
    static const char *const options [] = { "from", "json", "ts", "id", "timeout",
                                            "retries" };
    const char *words [KH_FIELDS_MAX * 2 + 8];
    char items [KH_FIELDS_MAX * 2][64];
    size_t count = 0;
    const kh_msgtype_t *msgtype = kh__schema_type (type, strlen (type));
    bool item = strncmp (name, "fields.", 7) == 0;
    for (size_t i = 0; !item && msgtype && i < msgtype->count; i++)
        words [count++] = msgtype->fields [i].name;
    for (size_t i = 0; !item && i < sizeof options / sizeof options [0]; i++)
        words [count++] = options [i];
    for (const kh_field_t *field; item && count < KH_FIELDS_MAX * 2
                                  && (field = kh__schema_item_field_at (count)); count++) {
        snprintf (items [count], sizeof items [count], "fields.%s", field->name);
        words [count] = items [count];
    }
    int best = kh_suggest_best (name, words, count);
    if (best < 0)
        return;
    int n = snprintf (hint, cap, "; did you mean --%s?", words [best]);
    for (int i = 0; i < n && (size_t) i < cap; i++)
        hint [i] = hint [i] == '_' ? '-' : hint [i];
}

/* Sets the body values in order. Returns 0, or an exit status after saying why. */
static int
s_set_fields (kh_builder_t *builder, const s_args_t *args)
{
    for (int i = 0; i < args->field_count; i++) {
        const kh_cli_field_t *field = &args->fields [i];
        kh_problem_t why;
        int rc;
        if (field->json) {
            size_t size;
            char *json = s_read_file (field->value, &size);
            if (!json)
                return KH_EXIT_USAGE;
            rc = kh_json_set_body (builder, json, size, &why);
            free (json);
        }
        else
            rc = kh_json_set_text (builder, field->name, field->value, &why);
        if (rc) {
            char hint [96] = "";
            if (why.code == KH_EUNKNOWNFIELD)
                s_hint (args->type, field->name, hint, sizeof hint);
            fprintf (stderr, "kreishub: invalid message: %s: %s%s\n", kh_errname (why.code),
                     why.reason, hint);
            return KH_EXIT_USAGE;
        }
    }
    return KH_EXIT_OK;
}

/* Encodes the envelope in builder (kh_builder_data has it after), its id into id.
   Returns 0, or an exit status after saying why. */
static int
s_build (const s_args_t *args, const char *from, kh_builder_t *builder,
         uint8_t id [KH_ID_SIZE])
{
    uint64_t ts;
    kh_problem_t why;
    int rc = s_set_fields (builder, args);
    if (rc == KH_EXIT_OK
    &&  kh_cli_ts_and_id ("kreishub publish", args->id, args->ts, &ts, id))
        rc = KH_EXIT_USAGE;
    if (rc == KH_EXIT_OK && kh_builder_encode (builder, id, from, ts, &why)) {
        fprintf (stderr, "kreishub: invalid message: %s: %s\n", kh_errname (why.code),
                 why.reason);
        rc = KH_EXIT_USAGE;
    }
    return rc;
}

int
kh_cmd_publish (kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .timeout = KH_CLI_TIMEOUT, .retries = S_RETRIES };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    char ags [KH_AGS_MAX + 1];
    if (kh_cli_sender (cli, "kreishub publish", args.from, ags))
        return KH_EXIT_USAGE;
    kh_builder_t *builder = kh_builder_new (args.type);
    if (!builder) {
        char err [512] = "";
        char types [1][KH_TYPE_MAX + 1];
        size_t count = 0;
        kh_filter_add_type (types, &count, false, args.type, err, sizeof err);
        fprintf (stderr, "kreishub publish: %s\n", err);
        return KH_EXIT_USAGE;
    }
    kh_cli_send_t send = { .program = "kreishub publish", .timeout = args.timeout,
                           .retries = args.retries };
    rc = s_build (&args, ags, builder, send.id);
    uint64_t seq;
    if (rc == KH_EXIT_OK)
        rc = kh_cli_send (cli, &send, builder, &seq);
    kh_builder_destroy (&builder);
    return rc;
}
