# cmake -DKIT=... -DPLUGIN=... [-DCONFIG=...] [-DFILTER=...] -DEXIT=<code>
#       [-DEXPECT="regex;regex"] -P expect_kit.cmake
# Runs the conformance kit and checks its exit code and that its output matches
# every EXPECT regex: proves the kit passes good plugins and catches bad ones.
set(args ${PLUGIN})
if(CONFIG)
  list(APPEND args --config ${CONFIG})
endif()
if(FILTER)
  list(APPEND args --filter ${FILTER})
endif()
execute_process(COMMAND ${KIT} ${args} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc EQUAL EXIT)
  message(FATAL_ERROR "switchboard-conformance exited ${rc}, expected ${EXIT}")
endif()
foreach(re IN LISTS EXPECT)
  if(NOT out MATCHES "${re}")
    message(FATAL_ERROR "the kit's output does not match '${re}'")
  endif()
endforeach()
