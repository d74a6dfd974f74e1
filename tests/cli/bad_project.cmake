# Bad input on the command line: exit code 1 and exactly one line on stderr
# that names the file (and the layer, when there is one).
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

set(dir "${WORK_DIR}/bad_project")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")

# Runs `mantissa model show <file>` and checks the one-line failure.
function(expect_one_line_error file expected)
  execute_process(COMMAND "${MANTISSA}" model show "${file}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "${file}: expected exit code 1, got ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  string(REGEX REPLACE "\n$" "" line "${err}")
  if(line STREQUAL "" OR line MATCHES "\n")
    message(FATAL_ERROR "${file}: expected exactly one line on stderr, got:\n${err}")
  endif()
  string(FIND "${line}" "mantissa: ${file}: " at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "${file}: the message does not start with the file name: ${line}")
  endif()
  string(FIND "${line}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${file}: expected '${expected}' in: ${line}")
  endif()
endfunction()

set(syntax "${dir}/syntax.json")
file(WRITE "${syntax}" "{\"format\": \"mantissa-project\", \"version\": 1,\n  \"model\": {\"nodes\": [}\n")
expect_one_line_error("${syntax}" "line 2")

set(shapes "${dir}/shapes.json")
file(WRITE "${shapes}" [=[
{"format": "mantissa-project", "version": 1, "dataset": {"kind": "mnist"},
 "model": {"nodes": [
   {"id": "input", "type": "Input", "params": {"shape": [784]}},
   {"id": "fc1", "type": "Linear", "inputs": ["input"], "params": {"out_features": 512}},
   {"id": "fc2", "type": "Linear", "inputs": ["input"], "params": {"out_features": 256}},
   {"id": "add1", "type": "Add", "inputs": ["fc1", "fc2"]},
   {"id": "loss", "type": "MSE", "inputs": ["add1"]}]}}
]=])
expect_one_line_error("${shapes}" "/model/nodes/3: layer 'add1': input shapes 512 and 256 differ")

set(version "${dir}/version.json")
file(WRITE "${version}" [=[{"format": "mantissa-project", "version": 7}]=])
expect_one_line_error("${version}" "/version: version 7 is not supported")

expect_one_line_error("${dir}/missing.json" "cannot open project file")

execute_process(COMMAND "${MANTISSA}" --version RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" MATCHES "mantissa ")
  message(FATAL_ERROR "mantissa --version: exit ${rc}: ${out}${err}")
endif()
