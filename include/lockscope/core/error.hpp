// SPDX-License-Identifier: Apache-2.0
// Exit codes and the error type every subcommand reports through.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace lockscope {

// Documented in README.md ("Exit codes"); used by every subcommand.
enum ExitCode : int {
  kExitOk = 0,            // success, or gate passed
  kExitGateFailed = 1,    // gate failed: a regression beyond the margin
  kExitUsage = 2,         // usage or input error
  kExitInconclusive = 3,  // inconclusive or invalid experiment
  kExitUnsupported = 4,   // this kernel or environment lacks what was asked
};

// A failure the user can act on: one line saying what failed, optionally one
// line saying what to do. main() prints both and exits with `code`.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& what, std::string hint = {})
      : std::runtime_error(what), code_(code), hint_(std::move(hint)) {}
  int code() const { return code_; }
  const std::string& hint() const { return hint_; }

 private:
  int code_;
  std::string hint_;
};

inline Error usage_error(const std::string& what, std::string hint = {}) {
  return Error(kExitUsage, what, std::move(hint));
}
inline Error unsupported(const std::string& what, std::string hint = {}) {
  return Error(kExitUnsupported, what, std::move(hint));
}

// Runs `body` and turns what it throws into the program's exit: an Error
// prints "PROGRAM: error: WHAT" and "hint: HINT" and returns its code; any
// other exception is an internal error (exit 2). Every entry point uses it.
int report_errors(const char* program, const std::function<int()>& body);

}  // namespace lockscope
