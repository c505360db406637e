/*  kreishub-schema - prints the schema's field tables (for schema/PROTOCOL.md). */
#include <stdio.h>
#include <string.h>
#include "kh_codec.h"

int
main (int argc, char *argv [])
{
    if (argc == 2 && strcmp (argv [1], "--markdown") == 0) {
        kh_schema_print_markdown (stdout);
        return 0;
    }
    if (argc == 2 && strcmp (argv [1], "--types") == 0) {
        for (size_t i = 0; i < kh_schema_type_count (); i++)
            printf ("%s\n", kh_schema_type_name (i));
        return 0;
    }
    fprintf (argc == 2 && strcmp (argv [1], "--help") == 0 ? stdout : stderr,
             "usage: kreishub-schema --markdown | --types\n"
             "  --markdown  the body field tables of schema/PROTOCOL.md\n"
             "  --types     the message types, one per line\n");
    return argc == 2 && strcmp (argv [1], "--help") == 0 ? 0 : 1;
}
