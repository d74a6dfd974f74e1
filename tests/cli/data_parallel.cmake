# Data-parallel training from the command line (docs/data-parallel.md), Gloo
# over loopback: `train --processes 2` gives, step for step, the loss, scale,
# skips, norms and weight checksum of `--virtual-ranks 2` (with an inf
# planted on rank 1 at step 5, so that a step is skipped), and records its
# ranks; a W=2 run killed mid-way resumes at W=2 to the same bits and at W=1
# close to them; a rank that never joins, ranks that disagree, and bad flags
# each get one line naming what is wrong.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")

set(dir "${WORK_DIR}/data_parallel")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
set(db "${dir}/runs.db")
set(spirals "${SOURCE_DIR}/projects/spirals.json")
# One thread per rank and for the one process: the kernels then split their
# sums alike, which bit-identity needs.
set(ENV{OMP_NUM_THREADS} 1)
set(common --policy mixed_float16 --steps 30 --batch 128 --db "${db}" --json)

# The columns that must agree bit for bit: step .. lr, and update norm,
# weight norm, weights checksum (times and memory differ).
function(trajectory run out_var)
  mantissa_ok(csv runs metrics ${run} --csv --db "${db}")
  string(REPLACE "\n" ";" lines "${csv}")
  set(kept "")
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^step,")
      continue()
    endif()
    string(REPLACE "," ";" cells "${line}")
    list(SUBLIST cells 0 9 head)
    list(SUBLIST cells 17 3 tail)
    list(JOIN head "," head)
    list(JOIN tail "," tail)
    string(APPEND kept "${head}|${tail}\n")
  endforeach()
  set(${out_var} "${kept}" PARENT_SCOPE)
endfunction()

set(ENV{MANTISSA_FAULT} "inf@5:1")
mantissa_ok(json train "${spirals}" ${common} --processes 2)
string(JSON dp GET "${json}" run_id)
set(ENV{MANTISSA_FAULT} "inf@5:0")  # one process is rank 0: the inf lands in the sum
mantissa_ok(json train "${spirals}" ${common} --virtual-ranks 2)
string(JSON one GET "${json}" run_id)
unset(ENV{MANTISSA_FAULT})
trajectory(${dp} dp_steps)
trajectory(${one} one_steps)
if(NOT dp_steps STREQUAL one_steps)
  message(FATAL_ERROR "2 processes and 2 virtual ranks differ:\n${dp_steps}\nagainst\n${one_steps}")
endif()
if(NOT dp_steps MATCHES "\n5,0,[^,]*,[^,]*,1,1,")
  message(FATAL_ERROR "step 5 was not skipped:\n${dp_steps}")
endif()
mantissa_ok(shown runs show ${dp} --json --db "${db}")
string(JSON world GET "${shown}" ranks world_size)
string(JSON engine GET "${shown}" ranks engine)
if(NOT world EQUAL 2 OR NOT engine STREQUAL "gloo")
  message(FATAL_ERROR "the run does not record its ranks:\n${shown}")
endif()

# Killed at step 13 (rank 1, SIGKILL), checkpoints every 5 steps: stored as
# failed naming the rank and the signal; resumed from step 10 at W=2 it ends
# with the bits of an uninterrupted W=2 run; at W=1 with the same global
# batch, with its loss within float32's reach.
set(killable --policy float32 --steps 20 --batch 64 --checkpoint-every 5 --db "${db}")
mantissa_ok(json train "${spirals}" ${killable} --processes 2 --json)
string(JSON whole GET "${json}" run_id)
foreach(world 2 1)
  set(ENV{MANTISSA_FAULT} "kill@13:1")
  execute_process(COMMAND "${MANTISSA}" train "${spirals}" ${killable} --processes 2
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  unset(ENV{MANTISSA_FAULT})
  if(rc EQUAL 0 OR NOT err MATCHES "run ([0-9]+) failed: rank 1 was killed by signal 9 \\(SIGKILL\\)")
    message(FATAL_ERROR "a killed rank: exit ${rc}\nstderr: ${err}")
  endif()
  set(killed ${CMAKE_MATCH_1})
  mantissa_ok(shown runs show ${killed} --json --db "${db}")
  string(JSON error GET "${shown}" error)
  if(NOT error MATCHES "^rank 1 was killed by signal 9")
    message(FATAL_ERROR "the stored run does not say which rank died: ${error}")
  endif()
  if(world EQUAL 2)
    mantissa_ok(json resume ${killed} --processes 2 --db "${db}" --json)
  else()
    mantissa_ok(json resume ${killed} --db "${db}" --json)
  endif()
  string(JSON status GET "${json}" status)
  string(JSON loss_${world} GET "${json}" final_train_loss)
  if(NOT status STREQUAL "finished")
    message(FATAL_ERROR "resume at W=${world}: ${json}")
  endif()
  trajectory(${killed} resumed_${world})
endforeach()
trajectory(${whole} whole_steps)
if(NOT resumed_2 STREQUAL whole_steps)
  message(FATAL_ERROR "resumed at W=2, not the uninterrupted run:\n${resumed_2}\nagainst\n${whole_steps}")
endif()
string(JSON loss_whole GET "${json}" final_train_loss)
mantissa_ok(json runs show ${whole} --json --db "${db}")
string(JSON loss_whole GET "${json}" summary final_train_loss)
string(SUBSTRING "${loss_whole}" 0 6 a)
string(SUBSTRING "${loss_1}" 0 6 b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "resumed at W=1: final loss ${loss_1} against ${loss_whole}")
endif()

# With --json a failed launched run prints one JSON document, status failed:
# rank 0's own when rank 1 died, the launcher's when rank 0 did.
foreach(victim 1 0)
  set(ENV{MANTISSA_FAULT} "kill@3:${victim}")
  execute_process(COMMAND "${MANTISSA}" train "${spirals}" --steps 10 --db "${db}" --processes 2 --json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  unset(ENV{MANTISSA_FAULT})
  string(REGEX MATCHALL "\"status\": \"failed\"" statuses "${out}")
  list(LENGTH statuses n)
  if(rc EQUAL 0 OR NOT n EQUAL 1)
    message(FATAL_ERROR "rank ${victim} killed, --json: exit ${rc}, ${n} documents:\n${out}")
  endif()
endforeach()

# A launcher killed with SIGKILL (alone: --foreground) takes its ranks with it and leaves its
# folder (mantissa-launch-PID-XXXXXX, for rank 0's run id) in the temporary
# folder; the next launch removes that, and nothing that only looks alike.
set(tmp "${dir}/tmp")
file(REMOVE_RECURSE "${tmp}")
file(MAKE_DIRECTORY "${tmp}")
file(WRITE "${tmp}/mantissa-launch-notes" "")
set(ENV{TMPDIR} "${tmp}")
execute_process(COMMAND timeout --foreground -s KILL 4 "${MANTISSA}" train "${spirals}" --steps 1000000
                        --db "${dir}/killed.db" --processes 2
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
file(GLOB left RELATIVE "${tmp}" "${tmp}/mantissa-launch-*-*")
list(LENGTH left n)
if(NOT rc EQUAL 137 OR NOT n EQUAL 1)
  message(FATAL_ERROR "the launcher killed: exit ${rc}, left behind: ${left}")
endif()
mantissa_ok(json train "${spirals}" --steps 2 --db "${dir}/killed.db" --processes 2 --json)
unset(ENV{TMPDIR})
file(GLOB left RELATIVE "${tmp}" "${tmp}/*")
if(NOT left STREQUAL "mantissa-launch-notes")
  message(FATAL_ERROR "after the next launch the temporary folder holds: ${left}")
endif()

# A rank that never joins is named.
execute_process(COMMAND "${MANTISSA}" train "${spirals}" --steps 2 --db "${db}" --rank 0
                        --world-size 2 --master-port 29631 --collective-timeout 1
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "rank 1 of 2 never joined the rendezvous at 127.0.0.1:29631 within 1 s")
  message(FATAL_ERROR "a rank that never joins: exit ${rc}, stderr: ${err}")
endif()

# Ranks that train different things are refused before step 1 (both run at
# once: execute_process starts the commands of a pipeline together).
execute_process(COMMAND "${MANTISSA}" train "${spirals}" --steps 2 --db "${dir}/other.db" --rank 1
                        --world-size 2 --master-port 29632 --policy mixed_bfloat16
                COMMAND "${MANTISSA}" train "${spirals}" --steps 2 --db "${db}" --rank 0
                        --world-size 2 --master-port 29632
                RESULTS_VARIABLE rcs ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rcs STREQUAL "1;1" OR NOT err MATCHES "the ranks disagree on the policy: rank 1 has mixed_bfloat16, rank 0 has float32")
  message(FATAL_ERROR "mismatched ranks: exits ${rcs}, stderr: ${err}")
endif()
if(EXISTS "${dir}/other.db")
  message(FATAL_ERROR "rank 1 wrote a database; only rank 0 may")
endif()

# Bad input: one line naming the flag or variable.
foreach(case
    "--processes;-1|--processes must be a number of ranks from 1 to 64, got -1"
    "--processes;0|--processes must be a number of ranks from 1 to 64, got 0"
    "--processes;65|--processes must be a number of ranks from 1 to 64, got 65"
    "--devices;0,x|--devices: 'x' is not a GPU number"
    "--processes;3;--devices;0,1|--processes 3 and --devices 0,1 disagree"
    "--processes;2;--reduce-order;fast|reduce order 'fast': write ring"
    "--processes;2;--collective-timeout;0|--collective-timeout must be a positive number"
    "--rank;1|--world-size is needed with --rank"
    "--processes;2;--virtual-ranks;2|and several processes do not combine")
  string(REPLACE "|" ";" parts "${case}")
  list(POP_BACK parts expected)
  mantissa_refuses("${expected}" train "${spirals}" --steps 2 --db "${db}" ${parts})
endforeach()
# --devices with one GPU is one process on it: where there is no GPU, the
# refusal names cuda:0 (so the flag reached the backend).
execute_process(COMMAND "${MANTISSA}" train "${spirals}" --steps 2 --no-store --devices 0
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 AND NOT err MATCHES "device \"cuda:0\"[^\n]* is not available")
  message(FATAL_ERROR "--devices 0: exit ${rc}, stderr: ${err}")
endif()
# Several GPUs of which one is missing (cuda:99 is on no machine we run on):
# one line from the launcher before any rank starts, and no run stored.
execute_process(COMMAND "${MANTISSA}" runs list --db "${db}" --json OUTPUT_VARIABLE runs_before)
mantissa_refuses("is not available" train "${spirals}" --steps 2 --db "${db}" --devices 0,99)
execute_process(COMMAND "${MANTISSA}" train "${spirals}" --steps 2 --db "${db}" --devices 0,99
                ERROR_VARIABLE err)
if(NOT err MATCHES "^mantissa: --devices 0,99: cuda:(0|99) is not available: ")
  message(FATAL_ERROR "--devices 0,99: stderr '${err}'")
endif()
execute_process(COMMAND "${MANTISSA}" runs list --db "${db}" --json OUTPUT_VARIABLE runs_after)
if(NOT runs_after STREQUAL runs_before)
  message(FATAL_ERROR "--devices 0,99 stored a run:\n${runs_after}")
endif()
# Bad variables: a partial torchrun set, a fault that is none.
foreach(case "RANK|0|torchrun: RANK is set but WORLD_SIZE is not"
             "MANTISSA_FAULT|boom@3|MANTISSA_FAULT: 'boom@3' is not a fault")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 variable)
  list(GET parts 1 value)
  list(GET parts 2 expected)
  set(ENV{${variable}} "${value}")
  mantissa_refuses("${expected}" train "${spirals}" --steps 2 --db "${db}")
  unset(ENV{${variable}})
endforeach()

# Synchronised BatchNorm (--sync-batch-norm): 2 processes end where one
# process with the whole batch does (float32, 10 steps); per-rank statistics
# do not. spirals with a BatchNorm after fc1.
file(READ "${spirals}" text)
string(REPLACE [=[{"id": "tanh1", "type": "Tanh", "inputs": ["fc1"]}]=]
       [=[{"id": "bn1", "type": "BatchNorm", "inputs": ["fc1"]},
      {"id": "tanh1", "type": "Tanh", "inputs": ["bn1"]}]=] text "${text}")
set(spirals_bn "${dir}/spirals-bn.json")
file(WRITE "${spirals_bn}" "${text}")
set(bn_common --policy float32 --steps 10 --batch 128 --db "${db}" --json)
set(bn_losses "")
foreach(args IN ITEMS "--processes;2;--sync-batch-norm" "--name;whole-batch" "--processes;2")
  mantissa_ok(json train "${spirals_bn}" ${bn_common} ${args})
  string(JSON loss GET "${json}" final_train_loss)
  string(SUBSTRING "${loss}" 0 6 loss)
  list(APPEND bn_losses "${loss}")
endforeach()
list(GET bn_losses 0 synced)
list(GET bn_losses 1 whole)
list(GET bn_losses 2 per_rank)
if(NOT synced STREQUAL whole OR per_rank STREQUAL whole)
  message(FATAL_ERROR "BatchNorm over 2 ranks: synchronised ${synced}, per rank ${per_rank}, "
                      "one process ${whole}")
endif()

# bench --processes 1,2: one row per world size, efficiency against one rank,
# and for 2 ranks the time of the gradient sum.
mantissa_ok(json bench mlp --processes 1,2 --policies float32 --steps 6 --warmup 1 --json)
string(JSON n LENGTH "${json}" results)
string(JSON world GET "${json}" results 1 world)
string(JSON batch GET "${json}" results 1 global_batch)
string(JSON efficiency GET "${json}" results 1 efficiency)
string(JSON comm GET "${json}" results 1 comm_s)
if(NOT n EQUAL 2 OR NOT world EQUAL 2 OR NOT batch EQUAL 256 OR NOT efficiency GREATER 0
   OR NOT comm GREATER 0)
  message(FATAL_ERROR "bench --processes 1,2:\n${json}")
endif()
