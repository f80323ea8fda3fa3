// SPDX-License-Identifier: Apache-2.0
// Cooperative stop on SIGINT, SIGTERM and SIGHUP: the handler only sets a
// flag; long-running loops poll stop_requested() and unwind normally, so RAII
// detaches BPF programs and restores kernel settings on every exit path.
#pragma once

#include <string>

namespace lockscope {

// Installs the handlers (idempotent). Without SA_RESTART, so blocking calls
// return EINTR and their loops see the flag.
void install_stop_handlers();
bool stop_requested();
// The signal that asked to stop (0 if none).
int stop_signal();
// For tests and for ending a recording at its deadline.
void request_stop();
void reset_stop();
// "interrupted by SIGINT during <what>" (the signal that asked to stop).
std::string interrupted_message(const std::string& what);

}  // namespace lockscope
