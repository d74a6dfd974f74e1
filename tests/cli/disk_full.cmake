# No room to write (a file-size limit stands in for a full disk): training
# into the database fails with a message that says so, the run is stored as
# failed, the runs before it are untouched, and an export that does not fit
# leaves the file that was there.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()
set(dir "${WORK_DIR}/disk_full")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

execute_process(COMMAND "${MANTISSA}" train "${SOURCE_DIR}/projects/spirals.json" --steps 50
                        --db "${db}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "first run: ${err}")
endif()

# 300 KiB per file: the database holds the first run, not the wide model's
# checkpoints.
file(WRITE "${dir}/wide.json" "{
  \"format\": \"mantissa-project\", \"version\": 1, \"name\": \"wide\",
  \"dataset\": {\"kind\": \"spirals\", \"samples\": 512, \"classes\": 2, \"seed\": 3},
  \"model\": {\"nodes\": [
    {\"id\": \"input\", \"type\": \"Input\", \"params\": {\"shape\": [2]}},
    {\"id\": \"fc1\", \"type\": \"Linear\", \"inputs\": [\"input\"], \"params\": {\"out_features\": 512}},
    {\"id\": \"act\", \"type\": \"Tanh\", \"inputs\": [\"fc1\"]},
    {\"id\": \"fc2\", \"type\": \"Linear\", \"inputs\": [\"act\"], \"params\": {\"out_features\": 512}},
    {\"id\": \"fc3\", \"type\": \"Linear\", \"inputs\": [\"fc2\"], \"params\": {\"out_features\": 2}},
    {\"id\": \"loss\", \"type\": \"SoftmaxCrossEntropy\", \"inputs\": [\"fc3\"]}]},
  \"training\": {\"policy\": \"float32\", \"batch_size\": 32, \"steps\": 40, \"seed\": 1,
                \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.001}}
}")
execute_process(COMMAND sh -c "ulimit -f 300; exec \"$0\" train \"$1\" --db \"$2\""
                        "${MANTISSA}" "${dir}/wide.json" "${db}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "training into a database with no room succeeded")
endif()
if(NOT err MATCHES "runs.db: cannot write: the file-size limit is reached; what was stored before is intact")
  message(FATAL_ERROR "unclear message for a full disk:\n${err}")
endif()

execute_process(COMMAND "${MANTISSA}" runs list --json --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE runs ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "runs list after the full disk: ${err}")
endif()
string(JSON n LENGTH "${runs}")
if(NOT n EQUAL 2)
  message(FATAL_ERROR "expected 2 runs, got ${n}:\n${runs}")
endif()
foreach(i 0 1)
  string(JSON id GET "${runs}" ${i} id)
  string(JSON status GET "${runs}" ${i} status)
  string(JSON steps GET "${runs}" ${i} steps_recorded)
  if(id EQUAL 2 AND NOT status STREQUAL "failed")
    message(FATAL_ERROR "the run that hit the full disk is '${status}', not failed:\n${runs}")
  endif()
  if(id EQUAL 1 AND (NOT status STREQUAL "finished" OR NOT steps EQUAL 50))
    message(FATAL_ERROR "the run before the full disk changed:\n${runs}")
  endif()
endforeach()

# An export that does not fit leaves what was there: the wide model, trained
# with room, is a megabyte of weights.
execute_process(COMMAND "${MANTISSA}" train "${dir}/wide.json" --db "${db}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the wide model with room: ${err}")
endif()
file(WRITE "${dir}/weights.safetensors" "kept")
execute_process(COMMAND sh -c "ulimit -f 200; exec \"$0\" export 3 --format safetensors -o \"$1\" --db \"$2\""
                        "${MANTISSA}" "${dir}/weights.safetensors" "${db}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
file(READ "${dir}/weights.safetensors" kept)
if(rc EQUAL 0 OR NOT kept STREQUAL "kept")
  message(FATAL_ERROR "an export with no room replaced the file (exit ${rc}): ${err}")
endif()
if(NOT err MATCHES "weights.safetensors: cannot write: the file-size limit is reached")
  message(FATAL_ERROR "unclear message for an export with no room:\n${err}")
endif()
