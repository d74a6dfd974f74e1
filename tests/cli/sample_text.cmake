# A byte-level language model end to end: a text file with a separate
# validation file, `mantissa train` on it, `mantissa evaluate` (token
# accuracy), and `mantissa sample` (the same seed gives the same text); a
# model on features and bad flags are refused with one line naming them.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/sample_text")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")

string(REPEAT "abcd efgh. " 60 corpus)
file(WRITE "${dir}/train.txt" "${corpus}")
string(REPEAT "abcd efgh. " 10 held_out)
file(WRITE "${dir}/valid.txt" "${held_out}")
file(WRITE "${dir}/lm.json" [=[{
  "format": "mantissa-project", "version": 1, "name": "tiny-lm",
  "dataset": {"kind": "text", "path": "train.txt", "validation_path": "valid.txt", "context": 16},
  "model": {"nodes": [
    {"id": "in", "type": "Input", "params": {"shape": [16], "tokens": true}},
    {"id": "embed", "type": "Embedding", "inputs": ["in"], "params": {"vocab": 256, "width": 16}},
    {"id": "pos", "type": "PositionalEmbedding", "inputs": ["embed"], "params": {"max_length": 16}},
    {"id": "ln", "type": "LayerNorm", "inputs": ["pos"]},
    {"id": "attn", "type": "MultiHeadAttention", "inputs": ["ln"], "params": {"heads": 2}},
    {"id": "res", "type": "Add", "inputs": ["pos", "attn"]},
    {"id": "head", "type": "Linear", "inputs": ["res"], "params": {"out_features": 256}},
    {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]},
  "training": {"policy": "mixed_bfloat16", "batch_size": 8, "steps": 200,
               "optimizer": {"type": "adamw", "lr": 0.01}}
}]=])

function(mantissa_fails expected)
  execute_process(COMMAND "${MANTISSA}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "mantissa ${ARGN}: exit ${rc}, expected an error matching "
                        "'${expected}'\nstderr: ${err}")
  endif()
endfunction()

mantissa_ok(json train "${dir}/lm.json" --db "${db}" --json)
string(JSON run_id GET "${json}" run_id)
string(JSON status GET "${json}" status)
string(JSON accuracy GET "${json}" final_val_accuracy)
if(NOT status STREQUAL "finished")
  message(FATAL_ERROR "train: ${status}\n${json}")
endif()
# The text repeats every 11 bytes: a model that learned anything predicts
# most of the next bytes of the held-out file.
if(accuracy LESS 0.5)
  message(FATAL_ERROR "train: token accuracy ${accuracy} after 200 steps on a repeating text")
endif()

mantissa_ok(eval evaluate ${run_id} --db "${db}")
if(NOT eval MATCHES "token accuracy [0-9.]+% \\([0-9,]+ of 96 tokens right\\)")
  message(FATAL_ERROR "evaluate: no token accuracy over the 6 windows of 16 bytes:\n${eval}")
endif()

mantissa_ok(a sample ${run_id} --db "${db}" --prompt "abcd " --tokens 24 --seed 3 --json)
mantissa_ok(b sample ${run_id} --db "${db}" --prompt "abcd " --tokens 24 --seed 3 --json)
string(JSON text_a GET "${a}" text)
string(JSON text_b GET "${b}" text)
string(LENGTH "${text_a}" length)
if(NOT text_a STREQUAL text_b OR NOT length EQUAL 24)
  message(FATAL_ERROR "sample: '${text_a}' and '${text_b}' (${length} bytes) for one seed")
endif()
mantissa_ok(greedy sample ${run_id} --db "${db}" --prompt "abcd " --tokens 11 --temperature 0)
if(NOT greedy MATCHES "^abcd efgh\\. abcd")
  message(FATAL_ERROR "sample --temperature 0 did not continue the pattern:\n${greedy}")
endif()

# Trained with the project named relative to its own folder, the run is read
# again from elsewhere: its stored dataset paths (the validation file too)
# are absolute.
execute_process(COMMAND "${MANTISSA}" train lm.json --db "${db}" --steps 2 --json
                WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc OUTPUT_VARIABLE relative ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "train lm.json in its folder: exit ${rc}\n${err}")
endif()
string(JSON relative_id GET "${relative}" run_id)
file(MAKE_DIRECTORY "${dir}/elsewhere")
execute_process(COMMAND "${MANTISSA}" evaluate ${relative_id} --db "${db}"
                WORKING_DIRECTORY "${dir}/elsewhere" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "of 96 tokens right")
  message(FATAL_ERROR "evaluate from another folder: exit ${rc}\n${out}\n${err}")
endif()

mantissa_fails("temperature must be 0 or more, got -1\n" sample ${run_id} --db "${db}" --temperature -1)
# A continuation to read, not a stream without end (99,999,999,999 ran until killed).
mantissa_fails("tokens must be from 0 to 100000, got 99999999999\n"
               sample ${run_id} --db "${db}" --tokens 99999999999)
# A negative seed is refused, not wrapped around to 2^64 - 1 (as train's).
mantissa_fails("--seed: must be a whole number >= 0, got -1" sample ${run_id} --db "${db}" --seed -1)
mantissa_fails("--seed: must be a whole number >= 0, got -3"
               train "${dir}/lm.json" --db "${db}" --seed -3)
mantissa_fails("run 99 " sample 99 --db "${db}")
mantissa_ok(spirals train "${SOURCE_DIR}/projects/spirals.json" --steps 1 --db "${db}" --json)
string(JSON spirals_id GET "${spirals}" run_id)
mantissa_fails("run ${spirals_id} is not a language model: its input is not token ids"
               sample ${spirals_id} --db "${db}")

# A text shorter than one window is named with its size (here its training
# part: a fifth of the 4 bytes validates).
file(WRITE "${dir}/short.txt" "tiny")
file(READ "${dir}/lm.json" project)
string(REPLACE "\"path\": \"train.txt\", \"validation_path\": \"valid.txt\"" "\"path\": \"short.txt\""
       project "${project}")
file(WRITE "${dir}/short.json" "${project}")
mantissa_fails("short.txt \\(its first 3 bytes\\): 3 bytes, shorter than one window of 17" train "${dir}/short.json"
               --db "${db}")
