# The trade-off from the command line: Compare Policies' group of spirals
# runs as points on two axes, with the frontier marked; another pair of axes;
# bad input gets one line.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/tradeoff")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

mantissa_ok(cmp compare "${SOURCE_DIR}/projects/spirals.json" --policies float32,mixed_bfloat16
            --steps 40 --db "${db}" --json)
mantissa_ok(list runs list --json --db "${db}")
string(JSON group GET "${list}" 0 group)
if(group STREQUAL "")
  message(FATAL_ERROR "compare gave its runs no group:\n${list}")
endif()

mantissa_ok(t tradeoff --group "${group}" --json --db "${db}")
string(JSON ngroups LENGTH "${t}" groups)
string(JSON x GET "${t}" x)
string(JSON y GET "${t}" y)
string(JSON first_frontier GET "${t}" groups 0 frontier)
string(JSON mean GET "${t}" groups 0 x mean)
if(NOT ngroups EQUAL 2 OR NOT x STREQUAL "samples_per_s" OR NOT y STREQUAL "val_accuracy"
   OR NOT first_frontier OR NOT mean GREATER 0)
  message(FATAL_ERROR "tradeoff --json:\n${t}")
endif()
mantissa_ok(text tradeoff --group "${group}" --x peak_memory --y wasted_steps --db "${db}")
if(NOT text MATCHES "peak_memory" OR NOT text MATCHES "mixed_bfloat16" OR NOT text MATCHES "float32"
   OR NOT text MATCHES "the Pareto frontier")
  message(FATAL_ERROR "tradeoff:\n${text}")
endif()

foreach(case "--x;speed;unknown axis 'speed'" "--group;nope;no runs in group 'nope'")
  list(POP_BACK case want)
  execute_process(COMMAND "${MANTISSA}" tradeoff ${case} --db "${db}" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${want}")
    message(FATAL_ERROR "tradeoff ${case}: exit ${rc}, stderr: ${err}")
  endif()
endforeach()
