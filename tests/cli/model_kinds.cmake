# `mantissa model kinds`: every layer type with its parameters, as a table and
# as JSON, from the kinds' descriptors.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

execute_process(COMMAND "${MANTISSA}" model kinds
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "model kinds: exit ${rc}\n${err}")
endif()
foreach(expected "Conv2d  \\(Convolution; inputs: one\\)" "  out_channels  integer +required"
                 "  stride +integer or \\[h, w\\] +the kernel size" "  p +number +0.5 +in \\[0, 1\\)"
                 "Add  \\(Structure; inputs: two or more\\)")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "model kinds: no line matching '${expected}' in:\n${out}")
  endif()
endforeach()

execute_process(COMMAND "${MANTISSA}" model kinds --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "model kinds --json: exit ${rc}\n${err}")
endif()
string(JSON count LENGTH "${json}" kinds)
if(NOT count EQUAL 25)
  message(FATAL_ERROR "model kinds --json: ${count} kinds, expected 25")
endif()
string(JSON first GET "${json}" kinds 0 type)
string(JSON key GET "${json}" kinds 0 params 0 key)
string(JSON loss GET "${json}" kinds 17 loss)
string(JSON attention GET "${json}" kinds 21 type)
string(JSON attention_category GET "${json}" kinds 21 category)
if(NOT attention STREQUAL "MultiHeadAttention" OR NOT attention_category STREQUAL "Sequence")
  message(FATAL_ERROR "model kinds --json: kind 21 is '${attention}' in '${attention_category}'")
endif()
if(NOT first STREQUAL "Input" OR NOT key STREQUAL "shape" OR NOT loss)
  message(FATAL_ERROR "model kinds --json: first '${first}' ('${key}'), last is a loss: ${loss}")
endif()
