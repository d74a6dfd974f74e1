# A training process killed with SIGKILL mid-run leaves a readable database:
# the run is marked interrupted when the database is next opened, its metrics
# are there up to the last committed batch, and `mantissa resume` finishes it.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

set(dir "${WORK_DIR}/kill_and_resume")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")
set(project "${SOURCE_DIR}/projects/spirals.json")

# Train long enough to be caught mid-run; kill -9 once a checkpoint exists.
execute_process(
  COMMAND sh -c "\"$0\" train \"$1\" --epochs 200 --checkpoint-every 20 --db \"$2\" >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 300 ]; do
  sleep 0.1
  n=$(\"$0\" runs show 1 --json --db \"$2\" 2>/dev/null | grep -c '\"step\"' || true)
  if [ \"$n\" -ge 1 ]; then break; fi
  i=$((i+1))
done
kill -9 $pid
wait $pid 2>/dev/null
exit 0" "${MANTISSA}" "${project}" "${db}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "could not start and kill the training process (exit ${rc})")
endif()

execute_process(COMMAND "${MANTISSA}" runs show 1 --json --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE show ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "runs show after SIGKILL: exit ${rc}: ${err}")
endif()
string(JSON status GET "${show}" status)
if(NOT status STREQUAL "interrupted")
  message(FATAL_ERROR "a killed run must be 'interrupted', got '${status}':\n${show}")
endif()
execute_process(COMMAND "${MANTISSA}" runs metrics 1 --csv --db "${db}" OUTPUT_VARIABLE csv)
string(REGEX MATCHALL "\n" lines "${csv}")
list(LENGTH lines rows)
if(rows LESS 2)
  message(FATAL_ERROR "the killed run kept no step metrics:\n${csv}")
endif()

execute_process(COMMAND "${MANTISSA}" resume 1 --json --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "resume: exit ${rc}\n${err}")
endif()
string(JSON status GET "${json}" status)
if(NOT status STREQUAL "finished")
  message(FATAL_ERROR "resume must finish the run, got '${status}':\n${json}")
endif()
