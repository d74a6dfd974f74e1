# The command line's own surface: --help and --version exit 0 and print usage
# and the project's version; `devices` lists the CPU as a table and as JSON;
# every user error exits 1 with exactly one line on stderr and nothing on stdout.
foreach(var MANTISSA SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run with -D${var}=...")
  endif()
endforeach()

# --help: usage on stdout, every command group named, nothing on stderr.
execute_process(COMMAND "${MANTISSA}" --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
  message(FATAL_ERROR "--help: exit ${rc}, stderr: ${err}")
endif()
if(NOT out MATCHES "Usage: mantissa ")
  message(FATAL_ERROR "--help: no usage line:\n${out}")
endif()
foreach(command devices model train resume compare runs bench export)
  if(NOT out MATCHES "\n  ${command} ")
    message(FATAL_ERROR "--help does not list the '${command}' command:\n${out}")
  endif()
endforeach()

# A subcommand's --help is that command's usage.
execute_process(COMMAND "${MANTISSA}" train --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "Usage: mantissa train " OR NOT out MATCHES "--policy")
  message(FATAL_ERROR "train --help: exit ${rc}\n${out}${err}")
endif()

# --version: the version the build was configured with.
file(STRINGS "${SOURCE_DIR}/CMakeLists.txt" project_line REGEX "^project\\(mantissa VERSION ")
string(REGEX MATCH "VERSION ([0-9]+\\.[0-9]+\\.[0-9]+)" _ "${project_line}")
set(expected_version "${CMAKE_MATCH_1}")
if(expected_version STREQUAL "")
  message(FATAL_ERROR "no project version in ${SOURCE_DIR}/CMakeLists.txt")
endif()
execute_process(COMMAND "${MANTISSA}" --version RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
  message(FATAL_ERROR "--version: exit ${rc}, stderr: ${err}")
endif()
string(STRIP "${out}" out)
if(NOT out STREQUAL "mantissa ${expected_version}")
  message(FATAL_ERROR "--version printed '${out}', expected 'mantissa ${expected_version}'")
endif()

# devices: a table with an available cpu line.
execute_process(COMMAND "${MANTISSA}" devices RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "(^|\n)  cpu  [^\n]+")
  message(FATAL_ERROR "devices: exit ${rc}, no available cpu line:\n${out}${err}")
endif()

# devices --json: an array; the cpu entry is available and described.
execute_process(COMMAND "${MANTISSA}" devices --json RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "devices --json: exit ${rc}: ${err}")
endif()
string(JSON type TYPE "${json}")
string(JSON count LENGTH "${json}")
if(NOT type STREQUAL "ARRAY" OR count LESS 1)
  message(FATAL_ERROR "devices --json: expected a non-empty array:\n${json}")
endif()
set(cpu_found FALSE)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${json}" ${i} name)
  string(JSON available GET "${json}" ${i} available)
  string(JSON description GET "${json}" ${i} description)
  if(NOT available)
    string(JSON reason GET "${json}" ${i} reason)  # an unavailable device says why
    if(reason STREQUAL "")
      message(FATAL_ERROR "devices --json: '${name}' is unavailable without a reason")
    endif()
  endif()
  if(name STREQUAL "cpu")
    if(NOT available OR description STREQUAL "")
      message(FATAL_ERROR "devices --json: cpu is not listed as available:\n${json}")
    endif()
    set(cpu_found TRUE)
  endif()
endforeach()
if(NOT cpu_found)
  message(FATAL_ERROR "devices --json: no cpu device:\n${json}")
endif()

# User errors: exit 1, nothing on stdout, exactly one line on stderr that
# starts with "mantissa: " and matches what went wrong.
set(project "${SOURCE_DIR}/projects/spirals.json")
function(expect_one_line_error pattern)
  execute_process(COMMAND "${MANTISSA}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE ";" " " args "${ARGN}")
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "mantissa ${args}: expected exit 1, got ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "mantissa ${args}: expected nothing on stdout, got:\n${out}")
  endif()
  if(NOT err MATCHES "\n$")
    message(FATAL_ERROR "mantissa ${args}: stderr does not end its line: '${err}'")
  endif()
  string(REGEX REPLACE "\n$" "" line "${err}")
  if(line STREQUAL "" OR line MATCHES "\n")
    message(FATAL_ERROR "mantissa ${args}: expected exactly one line on stderr, got:\n${err}")
  endif()
  if(NOT line MATCHES "^mantissa: " OR NOT line MATCHES "${pattern}")
    message(FATAL_ERROR "mantissa ${args}: '${line}' does not match '${pattern}'")
  endif()
endfunction()

expect_one_line_error("--policy: unknown precision policy 'nope'" train "${project}" --policy nope)
expect_one_line_error("--policies: .*'nope'" compare "${project}" --policies float32,nope)
# Errors CLI11 finds while parsing carry their hint on the same line.
expect_one_line_error("--bogus.*mantissa train --help" train "${project}" --bogus)
expect_one_line_error("--steps.*abc" train "${project}" --steps abc)
expect_one_line_error("project is required.*mantissa train --help" train)
expect_one_line_error("--epochs excludes --steps" train "${project}" --steps 3 --epochs 2)
expect_one_line_error("subcommand is required.*mantissa --help")
expect_one_line_error("subcommand is required.*mantissa runs --help" runs)
expect_one_line_error("unknown command 'trian'" trian "${project}")
expect_one_line_error("--steps.*x" bench mlp --steps x)

# A command about recorded runs, pointed at a database that is not there,
# says so naming it and leaves no empty database behind; `runs list` has
# nothing to list.
set(nowhere "${WORK_DIR}/basics-nowhere.db")
file(REMOVE "${nowhere}")
foreach(command "runs;show;1" "runs;delete;1" "runs;metrics;1" "runs;numerics;1" "runs;manifest;1"
                "export;1;-o;${WORK_DIR}/w.safetensors" "evaluate;1" "sample;1;--prompt;hi"
                "explain;1;--step;3" "whatif;1;--init-scale;4" "advise;1" "tradeoff"
                "divergence;1;--reference;2;--twin;3" "resume;1")
  expect_one_line_error("${nowhere}: no run database here .*check --db\\)" ${command} --db "${nowhere}")
  if(EXISTS "${nowhere}")
    message(FATAL_ERROR "mantissa ${command} --db ${nowhere} created the database")
  endif()
endforeach()
execute_process(COMMAND "${CMAKE_COMMAND}" -E env "MANTISSA_DB=${nowhere}" "${MANTISSA}" runs show 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "no run database here .*check \\$MANTISSA_DB")
  message(FATAL_ERROR "runs show 1 under MANTISSA_DB=${nowhere}: exit ${rc}\n${out}${err}")
endif()
# Neither --db nor $MANTISSA_DB: the default place, and how to name another.
file(REMOVE_RECURSE "${WORK_DIR}/basics-data")
execute_process(COMMAND "${CMAKE_COMMAND}" -E env --unset=MANTISSA_DB "XDG_DATA_HOME=${WORK_DIR}/basics-data"
                        "${MANTISSA}" runs show 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err STREQUAL
   "mantissa: ${WORK_DIR}/basics-data/mantissa/runs.db: no run database here (train a run first, or pass --db)\n"
   OR EXISTS "${WORK_DIR}/basics-data/mantissa/runs.db")
  message(FATAL_ERROR "runs show 1 with the default database: exit ${rc}\n${out}${err}")
endif()
execute_process(COMMAND "${MANTISSA}" runs list --db "${nowhere}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "no runs: ${nowhere} does not exist yet\n" OR EXISTS "${nowhere}")
  message(FATAL_ERROR "runs list --db ${nowhere}: exit ${rc}\n${out}${err}")
endif()
execute_process(COMMAND "${MANTISSA}" runs list --json --db "${nowhere}" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "[]\n")
  message(FATAL_ERROR "runs list --json --db ${nowhere}: exit ${rc}\n${out}")
endif()

# An empty --db ("--db ''", an unset shell variable) is refused, never taken
# as the default database the user keeps their runs in.
set(ENV{MANTISSA_DB} "${nowhere}")
foreach(command "runs;list" "train;${SOURCE_DIR}/projects/spirals.json;--steps;2")
  # The empty argument is written out: a list passed on would drop it.
  execute_process(COMMAND "${MANTISSA}" ${command} --db ""
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1 OR NOT err MATCHES "^mantissa: --db: an empty path names no database")
    message(FATAL_ERROR "${command} --db '': exit ${rc}, stderr: ${err}")
  endif()
endforeach()
if(EXISTS "${nowhere}")
  message(FATAL_ERROR "an empty --db wrote the default database ${nowhere}")
endif()
unset(ENV{MANTISSA_DB})

# Without a validation split the result says so ("-"), not "val loss 0.0000";
# a run shorter than its 3 warm-up steps still has a rate, not 0 samples/s.
file(READ "${SOURCE_DIR}/projects/spirals.json" text)
string(REPLACE [=["seed": 7}]=] [=["seed": 7, "validation_fraction": 0}]=] text "${text}")
file(WRITE "${WORK_DIR}/basics-no-validation.json" "${text}")
execute_process(COMMAND "${MANTISSA}" train "${WORK_DIR}/basics-no-validation.json" --steps 2
                        --no-store
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "val loss -  val accuracy -"
   OR out MATCHES " 0 samples/s" OR NOT out MATCHES "[1-9][0-9,]* samples/s")
  message(FATAL_ERROR "train without validation, 2 steps: exit ${rc}\n${out}${err}")
endif()

# Option values checked before anything opens: a negative checkpoint step, a
# run id that is no number, and a run name that would break a table's line.
include("${CMAKE_CURRENT_LIST_DIR}/support/common.cmake")
mantissa_refuses("--checkpoint: must be a whole number >= 0, got -5"
                 evaluate 1 --checkpoint -5 --db "${nowhere}")
mantissa_refuses("'abc' is not a run id" runs show abc --db "${nowhere}")
execute_process(COMMAND "${MANTISSA}" train "${SOURCE_DIR}/projects/spirals.json" --steps 2
                        --name "two\nlines" --db "${WORK_DIR}/basics-names.db"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "--name: the name holds a line break at byte 4")
  message(FATAL_ERROR "train --name with a line break: exit ${rc}\n${out}${err}")
endif()
