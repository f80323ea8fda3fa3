// SPDX-License-Identifier: Apache-2.0
// The /metrics endpoint (prometheus-cpp's exposer) and the refresh loop.
#include "lockscope/serve/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/record/recorder.hpp"
#include "lockscope/serve/exposition.hpp"

namespace lockscope::serve {

// The families the last refresh built; a scrape copies them under the lock.
class Published : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::shared_ptr<const std::vector<prometheus::MetricFamily>> now;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now = families_;
    }
    return now ? *now : std::vector<prometheus::MetricFamily>{};
  }
  void set(std::vector<prometheus::MetricFamily> f) {
    auto next = std::make_shared<const std::vector<prometheus::MetricFamily>>(std::move(f));
    std::lock_guard<std::mutex> lock(mu_);
    families_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<prometheus::MetricFamily>> families_;
};

namespace {

Error bad_listen(const std::string& spec, const std::string& why) {
  return usage_error("--listen " + spec + ": " + why,
                     "give HOST:PORT with a numeric address, e.g. 127.0.0.1:9488, 0.0.0.0:9488 "
                     "or [::1]:9488");
}

// Binds a socket to the address (and closes it): the kernel's own answer,
// errno included, before civetweb tries and says only that it could not.
int try_bind(const ListenAddress& a) {
  int fd = socket(a.ipv6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as civetweb does
  int rc;
  if (a.ipv6()) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(a.port);
    inet_pton(AF_INET6, a.host.c_str(), &sa.sin6_addr);
    rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a.port);
    inet_pton(AF_INET, a.host.c_str(), &sa.sin_addr);
    rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  int err = rc == 0 ? 0 : errno;
  close(fd);
  return err;
}

Error cannot_listen(const ListenAddress& a, const std::string& why) {
  return unsupported("cannot listen on " + a.text() + ": " + why,
                     "another lockscope serve (or another program) may use this port: stop it, "
                     "or choose another with --listen HOST:PORT");
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string ListenAddress::text() const {
  return (ipv6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress parse_listen(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon + 1 == spec.size())
    throw bad_listen(spec, "no port (HOST:PORT)");
  std::string host = spec.substr(0, colon), port = spec.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoul(port) > 65535)
    throw bad_listen(spec, "the port must be a number from 0 to 65535");
  ListenAddress a;
  a.port = uint16_t(std::stoul(port));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    a.host = host.substr(1, host.size() - 2);
    in6_addr v6{};
    if (inet_pton(AF_INET6, a.host.c_str(), &v6) != 1)
      throw bad_listen(spec, "'" + a.host + "' is not a numeric IPv6 address");
    return a;
  }
  in_addr v4{};
  if (host.empty() || inet_pton(AF_INET, host.c_str(), &v4) != 1)
    throw bad_listen(spec, "'" + host + "' is not a numeric IPv4 address (IPv6: [ADDR]:PORT)");
  a.host = host;
  return a;
}

MetricsEndpoint::MetricsEndpoint(const ListenAddress& addr)
    : published_(std::make_shared<Published>()) {
  if (int err = try_bind(addr)) throw cannot_listen(addr, std::strerror(err));
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", addr.text(), "num_threads", "2"});
  } catch (const std::exception& e) {
    throw cannot_listen(addr, e.what());
  }
  exposer_->RegisterCollectable(published_);
  auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? addr.port : uint16_t(ports.front());
}

MetricsEndpoint::~MetricsEndpoint() = default;

void MetricsEndpoint::publish(std::vector<prometheus::MetricFamily> families) {
  published_->set(std::move(families));
}

void serve_until_stopped(const ServeSession& s, MetricsEndpoint& endpoint, const ServeOptions& o) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  ExpositionContext ctx;
  ctx.meta = s.meta;
  ctx.start_time_s = unix_now();
  SiteLabels labels(o.top_sites);
  std::vector<ProgramStats> stats0 = s.session->program_stats();
  auto refresh = [&] {
    auto start = Clock::now();
    double elapsed = std::chrono::duration<double>(start - t0).count();
    Recording rec = capture(*s.session, stats0, elapsed);
    Run run = finish_run(rec, *s.availability, *s.syms);
    std::vector<ProgramStats> programs;
    if (o.program_stats) {
      programs = stats_since(rec.stats_after, stats0);
      ctx.programs = &programs;
    }
    auto families = exposition(run, ctx, labels);
    prometheus::MetricFamily cost;
    cost.name = "lockscope_refresh_seconds";
    cost.help = "Wall time of the last refresh: maps read, run built, families made";
    cost.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric c;
    c.gauge.value = std::chrono::duration<double>(Clock::now() - start).count();
    cost.metric.push_back(c);
    families.push_back(std::move(cost));
    endpoint.publish(std::move(families));
  };
  refresh();
  auto next =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.refresh_s));
  while (!stop_requested()) {
    if (Clock::now() >= next) {
      refresh();
      next +=
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.refresh_s));
      if (next < Clock::now()) next = Clock::now();  // a slow refresh: no catch-up burst
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  log::info("serve: stopping ({})", interrupted_message("serve"));
}

}  // namespace lockscope::serve
