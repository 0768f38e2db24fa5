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
