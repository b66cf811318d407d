# cmake -DKIT=... -DPLUGIN=... [-DCONFIG=...] [-DFILTER=...] [-DARGS="--fail-fast;..."]
#       -DEXIT=<code> [-DEXPECT="regex;regex"] [-DWITHIN=<seconds>] -P expect_kit.cmake
# Runs the conformance kit and checks its exit code and that its output matches
# every EXPECT regex: proves the kit passes good plugins and catches bad ones.
# WITHIN: the first MUST failure must be reported at most that many seconds into
# the run (a fault is caught fast, not by running out a budget).
set(args ${PLUGIN} ${ARGS})
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
if(WITHIN)
  if(NOT out MATCHES "first MUST failure: [^\n]*, ([0-9.]+) s into the run")
    message(FATAL_ERROR "the kit reported no first MUST failure")
  endif()
  set(at ${CMAKE_MATCH_1})
  if(at GREATER ${WITHIN})
    message(FATAL_ERROR "the first MUST failure came ${at} s into the run, more than ${WITHIN} s")
  endif()
endif()
