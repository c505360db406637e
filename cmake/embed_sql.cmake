# Turns kreishub.sql into a C string constant kh_sql_schema (see nodes/kh_sql.h).
file (READ ${IN} SQL)
string (REPLACE "\\" "\\\\" SQL "${SQL}")
string (REPLACE "\"" "\\\"" SQL "${SQL}")
string (REPLACE "\n" "\\n\"\n\"" SQL "${SQL}")
file (WRITE ${OUT} "/* generated from nodes/kreishub.sql - do not edit */\n#include \"kh_sql.h\"\nconst char *const kh_sql_schema =\n\"${SQL}\";\n")
