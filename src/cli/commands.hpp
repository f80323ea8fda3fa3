// SPDX-License-Identifier: Apache-2.0
// Subcommand registration. Each subcommand lives in its own src/cli/*_cmd.cpp:
// it declares its options on the CLI11 app and, when chosen, sets `run` to the
// action. main() runs the action inside one error handler (cli.cpp), so every
// subcommand reports errors and exit codes the same way.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace lockscope {
struct WorkloadRequest;
struct Profile;
}  // namespace lockscope

namespace lockscope::cli {

using Action = std::function<int()>;

void register_probe(CLI::App& app, Action& run);
void register_record(CLI::App& app, Action& run);
void register_report(CLI::App& app, Action& run);
void register_diff(CLI::App& app, Action& run);
void register_bench(CLI::App& app, Action& run);
void register_ab(CLI::App& app, Action& run);
void register_serve(CLI::App& app, Action& run);

// Shared option: --btf PATH, accepted by every BPF-using subcommand.
void add_btf_option(CLI::App& sub, std::string& path);

// Shared workload options of `bench` and `record`: --workload, --scope,
// --threads, --items, --runs (and --duration for bench).
void add_workload_options(CLI::App& sub, WorkloadRequest& req, bool with_duration);

// Shared profile output of `record` and `bench` (-o FILE).
// Before measuring: a FILE whose folder cannot be written is exit 2 now, not
// after the measurement.
void check_output_writable(const std::string& path);
// After: writes atomically; if that still fails, the profile goes to a
// temporary file and the error (exit 2) says where, so nothing is lost.
void write_profile(const Profile& profile, const std::string& path);

int run(int argc, char** argv);

}  // namespace lockscope::cli
