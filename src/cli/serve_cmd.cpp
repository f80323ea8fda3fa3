// SPDX-License-Identifier: Apache-2.0
// lockscope serve: record continuously and answer GET /metrics for
// Prometheus (docs/prometheus.md). Same load plan and options as record.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/probe/probe.hpp"
#include "lockscope/record/load_plan.hpp"
#include "session_options.hpp"
#if LOCKSCOPE_HAVE_SERVE
#include "lockscope/serve/server.hpp"
#endif

namespace lockscope::cli {

namespace {

struct ServeOpts : SessionOpts {
  std::string listen = "127.0.0.1:9488";
  double refresh = 1.0;
  size_t top_sites = 10;
};

#if LOCKSCOPE_HAVE_SERVE
int do_serve(const ServeOpts& o) {
  install_stop_handlers();  // first: a signal while loading still ends cleanly
  serve::ListenAddress addr = serve::parse_listen(o.listen);
  parse_backend(o.backend);  // a bad --backend is a usage error before anything else
  require_bpf_privileges("lockscope serve");
  // Listen before loading anything: a port in use fails at once.
  serve::MetricsEndpoint endpoint(addr);
  Attached a = attach_session(o, "lockscope serve", false);
  serve::ListenAddress real = addr;
  real.port = endpoint.port();
  std::fprintf(stderr, "lockscope: serving http://%s/metrics (refresh every %gs)\n",
               real.text().c_str(), o.refresh);
  serve::ServeOptions so;
  so.refresh_s = o.refresh;
  so.top_sites = o.top_sites;
  so.program_stats = o.stats;
  serve::ServeSession s{a.session.get(), &a.availability, &a.syms, &a.profile};
  serve::serve_until_stopped(s, endpoint, so);
  a.session.reset();  // detach first: the kernel is left as found
  std::fprintf(stderr, "lockscope: stopped serving; every program detached\n");
  return kExitOk;
}
#else
int do_serve(const ServeOpts&) {
  throw unsupported("this lockscope was built without serve (the fully static build)",
                    "use the regular (dynamically linked) build for lockscope serve");
}
#endif

}  // namespace

void register_serve(CLI::App& app, Action& run) {
  auto o = std::make_shared<ServeOpts>();
#if LOCKSCOPE_HAVE_SERVE
  const char* what =
      "Record continuously and serve the metrics to Prometheus (GET /metrics: text 0.0.4, "
      "OpenMetrics, or protobuf with native histograms, as the scraper asks; "
      "docs/prometheus.md)";
#else
  const char* what =
      "Not in this build: the fully static binary leaves serve out (prometheus-cpp and "
      "civetweb are shared only); use the regular build";
#endif
  CLI::App* sub = app.add_subcommand("serve", what);
  sub->add_option("--listen", o->listen,
                  "HOST:PORT to listen on (numeric address; [ADDR]:PORT for IPv6; port 0: any)")
      ->capture_default_str();
  sub->add_option("--refresh", o->refresh,
                  "Seconds between reads of the BPF maps (scrapes answer the latest read)")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  sub->add_option("--top-sites", o->top_sites,
                  "Sites per metric with their own site label (the largest by time); the rest "
                  "are site=\"other\" "
                  "(0: no per-site series)")
      ->check(CLI::Range(size_t(0), size_t(1000)))
      ->capture_default_str();
  add_session_options(*sub, *o);
  sub->footer(
      "Examples:\n"
      "  sudo lockscope serve                         # http://127.0.0.1:9488/metrics\n"
      "  sudo lockscope serve --listen 0.0.0.0:9488 --backend tracepoint --top-sites 5\n"
      "  curl -H 'Accept: application/openmetrics-text' http://127.0.0.1:9488/metrics\n"
      "SIGTERM or SIGINT stop it; every BPF program is detached before it exits.\n"
      "A port already in use: exit 4 at once, before anything is loaded.");
  sub->callback([o, &run] { run = [o] { return do_serve(*o); }; });
}

}  // namespace lockscope::cli
