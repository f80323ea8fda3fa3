// SPDX-License-Identifier: Apache-2.0
// The /metrics endpoint (civetweb, content negotiation) and the refresh loop.
#include "lockscope/serve/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CivetServer.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "lockscope/core/error.hpp"
#include "lockscope/core/gzip.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/record/recorder.hpp"
#include "lockscope/serve/exposition.hpp"
#include "lockscope/serve/formats.hpp"

namespace lockscope::serve {

// What the last refresh built, encoded in every format, plain and gzipped; a
// scrape takes the current set under the lock and writes one out without it.
class Published : public CivetHandler {
 public:
  Published() : scrapes_(formats().size()) {}
  void set(const Exposition& e) {
    auto next = std::make_shared<std::vector<Body>>();
    for (const auto& f : formats()) {
      Body b;
      b.plain = encode(f.format, e);
      b.gzipped = gzip(b.plain);
      next->push_back(std::move(b));
    }
    std::lock_guard<std::mutex> lock(mu_);
    bodies_ = std::move(next);
  }
  std::vector<uint64_t> scrapes() const {
    std::vector<uint64_t> out;
    for (const auto& n : scrapes_) out.push_back(n.load());
    return out;
  }
  bool handleGet(CivetServer*, mg_connection* conn) override {
    const char* accept = mg_get_header(conn, "Accept");
    auto i = size_t(negotiate(accept ? accept : ""));
    const char* encoding = mg_get_header(conn, "Accept-Encoding");
    bool gz = encoding && accepts_gzip(encoding);
    std::shared_ptr<const std::vector<Body>> now;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now = bodies_;
    }
    if (!now) {
      mg_send_http_error(conn, 503, "lockscope serve: no recording published yet\n");
      return true;
    }
    const std::string& body = gz ? (*now)[i].gzipped : (*now)[i].plain;
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%sContent-Length: %zu\r\n"
              "Vary: Accept, Accept-Encoding\r\n\r\n",
              formats()[i].content_type, gz ? "Content-Encoding: gzip\r\n" : "", body.size());
    mg_write(conn, body.data(), body.size());
    scrapes_[i].fetch_add(1);
    return true;
  }

 private:
  struct Body {
    std::string plain, gzipped;
  };
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<Body>> bodies_;
  std::vector<std::atomic<uint64_t>> scrapes_;
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
    server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", addr.text(), "num_threads", "2"});
  } catch (const std::exception& e) {
    throw cannot_listen(addr, e.what());
  }
  server_->addHandler("/metrics", published_.get());
  auto ports = server_->getListeningPorts();
  port_ = ports.empty() ? addr.port : uint16_t(ports.front());
}

MetricsEndpoint::~MetricsEndpoint() {
  if (server_) server_->close();  // no handler runs past here
}

void MetricsEndpoint::publish(const Exposition& e) { published_->set(e); }

std::vector<uint64_t> MetricsEndpoint::scrapes() const { return published_->scrapes(); }

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
    Exposition e = exposition(run, ctx, labels);
    prometheus::MetricFamily scrapes;
    scrapes.name = "lockscope_scrapes_total";
    scrapes.help = "Scrapes of /metrics answered, by the format negotiated (as of this refresh)";
    scrapes.type = prometheus::MetricType::Counter;
    auto answered = endpoint.scrapes();
    for (size_t i = 0; i < answered.size(); ++i) {
      prometheus::ClientMetric m;
      m.label = {{"format", formats()[i].name}};
      m.counter.value = double(answered[i]);
      scrapes.metric.push_back(std::move(m));
    }
    e.families.push_back(std::move(scrapes));
    prometheus::MetricFamily cost;
    cost.name = "lockscope_refresh_seconds";
    cost.help = "Wall time of the last refresh: maps read, run built, families made";
    cost.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric c;
    c.gauge.value = std::chrono::duration<double>(Clock::now() - start).count();
    cost.metric.push_back(c);
    e.families.push_back(std::move(cost));
    endpoint.publish(e);
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
