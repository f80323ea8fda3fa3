# SPDX-License-Identifier: Apache-2.0
# Every dependency is a Debian package; scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(Threads REQUIRED)

if(LOCKSCOPE_STATIC)
  # Debian ships libbpf.a, libelf.a, libz.a and libzstd.a but no static spdlog
  # or fmt: use both header-only. Keep their includes in few translation units.
  add_library(lockscope_logging INTERFACE)
  target_compile_definitions(lockscope_logging INTERFACE SPDLOG_HEADER_ONLY FMT_HEADER_ONLY)
  # Debian's spdlog::spdlog_header_only target links the shared fmt::fmt
  # (SPDLOG_FMT_EXTERNAL), which -static cannot link: take only its include
  # directories and definitions, and fmt header-only.
  get_target_property(spdlog_includes spdlog::spdlog_header_only INTERFACE_INCLUDE_DIRECTORIES)
  if(spdlog_includes)
    target_include_directories(lockscope_logging INTERFACE ${spdlog_includes})
  endif()
  target_compile_definitions(lockscope_logging INTERFACE SPDLOG_FMT_EXTERNAL)
  target_link_libraries(lockscope_logging INTERFACE fmt::fmt-header-only Threads::Threads)
  find_library(LIBBPF_A libbpf.a REQUIRED)
  find_library(LIBELF_A libelf.a REQUIRED)
  find_library(LIBZ_A libz.a REQUIRED)
  find_library(LIBZSTD_A libzstd.a)
  add_library(lockscope_libbpf INTERFACE)
  target_link_libraries(lockscope_libbpf INTERFACE ${LIBBPF_A} ${LIBELF_A} ${LIBZ_A})
  if(LIBZSTD_A)
    target_link_libraries(lockscope_libbpf INTERFACE ${LIBZSTD_A})
  endif()
  add_library(lockscope_zlib INTERFACE)  # lockscope/core/gzip.hpp: pprof, serve
  target_link_libraries(lockscope_zlib INTERFACE ${LIBZ_A})
else()
  add_library(lockscope_logging INTERFACE)
  target_link_libraries(lockscope_logging INTERFACE spdlog::spdlog fmt::fmt)
  pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
  # lockscope serve: prometheus-cpp's metric types and text serializer, and
  # civetweb (the HTTP server prometheus-cpp's own exposer is built on) for
  # an endpoint that negotiates the format; shared libraries only in Debian.
  find_package(prometheus-cpp REQUIRED COMPONENTS core)  # Debian: no version file
  find_package(civetweb REQUIRED)
  add_library(lockscope_libbpf INTERFACE)
  target_link_libraries(lockscope_libbpf INTERFACE PkgConfig::LIBBPF)
  find_package(ZLIB REQUIRED)
  add_library(lockscope_zlib INTERFACE)  # lockscope/core/gzip.hpp: pprof, serve
  target_link_libraries(lockscope_zlib INTERFACE ZLIB::ZLIB)
endif()
