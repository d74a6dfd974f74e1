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
