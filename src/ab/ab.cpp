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
// otherwise only the line per finished boot. `first` boots were run by an
// earlier (resumed) invocation; a sequential plan's N is its maximum, so its
// ETA is an upper bound.
class Progress {
 public:
  Progress(int total, int first)
      : total_(total), first_(first), tty_(isatty(STDERR_FILENO)), t0_(clock::now()) {}
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
  // A line that is not a boot (the sequential gate's state after a pair).
  void note(const std::string& line) {
    std::lock_guard<std::mutex> g(mu_);
    if (tty_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
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
    double eta = done_ ? el / done_ * (total_ - first_ - done_) - seconds(boot_t0_) : -1;
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

  int total_, first_;
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
  if (o.until_decided) {
    if (o.gates.empty())
      throw usage_error("--until-decided needs a --gate: it boots until the gate has decided",
                        "add --gate EXPR (docs/diff.md), or give a fixed --boots N");
    if (o.max_boots < kMinBootsPerSide || o.max_boots > 100)
      throw usage_error(
          fmt::format("--until-decided needs --max-boots between {} and 100 (boots per kernel)",
                      kMinBootsPerSide),
          "e.g. --until-decided --max-boots 10");
    if (o.boots_set)
      throw usage_error("--boots and --until-decided exclude each other",
                        "--max-boots N bounds the boots per kernel of a sequential experiment");
  } else if (o.max_boots != 0) {
    throw usage_error("--max-boots applies to --until-decided only",
                      "add --until-decided, or give a fixed number with --boots N");
  }
  if (o.resume && o.out_dir.empty())
    throw usage_error("--resume needs -o DIR: the folder of the experiment to continue");
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
  if (!o.out_dir.empty() && !o.resume) {
    std::error_code ec;
    for (const char* side : {"baseline", "candidate"}) {
      fs::path d = fs::path(o.out_dir) / side;
      if (fs::is_directory(d, ec) && !fs::is_empty(d, ec))
        throw usage_error("output folder already holds profiles: " + d.string(),
                          "give a new -o DIR (its profiles would be mixed into this comparison), "
                          "or --resume to continue that experiment");
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

Sufficiency sufficiency(const std::vector<BootOutcome>& outcomes, int prior_baseline,
                        int prior_candidate) {
  Sufficiency s;
  s.baseline = prior_baseline;
  s.candidate = prior_candidate;
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

namespace {

int count_profiles(const std::string& dir) {
  std::error_code ec;
  int n = 0;
  if (!fs::is_directory(dir, ec)) return 0;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") ++n;
  return n;
}

// Everything the report shows.
struct Summary {
  const Target *base, *cand;
  std::vector<std::string> prior_lines;  // boots of earlier (resumed) invocations
  std::vector<BootOutcome> boots;        // this invocation's
  Sufficiency suf;
  std::optional<diff::Report> rep;
  std::string compare_error, verdict;
  int code = 0, done = 0, total = 0;
  double seconds = 0;
};

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string reproduce_command(const Options& o) {
  std::string cmd = fmt::format("lockscope diff {0}/baseline {0}/candidate", o.out_dir);
  if (o.max_loss > 0) cmd += fmt::format(" --max-loss {:g}", o.max_loss);
  if (o.until_decided) cmd += fmt::format(" --sequential {}", o.max_boots);
  for (const auto& g : o.gates) cmd += " --gate " + quoted(g);
  return cmd;
}

std::string render(const Options& o, const Summary& r) {
  std::string out;
  if (o.format == "json") {
    nlohmann::json j;
    j["out_dir"] = o.out_dir;
    j["baseline"] = {
        {"kernel", r.base->release}, {"vmlinuz", r.base->vmlinuz}, {"profiles", r.suf.baseline}};
    j["candidate"] = {
        {"kernel", r.cand->release}, {"vmlinuz", r.cand->vmlinuz}, {"profiles", r.suf.candidate}};
    j["plan"] = {{"until_decided", o.until_decided},
                 {"boots_per_kernel", planned_boots(o)},
                 {"boots_run", r.done},
                 {"resumed_after", r.done - int(r.boots.size())}};
    j["boots"] = nlohmann::json::array();
    for (const auto& b : r.boots)
      j["boots"].push_back({{"boot", b.slot.number},
                            {"side", side_name(b.slot.side)},
                            {"kernel", b.kernel},
                            {"ok", b.ok},
                            {"retried", b.retried},
                            {"reason", b.reason},
                            {"console", b.console},
                            {"profile", b.profile},
                            {"seconds", b.seconds}});
    j["diff"] = r.rep ? nlohmann::json::parse(diff::render_json(*r.rep)) : nlohmann::json(nullptr);
    j["reproduce"] = reproduce_command(o);
    j["verdict"] = r.verdict;
    j["exit_code"] = r.code;
    return j.dump(2) + "\n";
  }
  bool md = o.format == "markdown";
  const char* li = md ? "- " : "";
  out += md ? "## lockscope ab\n\n" : "lockscope ab\n";
  out += fmt::format("{}baseline : {} ({})\n", li, r.base->release, r.base->arg);
  out += fmt::format("{}candidate: {} ({})\n", li, r.cand->release, r.cand->arg);
  out += fmt::format("{}{} of {} {}boots, interleaved; results in {} ({:.0f} s)\n", li, r.done,
                     r.total, o.until_decided ? "planned " : "", o.out_dir, r.seconds);
  if (o.until_decided)
    out += fmt::format("{}until decided: stopped after {} pairs ({})\n", li, r.done / 2,
                       r.rep && diff::decided(*r.rep) ? "every check decided" : "budget spent");
  out += md ? "\n```\n" : "\n";
  for (const auto& l : r.prior_lines) out += l + "\n";
  for (const auto& b : r.boots) out += describe(b, r.total) + "\n";
  out += md ? "```\n\n" : "\n";
  if (r.rep)
    out += md ? diff::render_markdown(*r.rep) : diff::render_text(*r.rep);
  else if (!r.compare_error.empty())
    out += "no comparison: " + r.compare_error + "\n";
  out += fmt::format("\n{}verdict: {}{}\n", md ? "**" : "", r.verdict, md ? "**" : "");
  if (r.rep) out += "reproduce the comparison: " + reproduce_command(o) + "\n";
  return out;
}

// The comparison: exactly what `lockscope diff DIR/baseline DIR/candidate`
// (with --sequential N for a sequential plan) computes.
diff::Report compare_dir(const Options& o, const std::vector<diff::GateExpr>& gate) {
  diff::Options dopt;
  dopt.max_loss = o.max_loss;
  dopt.sequential = o.until_decided ? size_t(o.max_boots) : 0;
  diff::Side bs = diff::load_side(o.out_dir + "/baseline");
  diff::Side cs = diff::load_side(o.out_dir + "/candidate");
  return diff::evaluate(bs, cs, dopt, gate);
}

// One boot of `slot`, retried once when the workload printed no rows.
BootOutcome boot_one(const Options& o, const Slot& slot, const Target& t, const std::string& guest,
                     const std::string& abs_dir, Progress& progress) {
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
      b.profile =
          fmt::format("{}/{}/boot-{:03}.json", o.out_dir, side_name(slot.side), slot.number + 1);
      save_profile(p, b.profile);
      b.ok = true;
      b.reason.clear();
      break;
    }
    b.reason = why;
    if (r.completed && r.exit_code == kExitUsage && !no_rows)
      throw usage_error("lockscope in the guest rejected the command: " + last_line(r.output()),
                        "the guest binary may be older than this one; give --guest-binary PATH");
    if (!no_rows) break;
    if (attempt == 0) b.retried = true;
  }
  return b;
}

}  // namespace

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
  std::string experiment = experiment_text(o, base.vmlinuz, cand.vmlinuz);
  Resumed prior;
  if (o.resume)
    prior = read_resume(o.out_dir, experiment);
  else
    write_text(o.out_dir + "/experiment.txt", experiment);
  const int prior_base = o.resume ? count_profiles(o.out_dir + "/baseline") : 0;
  const int prior_cand = o.resume ? count_profiles(o.out_dir + "/candidate") : 0;
  const std::string abs_dir = fs::absolute(o.out_dir).string();
  const std::vector<diff::GateExpr> gate = diff::parse_gates(o.gates);

  const int planned = planned_boots(o), total = 2 * planned;
  Loop loop{std::min(prior.done, total), total, o.until_decided};
  std::vector<BootOutcome> outcomes;
  Progress progress(total, loop.first);
  if (loop.first > 0) log::info("ab: resuming {} after {} boots", o.out_dir, loop.first);
  log::info("ab: {} {} boots ({} per kernel), results in {}", o.until_decided ? "at most" : "",
            total, planned, o.out_dir);
  auto write_boots = [&] {
    std::string text;
    for (const auto& l : prior.lines) text += l + "\n";
    for (const auto& b : outcomes) text += describe(b, total) + "\n";
    write_text(o.out_dir + "/boots.txt", text);
  };
  auto boot = [&](const Slot& slot) {
    BootOutcome b =
        boot_one(o, slot, slot.side == Side::kBaseline ? base : cand, guest, abs_dir, progress);
    outcomes.push_back(b);
    write_boots();
    progress.finished(describe(b, total));
    return b;
  };
  auto look = [&](int pairs) {
    if (count_profiles(o.out_dir + "/baseline") == 0 ||
        count_profiles(o.out_dir + "/candidate") == 0)
      return false;
    diff::Report r = compare_dir(o, gate);
    progress.note(progress_line(r, pairs, planned));
    return diff::decided(r);
  };

  try {
    drive(loop, boot, look);
  } catch (...) {
    progress.end();
    if (!outcomes.empty()) {
      write_boots();
      std::fprintf(stderr,
                   "lockscope ab: stopped after %zu of %d boots; profiles so far in %s (continue "
                   "with --resume -o %s)\n",
                   outcomes.size() + size_t(loop.first), total, o.out_dir.c_str(),
                   o.out_dir.c_str());
    }
    throw;
  }
  progress.end();

  Sufficiency suf = sufficiency(outcomes, prior_base, prior_cand);
  std::optional<diff::Report> rep;
  std::string compare_error;
  if (suf.baseline >= 1 && suf.candidate >= 1) {
    try {
      rep = compare_dir(o, gate);
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
  Summary res{&base,         &cand,
              prior.lines,   outcomes,
              suf,           rep,
              compare_error, verdict,
              code,          loop.first + int(outcomes.size()),
              total,         progress.elapsed()};
  std::string out = render(o, res);
  std::string ext = o.format == "json" ? "json" : o.format == "markdown" ? "md" : "txt";
  write_text(o.out_dir + "/report." + ext, out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (code != kExitOk) std::fprintf(stderr, "lockscope ab: %s\n", verdict.c_str());
  return code;
}

}  // namespace lockscope::ab
