// SPDX-License-Identifier: Apache-2.0
// lockscope ab: interleaved boots of two kernels under QEMU, lockscope record
// inside each, one profile per boot in DIR/<side>/, diff at the end.
#include "lockscope/ab/ab.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/diff/diff.hpp"
#include "lockscope/vm/vm.hpp"
#include "lockscope/workloads/plan.hpp"

namespace fs = std::filesystem;

namespace lockscope::ab {

namespace {

constexpr const char* kGuestModule = "/lib/modules/test_workqueue.ko";

bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// A KERNEL argument names a file when it contains a '/' or exists as a file;
// otherwise it is a Debian version pattern ("7.2.*").
bool names_file(const std::string& k) { return k.find('/') != std::string::npos || is_file(k); }

std::string now_stamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string fmt_duration(double s) {
  if (s < 0) return "?";
  long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

void write_text(const std::string& path, const std::string& text) { write_file_atomic(path, text); }

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// The release string of an x86 bzImage: the setup header's kernel_version
// field (offset 0x20E) points, less 0x200, at "7.3.4+deb13-cloud-amd64 (...".
// Falls back to the file name.
std::string image_release(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string head(0x10000, '\0');
  f.read(head.data(), std::streamsize(head.size()));
  head.resize(size_t(f.gcount()));
  if (head.size() > 0x210 && head.compare(0x202, 4, "HdrS") == 0) {
    size_t off = size_t((unsigned char)head[0x20E]) | size_t((unsigned char)head[0x20F]) << 8;
    off += 0x200;
    if (off < head.size()) {
      size_t end = head.find_first_of(std::string(" \0", 2), off);
      if (end != std::string::npos && end > off && end - off < 128)
        return head.substr(off, end - off);
    }
  }
  return fs::path(path).filename().string();
}

// The last "error:" line of a command's output, else its last line.
std::string error_line(const std::string& text) {
  auto pos = text.rfind("error: ");
  if (pos == std::string::npos) return last_line(text);
  auto end = text.find('\n', pos);
  return text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

// A resolved KERNEL argument.
struct Target {
  std::string arg;  // as given
  std::string vmlinuz;
  std::string release;  // uname -r when known (Debian pattern), else the file name
  std::string module;   // host path of test_workqueue.ko (test_workqueue only)
};

Target resolve(const std::string& arg, const std::string& module, const Options& o,
               const char* side) {
  Target t;
  t.arg = arg;
  bool twq = o.workload == "test_workqueue";
  if (names_file(arg)) {
    if (!is_file(arg))
      throw usage_error(fmt::format("--{}: kernel image not found: {}", side, arg));
    t.vmlinuz = fs::absolute(arg).string();
    t.release = image_release(arg);
    if (twq) {
      if (module.empty())
        throw usage_error(
            fmt::format("--{} is a kernel image: lockscope cannot build test_workqueue for it",
                        side),
            fmt::format("give the module built for that kernel with --{}-module PATH.ko, a Debian "
                        "version pattern (e.g. 7.3.*) instead, or --workload pty",
                        side));
      if (!is_file(module))
        throw usage_error(fmt::format("--{}-module: not found: {}", side, module));
      t.module = fs::absolute(module).string();
    }
    return t;
  }
  vm::Kernel k = vm::fetch_kernel(arg);
  t.vmlinuz = k.vmlinuz;
  t.release = k.release;
  if (twq) {
    if (!module.empty()) {
      if (!is_file(module))
        throw usage_error(fmt::format("--{}-module: not found: {}", side, module));
      t.module = fs::absolute(module).string();
    } else {
      t.module = vm::build_test_workqueue(k);
    }
  }
  return t;
}

std::string self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw unsupported("cannot find this lockscope executable (/proc/self/exe)",
                      "give --guest-binary PATH");
  return p.string();
}

// Progress across boots. On a terminal: a status line refreshed every second
// (boot i/N, side, kernel, elapsed, ETA) plus one line per finished boot;
// otherwise only the line per finished boot.
class Progress {
 public:
  explicit Progress(int total) : total_(total), tty_(isatty(STDERR_FILENO)), t0_(clock::now()) {}
  ~Progress() { stop_ticker(); }

  void begin(const Slot& s, const std::string& kernel, const std::string& what) {
    {
      std::lock_guard<std::mutex> g(mu_);
      status_ = fmt::format("ab: boot {}/{}  {} {}{}", s.number + 1, total_, side_name(s.side),
                            kernel, what);
      started_ = s.number;
      boot_t0_ = clock::now();
    }
    if (tty_ && !ticker_.joinable()) {
      running_ = true;
      ticker_ = std::thread([this] { tick(); });
    }
    draw();
  }
  void finished(const std::string& line) {
    std::lock_guard<std::mutex> g(mu_);
    if (tty_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
    ++done_;
  }
  void end() {
    stop_ticker();
    if (tty_) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
    }
  }
  double elapsed() const { return seconds(t0_); }

 private:
  using clock = std::chrono::steady_clock;
  static double seconds(clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
  }

  void draw() {
    if (!tty_) return;
    std::lock_guard<std::mutex> g(mu_);
    double el = seconds(t0_);
    // ETA from the boots finished so far (the current one counts as half done).
    double eta = done_ ? el / done_ * (total_ - done_) - seconds(boot_t0_) : -1;
    if (eta < 0 && done_) eta = 0;
    std::fprintf(stderr, "\r\033[K%s  elapsed %s  ETA %s", status_.c_str(),
                 fmt_duration(el).c_str(), done_ ? fmt_duration(eta).c_str() : "?");
    std::fflush(stderr);
  }
  void tick() {
    std::unique_lock<std::mutex> l(tick_mu_);
    while (running_) {
      cv_.wait_for(l, std::chrono::seconds(1));
      if (running_) draw();
    }
  }
  void stop_ticker() {
    {
      std::lock_guard<std::mutex> g(tick_mu_);
      running_ = false;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  int total_;
  bool tty_;
  clock::time_point t0_, boot_t0_;
  std::mutex mu_, tick_mu_;
  std::condition_variable cv_;
  std::thread ticker_;
  bool running_ = false;
  std::string status_;
  int started_ = -1;
  int done_ = 0;
};

// Why a completed boot's result cannot be used, or empty; `no_rows` says the
// workload printed nothing (worth one retry).
std::string check_result(const vm::BootResult& r, Profile* out, bool* no_rows) {
  *no_rows = false;
  if (r.hung) return fmt::format("hung: killed at the timeout after {:.0f} s", r.seconds);
  if (r.panicked) return "kernel panic: " + r.panic_line;
  if (!r.completed) return "guest ended without reporting a result";
  const std::string& text = r.output();
  if (text.find("printed no result rows") != std::string::npos) {
    *no_rows = true;
    return "the workload printed no result rows";
  }
  auto it = r.files.find("profile.json");
  if (r.exit_code != 0 || it == r.files.end()) {
    std::string why = fmt::format("lockscope record exited with {} in the guest", r.exit_code);
    std::string ll = error_line(text);
    if (!ll.empty()) why += ": " + ll;
    return why;
  }
  try {
    *out = profile_from_json(it->second, r.boot_dir + "/result-profile.json");
  } catch (const Error& e) {
    return std::string("unreadable profile from the guest: ") + e.what();
  }
  bool rows = false;
  for (const auto& run : out->runs) rows = rows || run.workload.has_value();
  if (!rows) {
    *no_rows = true;
    return "the workload printed no result rows";
  }
  return {};
}

}  // namespace

const char* side_name(Side s) { return s == Side::kBaseline ? "baseline" : "candidate"; }

void validate(const Options& o) {
  if (o.baseline.empty() || o.candidate.empty())
    throw usage_error("--baseline and --candidate are required",
                      "each is a vmlinuz path or a Debian kernel version pattern such as 7.2.*");
  if (o.boots < kMinBootsPerSide || o.boots > 100)
    throw usage_error(fmt::format("--boots must be between {} and 100 (boots per kernel), not {}",
                                  kMinBootsPerSide, o.boots),
                      "fewer than 2 boots per side can never give a comparison");
  if (o.workload != "test_workqueue" && o.workload != "pty")
    throw usage_error("unknown --workload '" + o.workload + "'", "use test_workqueue or pty");
  parse_scope_list(o.scope);  // throws usage_error naming the valid scopes
  if (o.items == 0 || o.items < kUnset) throw usage_error("--items must be positive");
  if (o.threads == 0 || o.threads < kUnset) throw usage_error("--threads must be positive");
  if (o.smp < 1 || o.smp > 64) throw usage_error(fmt::format("--smp must be 1..64, not {}", o.smp));
  if (o.memory_mb < 256)
    throw usage_error(fmt::format("--memory must be at least 256 MiB, not {}", o.memory_mb));
  if (o.timeout_s < 10)
    throw usage_error(fmt::format("--timeout must be at least 10 s, not {}", o.timeout_s));
  if (!(o.max_loss >= 0 && o.max_loss <= 1))
    throw usage_error("--max-loss must be between 0 and 1");
  if (o.format != "text" && o.format != "markdown" && o.format != "json")
    throw usage_error("unknown --format '" + o.format + "'", "use text, markdown or json");
  (void)diff::parse_gates(o.gates);  // a bad gate fails now, not after the boots
  if (!o.guest_binary.empty() && !is_file(o.guest_binary))
    throw usage_error("--guest-binary not found: " + o.guest_binary);
  if (o.workload == "pty" && (!o.baseline_module.empty() || !o.candidate_module.empty()))
    throw usage_error(
        "--baseline-module/--candidate-module apply to --workload test_workqueue only");
  for (const auto* k : {&o.baseline, &o.candidate})
    if (names_file(*k) && !is_file(*k))
      throw usage_error("kernel image not found: " + *k,
                        "give a vmlinuz path or a version pattern such as 7.3.*");
  if (!o.out_dir.empty()) {
    std::error_code ec;
    for (const char* side : {"baseline", "candidate"}) {
      fs::path d = fs::path(o.out_dir) / side;
      if (fs::is_directory(d, ec) && !fs::is_empty(d, ec))
        throw usage_error("output folder already holds profiles: " + d.string(),
                          "give a new -o DIR (its profiles would be mixed into this comparison)");
    }
  }
}

std::vector<Slot> schedule(int boots_per_side) {
  std::vector<Slot> v;
  for (int i = 0; i < boots_per_side; ++i)
    for (Side s : {Side::kBaseline, Side::kCandidate}) v.push_back(Slot{int(v.size()), s, i});
  return v;
}

std::string guest_command(const Options& o, const std::string& label) {
  std::string wl =
      o.workload == "test_workqueue" ? std::string("test_workqueue=") + kGuestModule : o.workload;
  // The pty workload opens /dev/ptmx: the guest needs devpts mounted.
  std::string cmd = o.workload == "pty"
                        ? "mkdir -p /dev/pts; mount -t devpts devpts /dev/pts 2>/dev/null || true; "
                        : "";
  cmd += "lockscope record --workload " + wl + " --scope " + o.scope + " --runs 1";
  if (o.items != kUnset) cmd += " --items " + std::to_string(o.items);
  if (o.threads != kUnset) cmd += " --threads " + std::to_string(o.threads);
  cmd += " --label " + label + " -o $RESULTS/profile.json";
  return cmd;
}

Sufficiency sufficiency(const std::vector<BootOutcome>& outcomes) {
  Sufficiency s;
  for (const auto& b : outcomes)
    if (b.ok) ++(b.slot.side == Side::kBaseline ? s.baseline : s.candidate);
  s.enough = s.baseline >= kMinBootsPerSide && s.candidate >= kMinBootsPerSide;
  if (!s.enough)
    s.reason = fmt::format(
        "only {} baseline and {} candidate boots produced a profile; {} per side are needed",
        s.baseline, s.candidate, kMinBootsPerSide);
  return s;
}

std::string describe(const BootOutcome& b, int total) {
  std::string s =
      fmt::format("boot {}/{} {} {}: ", b.slot.number + 1, total, side_name(b.slot.side), b.kernel);
  if (b.ok)
    s += "ok";
  else
    s += "LEFT OUT: " + b.reason;
  if (b.retried)
    s += b.ok ? " (after one retry: the first boot printed no rows)" : " (also after one retry)";
  s += fmt::format(" ({:.0f} s", b.seconds);
  if (!b.ok && !b.console.empty()) s += ", console " + b.console;
  s += ")";
  return s;
}

int run(const Options& opt) {
  validate(opt);
  Options o = opt;
  if (o.out_dir.empty()) o.out_dir = "ab-" + now_stamp();
  std::string guest =
      o.guest_binary.empty() ? self_executable() : fs::absolute(o.guest_binary).string();

  // From here on a stop signal ends every child (apt, the module build, QEMU)
  // and unwinds: exit 3, finished boots kept.
  install_stop_handlers();

  // The output folders before anything slow: an unwritable -o fails at once.
  std::error_code ec;
  for (const char* d : {"baseline", "candidate", "boots"}) {
    fs::create_directories(fs::path(o.out_dir) / d, ec);
    if (ec)
      throw usage_error("cannot create " + (fs::path(o.out_dir) / d).string() + ": " + ec.message(),
                        "give -o a folder you can write");
  }

  // Kernels and modules (downloads and module builds are cached).
  Target base = resolve(o.baseline, o.baseline_module, o, "baseline");
  Target cand = resolve(o.candidate, o.candidate_module, o, "candidate");
  if (stop_requested())
    throw Error(kExitInconclusive, "interrupted before the first boot; nothing was recorded");
  {
    std::string cmdline =
        fmt::format("baseline  {} ({})\ncandidate {} ({})\nguest command: {}\n", base.arg,
                    base.vmlinuz, cand.arg, cand.vmlinuz, guest_command(o, "<side>"));
    write_text(o.out_dir + "/experiment.txt", cmdline);
  }
  const std::string abs_dir = fs::absolute(o.out_dir).string();

  std::vector<Slot> slots = schedule(o.boots);
  const int total = int(slots.size());
  std::vector<BootOutcome> outcomes;
  Progress progress(total);
  log::info("ab: {} boots ({} per kernel), results in {}", total, o.boots, o.out_dir);
  auto write_boots = [&] {
    std::string text;
    for (const auto& b : outcomes) text += describe(b, total) + "\n";
    write_text(o.out_dir + "/boots.txt", text);
  };

  try {
    for (const Slot& slot : slots) {
      const Target& t = slot.side == Side::kBaseline ? base : cand;
      BootOutcome b;
      b.slot = slot;
      b.kernel = t.release;
      vm::BootSpec spec;
      spec.vmlinuz = t.vmlinuz;
      spec.lockscope_binary = guest;
      if (!t.module.empty()) spec.files.push_back({t.module, kGuestModule});
      spec.commands = {guest_command(o, side_name(slot.side))};
      spec.smp = o.smp;
      spec.memory_mb = o.memory_mb;
      spec.timeout_s = o.timeout_s;
      std::string stem = fmt::format("{:03}-{}", slot.number + 1, side_name(slot.side));
      for (int attempt = 0; attempt < 2; ++attempt) {
        std::string rel = "/boots/" + stem + (attempt ? "-retry" : "");
        spec.boot_dir = abs_dir + rel;  // the VM runner wants an absolute folder
        progress.begin(slot, t.release, attempt ? " (retry)" : "");
        vm::BootResult r = vm::boot(spec);
        b.seconds += r.seconds;
        b.console = o.out_dir + rel + "/console.log";  // as the user named the folder
        Profile p;
        bool no_rows = false;
        std::string why = check_result(r, &p, &no_rows);
        if (why.empty()) {
          for (auto& run : p.runs) run.boot = slot.number;
          b.profile = fmt::format("{}/{}/boot-{:03}.json", o.out_dir, side_name(slot.side),
                                  slot.number + 1);
          save_profile(p, b.profile);
          b.ok = true;
          b.reason.clear();
          break;
        }
        b.reason = why;
        if (r.completed && r.exit_code == kExitUsage && !no_rows)
          throw usage_error(
              "lockscope in the guest rejected the command: " + last_line(r.output()),
              "the guest binary may be older than this one; give --guest-binary PATH");
        if (!no_rows) break;
        if (attempt == 0) b.retried = true;
      }
      outcomes.push_back(b);
      write_boots();
      progress.finished(describe(b, total));
    }
  } catch (...) {
    progress.end();
    if (!outcomes.empty()) {
      write_boots();
      std::fprintf(stderr, "lockscope ab: stopped after %zu of %d boots; profiles so far in %s\n",
                   outcomes.size(), total, o.out_dir.c_str());
    }
    throw;
  }
  progress.end();

  // The comparison: exactly what `lockscope diff DIR/baseline DIR/candidate` computes.
  Sufficiency suf = sufficiency(outcomes);
  std::vector<diff::GateExpr> gate = diff::parse_gates(o.gates);
  std::vector<std::string> keys = diff::gate_keys(gate);
  std::optional<diff::Report> rep;
  std::string compare_error;
  if (suf.baseline >= 1 && suf.candidate >= 1) {
    try {
      diff::Options dopt;
      dopt.max_loss = o.max_loss;
      diff::Side bs = diff::load_side(o.out_dir + "/baseline");
      diff::Side cs = diff::load_side(o.out_dir + "/candidate");
      rep = diff::compare(bs, cs, dopt, keys);
      diff::apply_gate(*rep, gate);
    } catch (const Error& e) {
      if (suf.enough) throw;
      compare_error = e.what();
    }
  }

  int code = kExitOk;
  std::string verdict;
  if (!suf.enough) {
    code = kExitInconclusive;
    verdict = "inconclusive: " + suf.reason;
  } else if (rep->gated) {
    code = rep->exit_code;
    verdict = code == kExitOk           ? "gate passed"
              : code == kExitGateFailed ? "gate failed: regression"
                                        : "gate inconclusive";
  } else {
    verdict = "no gate given (exit 0)";
  }

  std::string out;
  if (o.format == "json") {
    nlohmann::json j;
    j["out_dir"] = o.out_dir;
    j["baseline"] = {
        {"kernel", base.release}, {"vmlinuz", base.vmlinuz}, {"profiles", suf.baseline}};
    j["candidate"] = {
        {"kernel", cand.release}, {"vmlinuz", cand.vmlinuz}, {"profiles", suf.candidate}};
    j["boots"] = nlohmann::json::array();
    for (const auto& b : outcomes)
      j["boots"].push_back({{"boot", b.slot.number},
                            {"side", side_name(b.slot.side)},
                            {"kernel", b.kernel},
                            {"ok", b.ok},
                            {"retried", b.retried},
                            {"reason", b.reason},
                            {"console", b.console},
                            {"profile", b.profile},
                            {"seconds", b.seconds}});
    j["diff"] = rep ? nlohmann::json::parse(diff::render_json(*rep)) : nlohmann::json(nullptr);
    j["verdict"] = verdict;
    j["exit_code"] = code;
    out = j.dump(2) + "\n";
  } else {
    bool md = o.format == "markdown";
    out += md ? "## lockscope ab\n\n" : "lockscope ab\n";
    out += fmt::format("{}baseline : {} ({})\n", md ? "- " : "", base.release, base.arg);
    out += fmt::format("{}candidate: {} ({})\n", md ? "- " : "", cand.release, cand.arg);
    out += fmt::format("{}{} boots, interleaved; results in {} ({:.0f} s)\n", md ? "- " : "", total,
                       o.out_dir, progress.elapsed());
    out += md ? "\n```\n" : "\n";
    for (const auto& b : outcomes) out += describe(b, total) + "\n";
    out += md ? "```\n\n" : "\n";
    if (rep)
      out += md ? diff::render_markdown(*rep) : diff::render_text(*rep);
    else if (!compare_error.empty())
      out += "no comparison: " + compare_error + "\n";
    out += fmt::format("\n{}verdict: {}\n", md ? "**" : "", verdict);
    if (md) out.insert(out.size() - 1, "**");
    if (rep)
      out += fmt::format("reproduce the comparison: lockscope diff {0}/baseline {0}/candidate\n",
                         o.out_dir);
  }
  std::string ext = o.format == "json" ? "json" : o.format == "markdown" ? "md" : "txt";
  write_text(o.out_dir + "/report." + ext, out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (code != kExitOk) std::fprintf(stderr, "lockscope ab: %s\n", verdict.c_str());
  return code;
}

}  // namespace lockscope::ab
