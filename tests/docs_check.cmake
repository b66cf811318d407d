# cmake -DBIN=switchboard -DDOC=docs/config-reference.md -P docs_check.cmake
# Fails when the config reference in docs/ is not what the binary generates.
execute_process(COMMAND ${BIN} config-reference OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "switchboard config-reference failed (${rc})")
endif()
file(READ ${DOC} doc)
string(FIND "${doc}" "${generated}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${DOC} is out of date: regenerate its tables with `switchboard config-reference`")
endif()
message(STATUS "${DOC} matches the schemas")

# The app guide embeds examples/hello/main.cpp verbatim (it must stay runnable as written).
if(DEFINED GUIDE)
  file(READ ${GUIDE} guide)
  file(READ ${EXAMPLE} example)
  string(FIND "${guide}" "${example}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${GUIDE} does not contain ${EXAMPLE} verbatim: copy it in again")
  endif()
endif()
