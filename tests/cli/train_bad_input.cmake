# A dataset that does not load: `mantissa train` exits 1 with one line naming
# the file and the row, and the run is kept in the database as failed.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

set(dir "${WORK_DIR}/train_bad_input")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

# Row 4 (the header is row 1) has one field too few.
file(WRITE "${dir}/ragged.csv" "x,y,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0\n0.7,0.8,1\n")
file(WRITE "${dir}/ragged.json" [=[
{"format": "mantissa-project", "version": 1, "name": "ragged",
 "dataset": {"kind": "csv", "path": "ragged.csv"},
 "model": {"nodes": [
   {"id": "input", "type": "Input", "params": {"shape": [2]}},
   {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}},
   {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]},
 "training": {"epochs": 1, "batch_size": 2}}
]=])

execute_process(COMMAND "${MANTISSA}" train "${dir}/ragged.json" --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "train on a ragged CSV: expected exit 1, got ${rc}\nstdout: ${out}\nstderr: ${err}")
endif()
string(REGEX REPLACE "\n$" "" line "${err}")
if(line STREQUAL "" OR line MATCHES "\n")
  message(FATAL_ERROR "train on a ragged CSV: expected one line on stderr, got:\n${err}")
endif()
if(NOT line MATCHES "^mantissa: .*ragged\\.csv: row 4 has 2 fields, expected 3$")
  message(FATAL_ERROR "train on a ragged CSV: the message does not name the file and row: ${line}")
endif()

# Stored as failed, with the same message.
execute_process(COMMAND "${MANTISSA}" runs list --json --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE list ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "runs list: exit ${rc}: ${err}")
endif()
string(JSON count LENGTH "${list}")
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one stored run, found ${count}:\n${list}")
endif()
string(JSON status GET "${list}" 0 status)
string(JSON error GET "${list}" 0 error)
string(JSON project GET "${list}" 0 project)
if(NOT status STREQUAL "failed" OR NOT error MATCHES "ragged\\.csv: row 4 has 2 fields"
   OR NOT project STREQUAL "ragged")
  message(FATAL_ERROR "stored run: project '${project}', status '${status}', error '${error}'")
endif()

# --json still reports on stdout, and the exit code still says it failed.
execute_process(COMMAND "${MANTISSA}" train "${dir}/ragged.json" --db "${db}" --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
string(JSON status GET "${json}" status)
string(JSON error GET "${json}" error)
if(NOT rc EQUAL 1 OR NOT status STREQUAL "failed" OR NOT error MATCHES "row 4")
  message(FATAL_ERROR "train --json on a ragged CSV: exit ${rc}, status ${status}, error ${error}")
endif()

# A dataset file that is missing: named in the message.
file(WRITE "${dir}/missing.json" [=[
{"format": "mantissa-project", "version": 1, "name": "missing",
 "dataset": {"kind": "csv", "path": "nowhere.csv"},
 "model": {"nodes": [
   {"id": "input", "type": "Input", "params": {"shape": [2]}},
   {"id": "fc", "type": "Linear", "inputs": ["input"], "params": {"out_features": 2}},
   {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["fc"]}]}}
]=])
execute_process(COMMAND "${MANTISSA}" train "${dir}/missing.json" --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "nowhere\\.csv")
  message(FATAL_ERROR "train on a missing dataset: exit ${rc}: ${err}")
endif()
