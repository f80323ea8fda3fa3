// SPDX-License-Identifier: Apache-2.0
// What `record` and `serve` share: the options of the load plan and the
// session (backend, hooks, sites, map capacities, --btf, --label, --stats),
// and attaching a session from them. One place, so both subcommands load
// the same programs the same way.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/profile.hpp"
#include "lockscope/record/load_plan.hpp"
#include "lockscope/record/session.hpp"
#include "lockscope/record/symbolizer.hpp"

namespace CLI {
class App;
}

namespace lockscope::cli {

struct SessionOpts {
  std::string backend = "auto";
  std::string btf;
  std::string label;
  bool stats = false;
  bool no_sites = false;
  bool stacks = false;
  bool raw_tp = false;
  bool floor = false;                // record --floor: empty programs on the same hooks
  std::vector<std::string> metrics;  // --metrics: a selection (comma lists)
  uint32_t site_entries = LS_DEFAULT_SITE_ENTRIES, stack_entries = LS_DEFAULT_STACK_ENTRIES,
           inflight_entries = LS_DEFAULT_INFLIGHT_ENTRIES;
};

// --backend, --btf, --label, --stats, --raw-tp, --no-sites, --stacks, --metrics and the
// map capacities --site-entries, --stack-entries, --inflight-entries.
void add_session_options(CLI::App& sub, SessionOpts& o);

// The attached session and what it measures, and the profile its runs go into.
struct Attached {
  std::unique_ptr<BpfSession> session;
  std::map<std::string, Availability> availability;
  Symbolizer syms;
  Profile profile;
};

// Probes the kernel, makes the load plan, opens and attaches the session and
// says so on stderr ("lockscope: recording with the B backend ...";
// `announces_end`: the recording ends by itself, no "Ctrl-C to stop").
// `who` names the command in privilege errors ("lockscope record").
Attached attach_session(const SessionOpts& o, const std::string& who, bool announces_end);

}  // namespace lockscope::cli
