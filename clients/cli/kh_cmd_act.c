/*  kh_cmd_act.c - the commands that act on an item, each one message about it through
    publish's path: `respond ID ACTION`, `status ID STAGE`, `revise ID --FIELD VALUE`,
    `withdraw ID`, `comment ID --text TEXT`; the hub's rules told as sentences. */
#include "kh_cli.h"
#include "kh_itemview.h"
#include "kh_schema.h"
#include "kh_suggest.h"

#define S_FIELDS_MAX  32                /* --FIELD VALUE of one revise */
#define S_RETRIES     3

/* One command: which message it sends and what its arguments set. */
typedef struct {
    const char *name;                   /* the command */
    const char *type;                   /* the message type */
    const char *word;                   /* the second argument's name, or NULL */
    const char *field;                  /* the body field it (or fixed) sets, or NULL */
    const char *fixed;                  /* withdraw: status withdrawn */
    bool        fields;                 /* revise: --FIELD VALUE are item fields */
    const char *about;
} s_act_t;

static const s_act_t s_acts [] = {
    { "respond", "interest", "ACTION", "action", NULL, false,
      "Answers an item (the hub keeps each body's latest answer); --text adds a short\n"
      "note. ACTION: " },
    { "status", "status", "STAGE", "status", NULL, false,
      "Moves your item (or one of your Kreis') to STAGE of the lifecycle. It moves\n"
      "forward only, skipping stages if need be; withdrawn from any stage but done;\n"
      "done and withdrawn are final. --text notes why. STAGE, in order: " },
    { "revise", "revise", NULL, NULL, NULL, true,
      "Changes fields of your item (or one of your Kreis'), each given as --FIELD VALUE\n"
      "as publish takes them; the item keeps its history. --text says why." },
    { "withdraw", "status", NULL, "status", "withdrawn", false,
      "Withdraws your item (or one of your Kreis'): its status becomes withdrawn, which\n"
      "is final; nobody can answer it any more. --text says why." },
    { "comment", "comment", NULL, NULL, NULL, false,
      "Comments on an item; --text is the comment (line breaks kept)." },
};

/* What the command line says, besides the shared options. */
typedef struct {
    const s_act_t *act;
    const char    *item;                /* ID as given */
    const char    *word;                /* ACTION or STAGE */
    const char    *text, *from, *id;
    int            timeout, retries;
    kh_cli_field_t fields [S_FIELDS_MAX];   /* revise's */
    int            field_count;
} s_args_t;

/* The values of the enum field name of type: the schema's. */
static const char *const *
s_values (const char *type, const char *name)
{
    const kh_msgtype_t *msgtype = kh__schema_type (type, strlen (type));
    int index = msgtype ? kh__schema_field (msgtype, name, strlen (name)) : -1;
    return index >= 0 ? msgtype->fields [index].values : NULL;
}

/* Writes the NULL-terminated values into out, "a, b or c". */
static void
s_join (const char *const *values, char *out, size_t cap)
{
    size_t used = 0, n = 0;
    while (values && values [n])
        n++;
    out [0] = 0;
    for (size_t i = 0; i < n && used < cap; i++) {
        int len = snprintf (out + used, cap - used, "%s%s", i == 0 ? "" : i + 1 < n
                            ? ", " : " or ", values [i]);
        used += len > 0 ? (size_t) len : 0;
    }
}

/* Writes each item type's fields into out, for revise --help, from the schema. */
static void
s_item_fields (char *out, size_t cap)
{
    size_t used = (size_t) snprintf (out, cap, "\nFields of each item type:");
    for (size_t t = 0; t < kh_schema_type_count () && used < cap; t++) {
        const char *name = kh_schema_type_name (t);
        const kh_msgtype_t *type = kh__schema_type (name, strlen (name));
        if (!type || !type->item)
            continue;
        size_t col = (size_t) snprintf (out + used, cap - used, "\n  %s:", name);
        used += col;
        for (size_t f = 0; f < type->count && used < cap; f++) {
            const char *field = type->fields [f].name;
            if (col + strlen (field) + 2 > 79) {
                used += (size_t) snprintf (out + used, cap - used, "\n   ");
                col = 3;
            }
            int len = snprintf (out + used, cap - used, " %s%s", field,
                                f + 1 < type->count ? "," : "");
            used += len > 0 ? (size_t) len : 0;
            col += len > 0 ? (size_t) len : 0;
        }
    }
}

/* Writes the command's about text (generated lists from the schema) into out. */
static void
s_about (const s_act_t *act, char *out, size_t cap)
{
    char list [1536] = "";
    if (act->word)
        s_join (s_values (act->type, act->field), list, sizeof list);
    else
    if (act->fields)
        s_item_fields (list, sizeof list);
    snprintf (out, cap, "%s%s%s\nID is the item's seq (as 'kreishub items' shows it) or "
              "its id. Prints the\nmessage's seq once the hub has stored it.\n", act->about,
              list, act->word ? "." : "");
}

/* Says the second argument is not one of its values (with did you mean). */
static int
s_bad_word (const s_args_t *args, const kh_opts_t *opts)
{
    const char *const *values = s_values (args->act->type, args->act->field);
    size_t n = 0;
    while (values && values [n])
        n++;
    char list [256];
    s_join (values, list, sizeof list);
    int best = kh_suggest_best (args->word, values, n);
    if (best >= 0)
        return kh_opts_bad (opts, "'%s' is not a%s %s; did you mean %s?", args->word,
                            args->act->word [0] == 'A' ? "n" : "", args->act->field,
                            values [best]);
    return kh_opts_bad (opts, "%s is one of %s, not '%s'", args->act->word, list,
                        args->word);
}

/* Reads the positional arguments (from first) into args. Returns KH_OPTS_GO or
   KH_OPTS_BAD after saying why. */
static int
s_positional (s_args_t *args, int argc, char *argv [], int first, const kh_opts_t *opts)
{
    int want = args->act->word ? 2 : 1;
    if (argc - first < want)
        return kh_opts_bad (opts, "which %s? give %s", first == argc ? "item" :
                            args->act->field, want == 2 ? args->act->word : "its ID");
    if (argc - first > want)
        return kh_opts_bad (opts, "one item and %s, please ('%s' is one too many)",
                            want == 2 ? args->act->word : "no more", argv [first + want]);
    args->item = argv [first];
    args->word = want == 2 ? argv [first + 1] : NULL;
    const char *const *values = want == 2 ? s_values (args->act->type, args->act->field)
                                          : NULL;
    for (size_t i = 0; values && values [i]; i++)
        if (streq (values [i], args->word))
            return KH_OPTS_GO;
    return want == 2 ? s_bad_word (args, opts) : KH_OPTS_GO;
}

/* Parses argv (kept: argc + 1 entries, for what kh_opts_parse reads). Returns what
   kh_opts_parse returned, KH_OPTS_BAD also for bad values. */
static int
s_parse_into (kh_cli_t *cli, int argc, char *argv [], s_args_t *args, char *kept [])
{
    const char *timeout = NULL, *retries = NULL;
    char program [64], about [2048];
    snprintf (program, sizeof program, "kreishub %s", args->act->name);
    s_about (args->act, about, sizeof about);
    const kh_opt_t table [] = {
        { "text", 0, "TEXT", &args->text, NULL, streq (args->act->type, "comment")
          ? "the comment (required)" : "a short note with it" },
        { "from", 0, "WHO", &args->from, NULL, "sender, an AGS or a name (default env "
          "KREISHUB_FROM,\nconfig client/from, else your certificate's AGS)" },
        { "id", 0, "UUID", &args->id, NULL, "the message's id (default a new UUIDv7); "
          "reuse it to retry" },
        { "timeout", 't', "MS", &timeout, NULL, "wait this long for each answer (default "
          KH_STR (KH_CLI_TIMEOUT) ")" },
        { "retries", 'r', "N", &retries, NULL, "resend (same id) this often without answer "
          "(default " KH_STR (S_RETRIES) ")" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = program, .once = true, .table = table, .shared = kh_cli_shared (cli),
        .synopsis = args->act->word ? (streq (args->act->word, "ACTION")
                    ? "ID ACTION [options]" : "ID STAGE [options]")
                    : args->act->fields ? "ID --FIELD VALUE ... [options]" : "ID [options]",
        .about = about,
        .notes = "Exit status: 0 stored, 1 usage, 2 refused by the hub (no such item, not "
                 "your item,\nnot a step the lifecycle allows, the item closed), 3 no "
                 "answer.\n"
    };
    char err [128];
    int kept_argc = argc, first;
    if (args->act->fields)
        args->field_count = kh_cli_split (argc, argv, &opts, kept, &kept_argc, args->fields,
                                          S_FIELDS_MAX, err, sizeof err);
    else
        memcpy (kept, argv, (size_t) argc * sizeof *kept);
    if (args->field_count < 0)
        return kh_opts_bad (&opts, "%s", err);
    int rc = kh_opts_parse (&opts, kept_argc, kept, &first);
    if (rc == KH_OPTS_GO)
        rc = s_positional (args, kept_argc, kept, first, &opts);
    if (rc == KH_OPTS_GO && args->act->fields && args->field_count == 0)
        rc = kh_opts_bad (&opts, "which fields change? give each as --FIELD VALUE");
    if (rc == KH_OPTS_GO && streq (args->act->type, "comment") && !args->text)
        rc = kh_opts_bad (&opts, "a comment needs --text");
    if (rc == KH_OPTS_GO && (kh_cli_int ("--timeout", timeout, &args->timeout)
                             || kh_cli_int ("--retries", retries, &args->retries)))
        rc = kh_cli_bad (&opts);
    return rc;
}

/* Parses argv into args. Returns what kh_opts_parse returned. */
static int
s_parse (kh_cli_t *cli, int argc, char *argv [], s_args_t *args)
{
    char **kept = (char **) calloc ((size_t) argc + 1, sizeof *kept);
    if (!kept) {
        fprintf (stderr, "kreishub %s: out of memory\n", args->act->name);
        return KH_OPTS_BAD;
    }
    int rc = s_parse_into (cli, argc, argv, args, kept);
    free (kept);
    return rc;
}

/* Writes "; did you mean --X?" into hint for a field name no item has, if an item
   field or an option is near. */
static void
s_hint (const char *name, char *hint, size_t cap)
{
    static const char *const options [] = { "text", "from", "id", "timeout", "retries" };
    const char *words [KH_FIELDS_MAX * 2 + 5];
    size_t count = 0;
    for (const kh_field_t *field; count < KH_FIELDS_MAX * 2
                                  && (field = kh__schema_item_field_at (count)); count++)
        words [count] = field->name;
    for (size_t i = 0; i < 5; i++)
        words [count++] = options [i];
    int best = kh_suggest_best (name, words, count);
    if (best >= 0)
        snprintf (hint, cap, "; did you mean --%s?", words [best]);
}

/* Sets revise's fields, each as fields.NAME. Returns 0, or -1 after saying why. */
static int
s_set_fields (kh_builder_t *builder, const s_args_t *args, kh_problem_t *why)
{
    for (int i = 0; i < args->field_count; i++) {
        const kh_cli_field_t *field = &args->fields [i];
        char name [80], hint [64] = "";
        snprintf (name, sizeof name, "fields.%s", field->name);
        if (field->json) {
            kh_problem (why, KH_EUNKNOWNFIELD, "--json: revise takes fields as --FIELD "
                        "VALUE (or 'kreishub publish revise --json FILE')");
            return -1;
        }
        if (kh_json_set_text (builder, name, field->value, why) == 0)
            continue;
        if (why->code == KH_EUNKNOWNFIELD) {
            s_hint (field->name, hint, sizeof hint);
            kh_problem (why, KH_EUNKNOWNFIELD, "--%s: not a field of an item%s", field->name,
                        hint);
        }
        return -1;
    }
    return 0;
}

/* Sets the body: ref, the word (or the fixed value), text, fields. Returns 0, or -1
   with why set. */
static int
s_set_body (kh_builder_t *builder, const s_args_t *args, const uint8_t item [KH_ID_SIZE],
            kh_problem_t *why)
{
    char ref [KH_ID_STR_SIZE];
    const s_act_t *act = args->act;
    kh_id_format (item, ref);
    const char *value = act->fixed ? act->fixed : args->word;
    if (kh_builder_set (builder, "ref", ref, why)
    ||  (act->field && kh_builder_set (builder, act->field, value, why))
    ||  (args->text && kh_json_set_text (builder, "text", args->text, why)))
        return -1;
    return act->fields ? s_set_fields (builder, args, why) : 0;
}

/* What explaining a refusal needs to know. */
typedef struct {
    const s_args_t *args;
    uint8_t         item [KH_ID_SIZE];
    const char     *from;               /* the sender */
} s_ctx_t;

/* Prints "AGS (Name)" or "AGS" for ags. */
static const char *
s_who (kh_cli_t *cli, const char *ags, char *out, size_t cap)
{
    const kh_members_t *names = kh_cli_members (cli);
    const char *name = names ? kh_members_name (names, ags) : NULL;
    snprintf (out, cap, "%s%s%s%s", ags, name ? " (" : "", name ? name : "", name ? ")" : "");
    return out;
}

/* Says what the refusal of a rule means, with what the catalogue knows of the
   item now (its stage, its owner), if the hub tells it. */
static void
s_tell_rule (kh_cli_t *cli, const s_ctx_t *ctx, const kh_error_reply_t *err,
             const kh_cli_item_t *now)
{
    const s_args_t *args = ctx->args;
    const char *program = args->act->name, *wanted = args->act->fixed ? args->act->fixed
                                                                      : args->word;
    char next [160], who [64], owner [64];
    if (err->code == KH_ENOITEM)
        fprintf (stderr, "kreishub %s: there is no item %s\n", program, args->item);
    else
    if (err->code == KH_ETRANSITION && now->found) {
        kh_lifecycle_next (now->item.status, next, sizeof next);
        if (*next)
            fprintf (stderr, "kreishub %s: item %s is at %s; it cannot go to %s (the "
                     "lifecycle moves forward only). It may go to %s\n", program,
                     args->item, now->item.status, wanted, next);
        else
            fprintf (stderr, "kreishub %s: item %s is %s, which is final; its status "
                     "cannot change any more\n", program, args->item, now->item.status);
    }
    else
    if (err->code == KH_ENOTOWNER && now->found)
        fprintf (stderr, "kreishub %s: only the item's owner %s or its Kreis may do that, "
                 "not %s\n", program, s_who (cli, now->item.owner, owner, sizeof owner),
                 s_who (cli, ctx->from, who, sizeof who));
    else
    if (err->code == KH_ECLOSED)
        fprintf (stderr, "kreishub %s: item %s is closed: it is %s; it takes no answers "
                 "any more\n", program, args->item, now->found && !now->item.expired
                 ? now->item.status : "withdrawn or expired");
    else
        fprintf (stderr, "kreishub %s: %s\n", program, kh_strerror (err->code));
    fprintf (stderr, "kreishub %s: (the hub: %s: %s)\n", program, err->name, err->reason);
}

/* Explains a refusal by the hub's rules for items (NO_ITEM, TRANSITION, NOT_OWNER,
   CLOSED); other refusals go to kh_cli_report. */
static bool
s_explain (kh_cli_t *cli, const kh_error_reply_t *err, void *arg)
{
    const s_ctx_t *ctx = (const s_ctx_t *) arg;
    if (err->code < KH_ENOITEM || err->code > KH_ECLOSED)
        return false;
    kh_cli_item_t now = { .found = false };
    kh_client_t *client = err->code == KH_ENOITEM ? NULL : kh_cli_client (cli);
    if (client)                         /* if it cannot be had, the rule is told alone */
        kh_cli_item_fetch (client, ctx->item, ctx->args->timeout, &now);
    kh_client_destroy (&client);
    s_tell_rule (cli, ctx, err, &now);
    kh_cli_item_release (&now);
    return true;
}

/* Builds the message and publishes it. Returns the exit status. */
static int
s_act (kh_cli_t *cli, const s_args_t *args, const char *from)
{
    s_ctx_t ctx = { .args = args, .from = from };
    char program [64];
    snprintf (program, sizeof program, "kreishub %s", args->act->name);
    int status = kh_cli_item_id (cli, program, args->item, args->timeout, ctx.item);
    if (status != KH_EXIT_OK)
        return status;
    kh_cli_send_t send = { .program = program, .timeout = args->timeout,
                           .retries = args->retries, .explain = s_explain, .arg = &ctx };
    kh_builder_t *builder = kh_builder_new (args->act->type);
    kh_problem_t why = { .code = KH_ENOMEM, .reason = "out of memory" };
    uint64_t ts, seq;
    if (kh_cli_ts_and_id (program, args->id, NULL, &ts, send.id))
        status = KH_EXIT_USAGE;
    else
    if (!builder || s_set_body (builder, args, ctx.item, &why)
    ||  kh_builder_encode (builder, send.id, from, ts, &why)) {
        fprintf (stderr, "%s: invalid message: %s: %s\n", program, kh_errname (why.code),
                 why.reason);
        status = KH_EXIT_USAGE;
    }
    else
        status = kh_cli_send (cli, &send, builder, &seq);
    kh_builder_destroy (&builder);
    return status;
}

/* Runs the command act. */
static int
s_run (const s_act_t *act, kh_cli_t *cli, int argc, char *argv [])
{
    s_args_t args = { .act = act, .timeout = KH_CLI_TIMEOUT, .retries = S_RETRIES };
    int rc = kh_cli_parsed (cli, s_parse (cli, argc, argv, &args));
    if (rc != KH_CLI_GO)
        return rc;
    char from [KH_AGS_MAX + 1], program [64];
    snprintf (program, sizeof program, "kreishub %s", act->name);
    if (kh_cli_sender (cli, program, args.from, from))
        return KH_EXIT_USAGE;
    return s_act (cli, &args, from);
}

int
kh_cmd_respond (kh_cli_t *cli, int argc, char *argv [])
{
    return s_run (&s_acts [0], cli, argc, argv);
}

int
kh_cmd_status (kh_cli_t *cli, int argc, char *argv [])
{
    return s_run (&s_acts [1], cli, argc, argv);
}

int
kh_cmd_revise (kh_cli_t *cli, int argc, char *argv [])
{
    return s_run (&s_acts [2], cli, argc, argv);
}

int
kh_cmd_withdraw (kh_cli_t *cli, int argc, char *argv [])
{
    return s_run (&s_acts [3], cli, argc, argv);
}

int
kh_cmd_comment (kh_cli_t *cli, int argc, char *argv [])
{
    return s_run (&s_acts [4], cli, argc, argv);
}
