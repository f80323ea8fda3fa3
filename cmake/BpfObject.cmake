# SPDX-License-Identifier: Apache-2.0
# lockscope_bpf_skeleton(NAME SOURCE)
#   clang -target bpf -g -O2  ->  NAME.bpf.o  ->  bpftool gen skeleton  ->  NAME.skel.h
# (struct NAME_bpf, NAME_bpf__open() ...)
# and an INTERFACE target NAME_skel whose include directory holds the skeleton.
# Header dependencies come from clang's depfile, so editing a header shared by
# BPF and C++ rebuilds the object, the skeleton and every C++ file using it.
find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(LOCKSCOPE_BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${LOCKSCOPE_BPF_OUT})

function(lockscope_bpf_skeleton name source)
  set(obj ${LOCKSCOPE_BPF_OUT}/${name}.bpf.o)
  set(skel ${LOCKSCOPE_BPF_OUT}/${name}.skel.h)
  set(dep ${LOCKSCOPE_BPF_OUT}/${name}.bpf.d)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -target bpf -g -O2 -mcpu=v3 -D__TARGET_ARCH_x86
            -Wall -Wno-unused-function
            -I${PROJECT_SOURCE_DIR}/bpf -I${PROJECT_SOURCE_DIR}/include
            -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}
            -MD -MF ${dep}
            -c ${source} -o ${obj}
    DEPFILE ${dep}
    DEPENDS ${source}
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${LOCKSCOPE_BPF_OUT})
endfunction()
