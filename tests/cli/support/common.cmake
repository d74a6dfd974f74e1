# Shared by the command-line tests (tests/cli/*.cmake; this folder is not
# globbed): the variables every script needs, and mantissa_ok, which runs
# `mantissa ARGS...`, fails the test with its output unless it exits 0, and
# puts its stdout in the named variable.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

function(mantissa_ok out_var)
  execute_process(COMMAND "${MANTISSA}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mantissa ${ARGN}: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# mantissa_refuses(EXPECTED ARGS...): `mantissa ARGS...` must fail as a user
# error does: exit 1 and one line on stderr that contains EXPECTED (plain
# text, not a pattern).
function(mantissa_refuses expected)
  execute_process(COMMAND "${MANTISSA}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  string(FIND "${err}" "${expected}" at)
  string(REGEX MATCHALL "\n" breaks "${err}")
  list(LENGTH breaks lines)
  if(NOT rc EQUAL 1 OR at EQUAL -1 OR lines GREATER 1)
    message(FATAL_ERROR "mantissa ${ARGN}: exit ${rc}, expected one line with '${expected}'\n"
                        "stderr: ${err}")
  endif()
endfunction()
