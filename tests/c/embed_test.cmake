# Installs the built tree into a private prefix, builds examples/embed against
# it with find_package(zkclob), runs it, and checks the Random123 answer.
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${BINARY_DIR}/embed-prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${BINARY_DIR}/embed-build
                        -DCMAKE_PREFIX_PATH=${BINARY_DIR}/embed-prefix -DCMAKE_C_COMPILER=${C_COMPILER}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the embed example failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR}/embed-build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the embed example failed")
endif()
execute_process(COMMAND ${BINARY_DIR}/embed-build/embed RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embed example exited with ${rc}")
endif()
if(NOT out MATCHES "cpu .*kat 6627e8d5 e169c58d" OR NOT out MATCHES "opencl .*kat 6627e8d5 e169c58d")
  message(FATAL_ERROR "embed example did not report the known answer on cpu and opencl")
endif()

# The same program through pkg-config and a plain compiler call.
set(ENV{PKG_CONFIG_PATH} ${BINARY_DIR}/embed-prefix/lib/pkgconfig)
execute_process(COMMAND pkg-config --cflags --libs zkclob OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not know zkclob")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND ${C_COMPILER} ${SOURCE_DIR}/examples/embed/main.c ${flags}
                        -Wl,-rpath,${BINARY_DIR}/embed-prefix/lib -o ${BINARY_DIR}/embed-build/embed-pc
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling with pkg-config flags failed")
endif()
execute_process(COMMAND ${BINARY_DIR}/embed-build/embed-pc RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "opencl .*kat 6627e8d5 e169c58d")
  message(FATAL_ERROR "pkg-config build of the embed example failed: ${out}")
endif()

# The pipeline through the C API prints the state root that `python -m zkclob
# run --json` reports for the same stream (auctions included).
set(args --orders 6000 --symbols 16 --traders 300 --batch 1000 --auction 800 --seed 7 --device cpu)
execute_process(COMMAND ${BINARY_DIR}/embed-build/pipeline ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "state_root ([0-9a-f]+)")
  message(FATAL_ERROR "the C pipeline failed (${rc})")
endif()
set(c_root ${CMAKE_MATCH_1})
if(PYTHON)
  set(ENV{PYTHONPATH} ${BINARY_DIR}/python)
  execute_process(COMMAND ${PYTHON} -m zkclob run ${args} --json RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "\"state_root\": \"([0-9a-f]+)\"")
    message(FATAL_ERROR "python -m zkclob run failed (${rc}): ${err}")
  endif()
  if(NOT CMAKE_MATCH_1 STREQUAL c_root)
    message(FATAL_ERROR "state roots differ: C ${c_root}, Python ${CMAKE_MATCH_1}")
  endif()
  message("C and Python pipelines agree on state root ${c_root}")
endif()
