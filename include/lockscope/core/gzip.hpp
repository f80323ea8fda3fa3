// SPDX-License-Identifier: Apache-2.0
// gzip (RFC 1952) of a buffer in memory, with zlib: report --format pprof
// writes its profile.proto gzipped, lockscope serve answers scrapes that
// accept it gzipped.
#pragma once

#include <string>

namespace lockscope {

// The gzip stream of `data` at zlib's best compression; std::runtime_error
// if zlib fails.
std::string gzip(const std::string& data);

}  // namespace lockscope
