# Ctrl-C (SIGINT) stops a training run at a step boundary: the process exits
# on its own, the run is stored as 'stopped' with its metrics and a final
# checkpoint (resume is covered by kill_and_resume). --tf32 and --no-graphs are recorded in
# the run's project snapshot (the CPU backend ignores both).
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()
set(dir "${WORK_DIR}/ctrl_c_and_tf32")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")
set(project "${SOURCE_DIR}/projects/spirals.json")

execute_process(
  COMMAND sh -c "\"$0\" train \"$1\" --epochs 2000 --tf32 --no-graphs --db \"$2\" >/dev/null 2>\"$3\" &
pid=$!
i=0
while [ $i -lt 300 ]; do
  sleep 0.1
  n=$(\"$0\" runs metrics 1 --csv --db \"$2\" 2>/dev/null | wc -l)
  if [ \"$n\" -ge 50 ]; then break; fi
  i=$((i+1))
done
kill -INT $pid
wait $pid
echo $?" "${MANTISSA}" "${project}" "${db}" "${dir}/stderr.txt"
  RESULT_VARIABLE rc OUTPUT_VARIABLE exit_code)
string(STRIP "${exit_code}" exit_code)
file(READ "${dir}/stderr.txt" err)
if(NOT rc EQUAL 0 OR NOT exit_code STREQUAL "0")
  message(FATAL_ERROR "train after SIGINT exited with '${exit_code}' (shell ${rc}):\n${err}")
endif()
if(NOT err MATCHES "stopping after the current step")
  message(FATAL_ERROR "no notice of the stop on stderr:\n${err}")
endif()

execute_process(COMMAND "${MANTISSA}" runs show 1 --json --db "${db}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE show ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "runs show: exit ${rc}: ${err}")
endif()
string(JSON status GET "${show}" status)
string(JSON steps GET "${show}" steps_recorded)
string(JSON checkpoints LENGTH "${show}" checkpoints)
string(JSON tf32 ERROR_VARIABLE tf32_err GET "${show}" project_snapshot training allow_tf32)
string(JSON graphs ERROR_VARIABLE graphs_err GET "${show}" project_snapshot training cuda_graphs)
if(NOT status MATCHES "^stopped$" OR steps LESS 50 OR checkpoints LESS 1)
  message(FATAL_ERROR "after Ctrl-C: status ${status}, ${steps} steps, ${checkpoints} checkpoints")
endif()
if(NOT tf32 MATCHES "^(ON|true|1)$")
  message(FATAL_ERROR "--tf32 is not in the run's project snapshot (allow_tf32: ${tf32})")
endif()
if(NOT graphs MATCHES "^(OFF|false|0)$")
  message(FATAL_ERROR "--no-graphs is not in the run's project snapshot (cuda_graphs: ${graphs})")
endif()
