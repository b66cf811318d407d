# cmake -DINPUT=file -DOUTPUT=file.cpp -DFUNCTION=name -P embed_file.cmake
# Writes a .cpp defining std::string_view switchboard::<FUNCTION>() with the file's bytes.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT}; do not edit.\n#include <string_view>\n"
  "namespace switchboard {\nnamespace { const unsigned char kData[] = {${bytes} 0}; }\n"
  "std::string_view ${FUNCTION}() { return {reinterpret_cast<const char*>(kData), sizeof kData - 1}; }\n}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
