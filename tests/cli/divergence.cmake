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
# Every fingerprint measure is compared, and a float32 rerun of the reference
# has bit-identical weights at every step.
string(JSON nmeasures LENGTH "${b}" measures)
string(JSON m3 GET "${b}" measures 3 name)
if(NOT nmeasures EQUAL 4 OR NOT m3 STREQUAL "weights")
  message(FATAL_ERROR "divergence measures: ${nmeasures}, the fourth ${m3}")
endif()
mantissa_ok(json train "${SOURCE_DIR}/projects/mnist-mlp.json" --policy float32 --steps 150
            --lr 0.002 --db "${db}" --json)
string(JSON rerun GET "${json}" run_id)
mantissa_ok(r divergence ${rerun} --reference ${ref} --twin ${twin} --json --db "${db}")
string(JSON r_same GET "${r}" identical_until)
string(JSON r_first GET "${r}" first_divergent)
string(JSON h_same GET "${h}" identical_until)
if(NOT r_same EQUAL 150 OR NOT (r_first STREQUAL "" OR r_first STREQUAL "null") OR NOT h_same EQUAL 0)
  message(FATAL_ERROR "a float32 rerun should match bit for bit: identical until ${r_same}, "
                      "first divergent ${r_first}; float16 identical until ${h_same}")
endif()
if(h_first STREQUAL "" OR h_first STREQUAL "null" OR NOT b_within GREATER h_first OR NOT nsteps EQUAL 150)
  message(FATAL_ERROR "float16 should leave the band before bf16:\nbf16: within until ${b_within}\n"
                      "float16: first divergent ${h_first}")
endif()
# The probe: float16's first divergent step trained again from the start
# reproduces the recorded loss, and every op is compared with fp32's.
mantissa_ok(pr divergence ${fp16} --reference ${ref} --twin ${twin} --probe --json --db "${db}")
string(JSON p_step GET "${pr}" probe step)
string(JSON p_same GET "${pr}" probe reproduced)
string(JSON p_ops LENGTH "${pr}" probe ops)
string(JSON p_op0 GET "${pr}" probe ops 0 what)
if(NOT p_step EQUAL h_first OR NOT p_same STREQUAL "ON" OR p_ops LESS 10)
  message(FATAL_ERROR "probe of step ${h_first}: step ${p_step}, reproduced ${p_same}, "
                      "${p_ops} ops (${p_op0} first)")
endif()
mantissa_ok(text divergence ${fp16} --reference ${ref} --twin ${twin} --db "${db}")
if(NOT text MATCHES "its loss leaves the noise band at step ${h_first}")
  message(FATAL_ERROR "divergence:\n${text}")
endif()

foreach(case "${fp16};--reference;${bf16};--twin;${twin};is mixed_bfloat16, not float32"
             "${fp16};--reference;${ref};--twin;${twin};--probe-step;999;run ${fp16} has no step 999"
             "${fp16};--reference;${ref};--twin;${twin};--probe-step;0;a step is a whole number from 1 up"
             "${fp16};--reference;${ref};--twin;${ref};are both run ${ref}"
             "${rerun};--reference;${ref};--twin;${twin};--probe;stays within the noise band"
             "${fp16};--reference;${ref};--twin;999;no run 999")
  list(POP_BACK case want)
  mantissa_refuses("${want}" divergence ${case} --db "${db}")
endforeach()
