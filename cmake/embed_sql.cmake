# Turns kreishub.sql into a C string constant kh_sql_schema (see schema/kh_sql.h).
file (READ ${IN} SQL)
string (REPLACE "\\" "\\\\" SQL "${SQL}")
string (REPLACE "\"" "\\\"" SQL "${SQL}")
string (REPLACE "\n" "\\n\"\n\"" SQL "${SQL}")
file (WRITE ${OUT} "/* generated from schema/kreishub.sql - do not edit */\n#include \"kh_sql.h\"\nconst char *const kh_sql_schema =\n\"${SQL}\";\n")
