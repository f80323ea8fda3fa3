// SPDX-License-Identifier: Apache-2.0
// `lockscope serve`: an HTTP endpoint answering GET /metrics (civetweb, in
// the format the scraper's Accept header asks for: formats.hpp) and the
// loop that keeps what it answers fresh from a recording session. Scrapes
// never read the BPF maps: the loop rebuilds the families and encodes them
// in every format each refresh, and swaps them in under a mutex, so scrapes
// are concurrent with the recording and with each other, and cost the same
// however often they come.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "lockscope/core/profile.hpp"
#include "lockscope/record/load_plan.hpp"
#include "lockscope/record/session.hpp"
#include "lockscope/record/symbolizer.hpp"
#include "lockscope/serve/exposition.hpp"

class CivetServer;

namespace lockscope::serve {

inline constexpr uint16_t kDefaultPort = 9488;
inline constexpr const char* kDefaultListen = "127.0.0.1:9488";

struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6 (without brackets)
  uint16_t port = kDefaultPort;
  bool ipv6() const { return host.find(':') != std::string::npos; }
  // "127.0.0.1:9488", "[::1]:9488"
  std::string text() const;
};

// "HOST:PORT" with a numeric IPv4 host or a bracketed IPv6 one ("[::1]:9488");
// port 0 lets the kernel choose. Anything else is a usage error (exit 2).
ListenAddress parse_listen(const std::string& spec);

class Published;

// The listening endpoint. Binds in the constructor, before anything is
// loaded into the kernel: an address in use (another `lockscope serve` on
// the port) is Error(kExitUnsupported) at once, with the reason.
class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(const ListenAddress& addr);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // What every later scrape answers with (until the next publish).
  void publish(const Exposition& e);
  // Scrapes answered so far in each format (formats()' order).
  std::vector<uint64_t> scrapes() const;
  // The port really listened on (the kernel's choice for port 0).
  uint16_t port() const { return port_; }

 private:
  std::shared_ptr<Published> published_;
  std::unique_ptr<CivetServer> server_;  // after published_: stops before it goes
  uint16_t port_ = 0;
};

struct ServeOptions {
  double refresh_s = 1.0;      // rebuild the exposition this often
  size_t top_sites = 10;       // per metric; the rest are site="other"
  bool program_stats = false;  // --stats: export each program's runs and time
};

// What the session measures and how to name what it saw.
struct ServeSession {
  BpfSession* session = nullptr;
  const std::map<std::string, Availability>* availability = nullptr;
  const Symbolizer* syms = nullptr;
  const Profile* meta = nullptr;
};

// Publishes the session's cumulative run every refresh until stop_requested()
// (SIGINT, SIGTERM, SIGHUP). Counters count from the call.
void serve_until_stopped(const ServeSession& s, MetricsEndpoint& endpoint, const ServeOptions& o);

}  // namespace lockscope::serve
