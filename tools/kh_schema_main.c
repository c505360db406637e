/*  kreishub-schema - prints the schema's field tables (for schema/PROTOCOL.md). */
#include <stdio.h>
#include "kh_codec.h"
#include "kh_opts.h"

int
main (int argc, char *argv [])
{
    bool markdown = false, types = false;
    const kh_opt_t table [] = {
        { "markdown", 0, NULL, NULL, &markdown,
          "the body field tables of schema/PROTOCOL.md" },
        { "types", 0, NULL, NULL, &types, "the message types, one per line" },
        { NULL }
    };
    const kh_opts_t opts = {
        .program = "kreishub-schema", .synopsis = "--markdown | --types", .table = table,
        .version = true
    };
    int rc = kh_opts_parse (&opts, argc, argv, NULL);
    if (rc != KH_OPTS_GO)
        return kh_opts_exit (rc, 1);
    if (markdown == types) {
        kh_opts_usage (&opts, stderr);
        return 1;
    }
    if (markdown)
        kh_schema_print_markdown (stdout);
    else
        for (size_t i = 0; i < kh_schema_type_count (); i++)
            printf ("%s\n", kh_schema_type_name (i));
    return 0;
}
