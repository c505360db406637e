# Turns a static file of the web node (IN) into a C array kh_web_asset_NAME and its
# size kh_web_asset_NAME_size (OUT), byte for byte, so that the node serves files it
# carries inside itself and needs nothing from elsewhere.
file (READ ${IN} HEX HEX)
string (LENGTH "${HEX}" LEN)
math (EXPR SIZE "${LEN} / 2")
string (REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
string (REGEX REPLACE "((0x..,){16})" "\\1\n" BYTES "${BYTES}")
file (WRITE ${OUT} "/* generated from ${IN} - do not edit */\n#include <stddef.h>\n"
      "extern const unsigned char kh_web_asset_${NAME} [];\n"
      "extern const size_t kh_web_asset_${NAME}_size;\n"
      "const unsigned char kh_web_asset_${NAME} [] = {\n${BYTES}0 };\n"
      "const size_t kh_web_asset_${NAME}_size = ${SIZE};\n")
