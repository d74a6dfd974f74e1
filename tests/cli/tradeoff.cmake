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

# Divergence from fp32 as an axis: float32 is at 0, bf16 beyond it; on the
# wasted-steps axis the what-if predicts mixed fp16 from both runs' records.
mantissa_ok(d tradeoff --group "${group}" --x divergence --json --db "${db}")
string(JSON g0 GET "${d}" groups 0 label)
string(JSON g1 GET "${d}" groups 1 label)
string(JSON d0 GET "${d}" groups 0 x mean)
string(JSON d1 GET "${d}" groups 1 x mean)
if(g0 STREQUAL "float32")
  set(fp32_d ${d0})
  set(bf16_d ${d1})
else()
  set(fp32_d ${d1})
  set(bf16_d ${d0})
endif()
if(NOT fp32_d EQUAL 0 OR NOT bf16_d GREATER 0)
  message(FATAL_ERROR "divergence axis: float32 ${fp32_d}, bf16 ${bf16_d}\n${d}")
endif()
mantissa_ok(w tradeoff --group "${group}" --x wasted_steps --json --db "${db}")
string(JSON ng LENGTH "${w}" groups)
set(found 0)
math(EXPR last "${ng} - 1")
foreach(i RANGE ${last})
  string(JSON label GET "${w}" groups ${i} label)
  string(JSON np LENGTH "${w}" groups ${i} predicted)
  if(label STREQUAL "mixed_float16" AND np EQUAL 2)
    set(found 1)
  endif()
endforeach()
if(NOT found)
  message(FATAL_ERROR "no predicted mixed_float16 points from the two runs:\n${w}")
endif()

foreach(case "--x;speed;unknown axis 'speed'" "--group;nope;no runs in group 'nope'")
  list(POP_BACK case want)
  execute_process(COMMAND "${MANTISSA}" tradeoff ${case} --db "${db}" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${want}")
    message(FATAL_ERROR "tradeoff ${case}: exit ${rc}, stderr: ${err}")
  endif()
endforeach()
