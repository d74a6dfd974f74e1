# Divergence from fp32 from the command line: a float32 mnist-mlp run (SGD),
# its noise twin (--noise-twin), mixed bf16 and pure float16 at a small
# learning rate; float16, whose updates round away against fp16 weights,
# leaves the noise band before bf16 does; bad input gets one line.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/divergence")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

set(ids "")
foreach(args "--policy;float32" "--policy;float32;--noise-twin" "--policy;mixed_bfloat16"
             "--policy;float16")
  mantissa_ok(json train "${SOURCE_DIR}/projects/mnist-mlp.json" ${args} --steps 150 --lr 0.002
              --db "${db}" --json)
  string(JSON id GET "${json}" run_id)
  list(APPEND ids ${id})
endforeach()
list(GET ids 0 ref)
list(GET ids 1 twin)
list(GET ids 2 bf16)
list(GET ids 3 fp16)

mantissa_ok(b divergence ${bf16} --reference ${ref} --twin ${twin} --json --db "${db}")
mantissa_ok(h divergence ${fp16} --reference ${ref} --twin ${twin} --json --db "${db}")
string(JSON b_within GET "${b}" within_until)
string(JSON h_first GET "${h}" first_divergent)
string(JSON nsteps LENGTH "${b}" steps)
if(h_first STREQUAL "null" OR NOT b_within GREATER h_first OR NOT nsteps EQUAL 150)
  message(FATAL_ERROR "float16 should leave the band before bf16:\nbf16: within until ${b_within}\n"
                      "float16: first divergent ${h_first}")
endif()
mantissa_ok(text divergence ${fp16} --reference ${ref} --twin ${twin} --db "${db}")
if(NOT text MATCHES "leaves the noise band at step ${h_first}")
  message(FATAL_ERROR "divergence:\n${text}")
endif()

foreach(case "${fp16};--reference;${bf16};--twin;${twin};is mixed_bfloat16, not float32"
             "${fp16};--reference;${ref};--twin;999;no run 999")
  list(POP_BACK case want)
  execute_process(COMMAND "${MANTISSA}" divergence ${case} --db "${db}" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${want}")
    message(FATAL_ERROR "divergence ${case}: exit ${rc}, stderr: ${err}")
  endif()
endforeach()
