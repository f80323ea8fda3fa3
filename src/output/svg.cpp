// SPDX-License-Identifier: Apache-2.0
// Pictures without a plotting tool: hand-written SVG (log-x histograms with
// percentile markers, baseline-vs-candidate CDFs) and HTML pages around them.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "internal.hpp"
#include "lockscope/core/error.hpp"

namespace lockscope::output {
namespace detail {

std::string slug(const std::string& s) {
  std::string o;
  for (char c : s) o += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '-';
  return o.empty() ? "all" : o;
}

namespace {

constexpr double kW = 820;  // panel width
constexpr double kH = 300;  // panel height
constexpr double kLeft = 72, kRight = 24, kBottom = 52;
const char* const kFont = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";
const char* const kBaseColor = "#0072b2";  // colour-blind safe pair
const char* const kCandColor = "#d55e00";

std::string num(double v) { return fmt::format("{:.1f}", v); }

// The width of an 11 px label in the panels' font (DejaVu Sans averages
// about 0.62 em a character; a little more, so estimates err wide).
double label_width(const std::string& s) { return 7.0 * double(display_width(s)); }

// Value label for ticks: "1 µs" rather than "1.00 µs".
std::string tick_label(double ns) {
  std::string s = format_ns(ns);
  size_t sp = s.find(' ');
  std::string n = s.substr(0, sp), u = sp == std::string::npos ? "" : s.substr(sp);
  if (n.find('.') != std::string::npos) {
    while (!n.empty() && n.back() == '0') n.pop_back();
    if (!n.empty() && n.back() == '.') n.pop_back();
  }
  return n + u;
}

// Upper edge (exclusive) of a bucket, limited to the histogram's max.
double bucket_hi(const Histogram& h, uint32_t idx) {
  double hi = double(Histogram::lower_bound(idx) + Histogram::width(idx));
  return std::min(hi, double(h.max()) + 1.0);
}

struct LogAxis {
  double lo = 0, hi = 1;  // log2 of the range
  double x0 = kLeft, x1 = kW - kRight;
  double x(double v) const {
    double l = std::log2(std::max(v, 1.0));
    return x0 + (l - lo) / (hi - lo) * (x1 - x0);
  }
  void include(const Histogram& h, bool first) {
    double l = std::floor(std::log2(std::max<double>(1.0, double(h.min()))));
    double u = std::ceil(std::log2(double(h.max()) + 1.0));
    if (first) {
      lo = l;
      hi = u;
    } else {
      lo = std::min(lo, l);
      hi = std::max(hi, u);
    }
    if (hi - lo < 1) hi = lo + 1;
  }
  std::vector<double> ticks() const {
    auto collect = [&](std::initializer_list<int> mults) {
      std::vector<double> t;
      for (int e = 0; e <= 13; ++e)
        for (int m : mults) {
          double v = m * std::pow(10.0, e);
          double l = std::log2(v);
          if (l >= lo - 1e-9 && l <= hi + 1e-9) t.push_back(v);
        }
      return t;
    };
    auto t = collect({1, 2, 5});
    if (t.size() > 12) t = collect({1});
    if (t.size() < 3) t = collect({1, 2, 3, 4, 5, 6, 7, 8, 9});
    return t;
  }
};

// Axes, grid and labels of one panel; y ticks are (fraction, label) pairs.
std::string axes(const LogAxis& ax, double ytop, double ybot,
                 const std::vector<std::pair<double, std::string>>& yticks,
                 const std::string& xlabel, const std::string& ylabel) {
  std::string o;
  for (const auto& [f, label] : yticks) {
    double y = ybot - f * (ybot - ytop);
    o += fmt::format(
        "<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e4e4e4\"/>\n",
        num(ax.x0), num(y), num(ax.x1), num(y));
    o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{}</text>\n",
                     num(ax.x0 - 6), num(y + 4), xml_escape(label));
  }
  for (double v : ax.ticks()) {
    double x = ax.x(v);
    o += fmt::format(
        "<line class=\"tick\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n",
        num(x), num(ytop), num(ybot));
    o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n",
                     num(x), num(ybot + 15), xml_escape(tick_label(v)));
  }
  o += fmt::format("<path class=\"axis\" d=\"M{} {} V{} H{}\" fill=\"none\" stroke=\"#333\"/>\n",
                   num(ax.x0), num(ytop), num(ybot), num(ax.x1));
  o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\">{}</text>\n",
                   num((ax.x0 + ax.x1) / 2), num(ybot + 34), xml_escape(xlabel));
  double ym = (ytop + ybot) / 2;
  o += fmt::format(
      "<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" font-size=\"12\" "
      "transform=\"rotate(-90 16 {0})\">{1}</text>\n",
      num(ym), xml_escape(ylabel));
  return o;
}

// The title, and the subtitle under it unless there is none.
std::string panel_title(const std::string& title, const std::string& subtitle) {
  std::string o =
      fmt::format("<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
                  xml_escape(title));
  if (!subtitle.empty())
    o += fmt::format("<text x=\"10\" y=\"38\" font-size=\"12\" fill=\"#555\">{}</text>\n",
                     xml_escape(subtitle));
  return o;
}

// "43.9× baseline": how many events a side has against the first (the CDFs
// are normalised, so their shapes alone hide a change in count).
std::string count_ratio(uint64_t n, uint64_t first, const std::string& first_label) {
  if (first == 0) return {};
  double r = double(n) / double(first);
  return fmt::format(" ({}× {})", r >= 10 ? fmt::format("{:.0f}", r) : fmt::format("{:.3g}", r),
                     first_label);
}

// A "nice" step for a y axis from 0 to `max` with at most ~5 ticks.
double nice_step(double max) {
  if (max <= 0) return 1;
  double raw = max / 5.0;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

}  // namespace

std::vector<LabelSpot> place_labels(const std::vector<double>& xs,
                                    const std::vector<double>& widths, double x_min, double x_max,
                                    double baseline, double row_h) {
  constexpr double kPad = 4, kGap = 6;
  std::vector<size_t> order(xs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return xs[a] < xs[b]; });
  std::vector<LabelSpot> out(xs.size());
  std::vector<std::vector<std::pair<double, double>>> rows;  // taken spans per row
  for (size_t i : order) {
    LabelSpot& l = out[i];
    l.end_anchor = xs[i] + kPad + widths[i] > x_max && xs[i] - kPad - widths[i] >= x_min;
    l.x = l.end_anchor ? xs[i] - kPad : xs[i] + kPad;
    l.left = l.end_anchor ? l.x - widths[i] : l.x;
    l.right = l.left + widths[i];
    size_t r = 0;
    auto clashes = [&](size_t row) {
      return std::any_of(rows[row].begin(), rows[row].end(), [&](const auto& s) {
        return l.left < s.second + kGap && s.first < l.right + kGap;
      });
    };
    while (r < rows.size() && clashes(r)) ++r;
    if (r == rows.size()) rows.emplace_back();
    rows[r].emplace_back(l.left, l.right);
    l.row = int(r);
    l.y = baseline - double(r) * row_h;
  }
  return out;
}

namespace {

// Log-x histogram of one metric: 8 bins per octave, bar height = share of
// events in the bin, dashed markers at p50/p95/p99 labelled above the plot
// (in rows where labels would collide).
std::string hist_panel(const std::string& id, const std::string& title, const Histogram& h) {
  const double ytop = 88, ybot = kH - kBottom;
  LogAxis ax;
  ax.include(h, true);
  std::map<long, uint64_t> bins;  // bin -> count
  for (const auto& [idx, n] : h.buckets()) {
    if (!n) continue;
    double lo = double(Histogram::lower_bound(idx));
    double mid = (lo + bucket_hi(h, idx)) / 2.0;
    bins[long(std::floor(std::log2(std::max(mid, 1.0)) * 8.0))] += n;
  }
  uint64_t maxc = 0;
  for (const auto& [_, n] : bins) maxc = std::max(maxc, n);
  double maxf = double(maxc) / double(h.count());
  double step = nice_step(maxf * 100.0);
  double ymax = std::ceil(maxf * 100.0 / step) * step;  // percent
  if (ymax <= 0) ymax = step;
  std::vector<std::pair<double, std::string>> yt;
  for (double v = 0; v <= ymax + 1e-9; v += step)
    yt.emplace_back(v / ymax, fmt::format("{}%", tick_label(v).substr(0, tick_label(v).find(' '))));

  std::string sub = fmt::format("count {} · min {} · p50 {} · p95 {} · p99 {} · max {}",
                                format_count(h.count()), format_ns(double(h.min())),
                                format_ns(h.quantile(0.5).value), format_ns(h.quantile(0.95).value),
                                format_ns(h.quantile(0.99).value), format_ns(double(h.max())));
  std::string o = panel_title(title, sub);
  o += axes(ax, ytop, ybot, yt, "time per event (log scale)", "share of events");
  std::string d;
  for (const auto& [b, n] : bins) {
    double xa = ax.x(std::exp2(double(b) / 8.0)), xb = ax.x(std::exp2(double(b + 1) / 8.0));
    xa = std::max(xa, ax.x0);
    xb = std::min(std::max(xb, xa + 1.0), ax.x1);
    double hgt = double(n) / double(h.count()) * 100.0 / ymax * (ybot - ytop);
    hgt = std::max(hgt, 1.0);
    d += fmt::format("M{} {}H{}V{}H{}Z", num(xa), num(ybot), num(xb), num(ybot - hgt), num(xa));
  }
  o += fmt::format(
      "<path class=\"series hist\" id=\"{}\" d=\"{}\" fill=\"#5b8fc7\" "
      "stroke=\"#2f5f95\" stroke-width=\"0.5\"/>\n",
      xml_escape(id), d);
  struct M {
    const char* name;
    double q;
    const char* color;
  } marks[] = {{"p50", 0.5, "#222"}, {"p95", 0.95, "#d55e00"}, {"p99", 0.99, "#a0307a"}};
  std::vector<double> xs, widths;
  std::vector<std::string> texts;
  for (const auto& m : marks) {
    texts.push_back(std::string(m.name) + " " + format_ns(h.quantile(m.q).value));
    xs.push_back(ax.x(h.quantile(m.q).value));
    widths.push_back(label_width(texts.back()));
  }
  // Rows of 13 px upwards from just above the plot; the subtitle ends at ~42.
  std::vector<LabelSpot> spots = place_labels(xs, widths, 0, kW - 4, ytop - 6, 13);
  for (size_t i = 0; i < std::size(marks); ++i) {
    const LabelSpot& l = spots[i];
    // The marker reaches up to its label's row.
    o += fmt::format(
        "<line class=\"marker {}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" "
        "stroke-dasharray=\"5 3\" stroke-width=\"1.5\"/>\n",
        marks[i].name, num(xs[i]), num(l.y - 9), num(xs[i]), num(ybot), marks[i].color);
    o += fmt::format(
        "<text class=\"marker-label\" x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\" "
        "text-anchor=\"{}\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">{}"
        "</text>\n",
        num(l.x), num(l.y), marks[i].color, l.end_anchor ? "end" : "start", xml_escape(texts[i]));
  }
  return o;
}

struct CdfSeries {
  std::string id, cls, label, color;
  const Histogram* h;
  bool dashed;
};

std::string cdf_points(const Histogram& h, const LogAxis& ax, double ytop, double ybot) {
  std::string pts = fmt::format("{},{}", num(ax.x(double(h.min()))), num(ybot));
  uint64_t seen = 0;
  for (const auto& [idx, n] : h.buckets()) {
    if (!n) continue;
    seen += n;
    double f = double(seen) / double(h.count());
    pts += fmt::format(" {},{}", num(ax.x(bucket_hi(h, idx))), num(ybot - f * (ybot - ytop)));
  }
  return pts;
}

std::string cdf_panel(const std::string& title, const std::vector<CdfSeries>& series) {
  const double ytop = 78, ybot = kH - kBottom;
  LogAxis ax;
  bool first = true;
  for (const auto& s : series) {
    ax.include(*s.h, first);
    first = false;
  }
  std::vector<std::pair<double, std::string>> yt = {
      {0, "0%"}, {0.25, "25%"}, {0.5, "50%"}, {0.75, "75%"}, {1, "100%"}};
  // Each curve is normalised to its own events: the axis says so.
  std::string o = panel_title(title, "");
  // Legend: one line per series with its count (the others' against the
  // first's) and percentiles.
  double ly = 38;
  for (const auto& s : series) {
    const Histogram& h = *s.h;
    std::string n = format_count(h.count());
    if (&s != &series.front())
      n += count_ratio(h.count(), series.front().h->count(), series.front().label);
    o += fmt::format(
        "<line x1=\"12\" y1=\"{0}\" x2=\"40\" y2=\"{0}\" stroke=\"{1}\" "
        "stroke-width=\"2.5\"{2}/>\n",
        num(ly - 4), s.color, s.dashed ? " stroke-dasharray=\"6 3\"" : "");
    o += fmt::format(
        "<text class=\"legend\" x=\"46\" y=\"{}\" font-size=\"12\">{}: n {} · p50 {} · p95 {} · "
        "p99 {} · max {}</text>\n",
        num(ly), xml_escape(s.label), xml_escape(n), format_ns(h.quantile(0.5).value),
        format_ns(h.quantile(0.95).value), format_ns(h.quantile(0.99).value),
        format_ns(double(h.max())));
    ly += 17;
  }
  o += axes(ax, ytop, ybot, yt, "time per event (log scale)", "fraction of its events ≤ x");
  for (const auto& s : series)
    o += fmt::format(
        "<polyline class=\"series {}\" id=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"2\"{}/>\n",
        s.cls, xml_escape(s.id), cdf_points(*s.h, ax, ytop, ybot), s.color,
        s.dashed ? " stroke-dasharray=\"6 3\"" : "");
  return o;
}

// ---- flame graphs ------------------------------------------------------------

std::string group_key(const RunGroup& g);

// A node of the flame graph: a frame and everything called from it.
struct FlameNode {
  std::string name;
  uint64_t value = 0;
  std::map<std::string, FlameNode> children;
};

constexpr double kFrameH = 17;

// Frames as <g class="frame"> with a <title> tooltip (name, value, share of
// the whole) and data-* attributes the HTML page's script zooms with.
void flame_frames(const FlameNode& n, double x, double w, int depth, int max_depth, uint64_t total,
                  bool timed, double top, std::string& o) {
  if (w < 0.5) return;  // narrower than half a pixel: invisible
  double y = top + double(max_depth - depth) * kFrameH;
  double share = total ? double(n.value) / double(total) : 0;
  std::string value = timed ? format_ns(double(n.value)) : format_count(n.value) + " events";
  // Warm colours by a hash of the name, as flame graphs use them.
  uint64_t hsh = 1469598103934665603ULL;
  for (char c : n.name) hsh = (hsh ^ uint8_t(c)) * 1099511628211ULL;
  int r = 200 + int(hsh % 55), g = 80 + int((hsh >> 8) % 120), b = int((hsh >> 16) % 50);
  size_t chars = w > 14 ? size_t((w - 6) / 7) : 0;
  o += fmt::format(
      "<g class=\"frame\" data-x=\"{:.6f}\" data-w=\"{:.6f}\" data-d=\"{}\" "
      "data-name=\"{}\"><title>{}: {} ({})</title><rect x=\"{}\" y=\"{}\" width=\"{}\" "
      "height=\"{}\" rx=\"2\" fill=\"rgb({},{},{})\"/><text x=\"{}\" y=\"{}\" "
      "font-size=\"11\">{}</text></g>\n",
      (x - 10) / (kW - 20), w / (kW - 20), depth, xml_escape(n.name), xml_escape(n.name), value,
      format_share(share), num(x), num(y), num(std::max(w - 1, 0.5)), num(kFrameH - 1), r, g, b,
      num(x + 3), num(y + 12), xml_escape(chars ? truncate(n.name, chars) : ""));
  double cx = x;
  for (const auto& [_, c] : n.children) {
    double cw = n.value ? w * double(c.value) / double(n.value) : 0;
    flame_frames(c, cx, cw, depth + 1, max_depth, total, timed, top, o);
    cx += cw;
  }
}

int flame_depth(const FlameNode& n) {
  int d = 0;
  for (const auto& [_, c] : n.children) d = std::max(d, 1 + flame_depth(c));
  return d;
}

// One flame graph of a metric's stacks (root at the bottom, width = value).
std::pair<std::string, double> flame_panel(const std::string& id, const std::string& title,
                                           const std::vector<StackSample>& stacks) {
  FlameNode root;
  root.name = "all";
  bool timed = false;
  for (const auto& st : stacks) timed |= st.timed;
  for (const auto& st : stacks) {
    uint64_t v = timed ? st.ns : st.count;
    root.value += v;
    FlameNode* n = &root;
    for (const auto& f : st.frames) {
      n = &n->children[f];
      n->name = f;
      n->value += v;
    }
  }
  int depth = flame_depth(root);
  double top = 44, h = top + double(depth + 1) * kFrameH + 16;
  std::string o = panel_title(title, "flame graph: width is " +
                                         std::string(timed ? "time at the site" : "events") +
                                         ", callers below callees; hover for values");
  o += "<g class=\"flame\" id=\"" + xml_escape(id) + "\">\n";
  if (root.value == 0) {
    o += fmt::format("<text x=\"10\" y=\"{}\" font-size=\"12\">no events</text>\n", num(top + 12));
  } else {
    flame_frames(root, 10, kW - 20, 0, depth, root.value, timed, top, o);
  }
  o += "</g>\n";
  return {o, h};
}

// The flame graphs of a group's stacked metrics among the selection's.
std::vector<std::pair<std::string, double>> flame_panels(const RunGroup& g,
                                                         const std::vector<std::string>& metrics,
                                                         const std::string& prefix) {
  std::vector<std::pair<std::string, double>> out;
  std::vector<std::string> have = stacked_metrics(g.merged);
  for (const auto& name : metrics) {
    if (std::find(have.begin(), have.end(), name) == have.end()) continue;
    out.push_back(flame_panel("flame-" + group_key(g) + "-" + slug(name), prefix + name,
                              run_stacks(g.merged, {name})));
  }
  return out;
}

std::string note_panel(const std::string& title, const std::string& text) {
  return panel_title(title, text);
}

// Stacks panels (each kW x its height) into one document or one inline <svg>.
std::string svg_doc(const std::vector<std::pair<std::string, double>>& panels, bool standalone,
                    const std::string& heading) {
  double head = heading.empty() ? 0 : 34;
  double total = head;
  for (const auto& p : panels) total += p.second;
  if (panels.empty()) total += 40;
  std::string o;
  if (standalone) o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" {2}>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      num(kW), num(total), kFont);
  if (!heading.empty())
    o += fmt::format("<text x=\"10\" y=\"24\" font-size=\"18\" font-weight=\"bold\">{}</text>\n",
                     xml_escape(heading));
  double y = head;
  for (const auto& [body, h] : panels) {
    o += fmt::format("<g transform=\"translate(0 {})\">\n{}</g>\n", num(y), body);
    y += h;
  }
  if (panels.empty())
    o += fmt::format(
        "<text x=\"10\" y=\"{}\" font-size=\"13\">no time distributions in this "
        "selection</text>\n",
        num(head + 24));
  o += "</svg>\n";
  return o;
}

std::string group_key(const RunGroup& g) {
  return g.run_indices.size() == 1 && g.title.rfind("run ", 0) == 0
             ? "run" + std::to_string(g.run_indices[0])
             : slug(g.scope);
}

std::vector<std::pair<std::string, double>> report_panels(const Selection& s, bool notes) {
  std::vector<std::pair<std::string, double>> panels;
  for (const auto& g : s.groups) {
    for (const auto& name : s.metrics) {
      auto it = g.merged.metrics.find(name);
      if (it == g.merged.metrics.end()) continue;
      const Metric& m = it->second;
      std::string title = (s.groups.size() > 1 ? g.title + " · " : "") + name;
      if (!m.ok()) {
        if (notes) panels.emplace_back(note_panel(title, "unavailable: " + m.reason), 50);
        continue;
      }
      if (m.hist && !m.hist->empty()) {
        panels.emplace_back(hist_panel("hist-" + group_key(g) + "-" + slug(name), title, *m.hist),
                            kH);
      } else if (m.count && notes) {
        std::string t = "count " + format_count(*m.count);
        if (m.total) t += " of " + format_count(*m.total);
        if (auto sh = m.share()) t += " (" + format_share(*sh) + ")";
        panels.emplace_back(note_panel(title, t), 50);
      }
    }
  }
  return panels;
}

const char* const kCss =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px;color:#222;"
    "max-width:1100px}"
    "table{border-collapse:collapse;margin:8px 0 16px}"
    "th,td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right;white-space:nowrap}"
    "th{background:#f3f3f3}td.l,th.l{text-align:left}"
    ".drops{background:#fde8e8;border:2px solid #c0392b;color:#8e1b10;padding:8px 12px;"
    "font-weight:bold;margin:8px 0}"
    ".unavail{color:#8a6d00}.facts{color:#555}.desc{color:#555;font-weight:normal}"
    "h2{border-bottom:2px solid #0072b2;padding-bottom:4px;margin-top:32px}"
    "svg{display:block;margin:6px 0 10px}"
    "tr.up td.delta{color:#b03a00;font-weight:bold}tr.down td.delta{color:#006d3a}";

// Click a frame to zoom to it (its callers stay, full width), click the
// bottom frame to zoom out; the search box highlights matching frames and
// says what share of each flame graph they cover. #search=NAME and
// #zoom=GRAPH-ID/FRAME in the address do the same on load.
const char* const kFlameScript = R"JS(<script>
(function () {
  var W = 800, X0 = 10;
  function frames(g) { return Array.prototype.slice.call(g.querySelectorAll('g.frame')); }
  function place(f, x, w) {
    var r = f.querySelector('rect'), t = f.querySelector('text');
    var px = X0 + x * W, pw = w * W;
    r.setAttribute('x', px.toFixed(1)); r.setAttribute('width', Math.max(pw - 1, 0.5).toFixed(1));
    t.setAttribute('x', (px + 3).toFixed(1));
    var n = Math.floor((pw - 6) / 7), name = f.getAttribute('data-name');
    t.textContent = pw > 14 ? (name.length > n ? name.slice(0, Math.max(n - 1, 0)) + '\u2026' : name) : '';
  }
  function zoom(g, z) {
    var zx = +z.getAttribute('data-x'), zw = +z.getAttribute('data-w'), zd = +z.getAttribute('data-d');
    frames(g).forEach(function (f) {
      var x = +f.getAttribute('data-x'), w = +f.getAttribute('data-w'), d = +f.getAttribute('data-d');
      var inside = x >= zx - 1e-9 && x + w <= zx + zw + 1e-9;
      if (d < zd && x <= zx + 1e-9 && x + w >= zx + zw - 1e-9) { place(f, 0, 1); f.style.display = ''; }
      else if (d >= zd && inside) { place(f, (x - zx) / zw, w / zw); f.style.display = ''; }
      else f.style.display = 'none';
    });
    g.setAttribute('data-zoomed', zd > 0 ? '1' : '0');
  }
  document.querySelectorAll('g.flame').forEach(function (g) {
    frames(g).forEach(function (f) {
      f.style.cursor = 'pointer';
      f.addEventListener('click', function () { zoom(g, f); });
    });
  });
  var box = document.getElementById('flame-search'), out = document.getElementById('flame-found');
  function search() {
    var q = box.value, found = [];
    document.querySelectorAll('g.flame').forEach(function (g) {
      var share = 0, spans = [];
      frames(g).forEach(function (f) {
        var hit = q !== '' && f.getAttribute('data-name').indexOf(q) >= 0;
        f.querySelector('rect').setAttribute('stroke', hit ? '#6a0dad' : 'none');
        f.querySelector('rect').setAttribute('stroke-width', hit ? '2' : '0');
        f.classList.toggle('match', hit);
        if (!hit) return;
        var x = +f.getAttribute('data-x'), w = +f.getAttribute('data-w');
        if (!spans.some(function (s) { return x >= s[0] - 1e-9 && x + w <= s[1] + 1e-9; })) {
          spans.push([x, x + w]); share += w;
        }
      });
      if (q !== '') found.push(g.id + ': ' + (100 * share).toFixed(1) + '%');
    });
    out.textContent = found.join(' \u00b7 ');
  }
  if (box) box.addEventListener('input', search);
  // Links into the page: #search=NAME, #zoom=GRAPH-ID/FRAME (both may be given, '&').
  location.hash.slice(1).split('&').forEach(function (kv) {
    var i = kv.indexOf('='), k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1));
    if (k === 'search' && box) { box.value = v; search(); }
    if (k === 'zoom') {
      var j = v.indexOf('/'), g = document.getElementById(v.slice(0, j));
      var f = g && frames(g).filter(function (f) { return f.getAttribute('data-name') === v.slice(j + 1); })[0];
      if (f) zoom(g, f);
    }
  });
})();
</script>
)JS";

std::string html_head(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         xml_escape(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
}

std::string html_table(const std::vector<std::string>& head, const std::vector<bool>& left,
                       const std::vector<std::vector<std::string>>& rows,
                       const std::vector<std::string>& row_class = {}) {
  std::string o = "<table>\n<tr>";
  for (size_t c = 0; c < head.size(); ++c)
    o += std::string("<th") + (left[c] ? " class=\"l\"" : "") + ">" + xml_escape(head[c]) + "</th>";
  o += "</tr>\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    o += "<tr" +
         (r < row_class.size() && !row_class[r].empty() ? " class=\"" + row_class[r] + "\""
                                                        : std::string()) +
         ">";
    for (size_t c = 0; c < rows[r].size(); ++c) {
      std::string cls = left[c] ? "l" : "";
      if (head[c] == "delta") cls = "delta";
      o += "<td" + (cls.empty() ? std::string() : " class=\"" + cls + "\"") + ">" +
           xml_escape(rows[r][c]) + "</td>";
    }
    o += "</tr>\n";
  }
  return o + "</table>\n";
}

std::string pct_with_err(const Histogram& h, double q) {
  auto v = h.quantile(q);
  return format_ns(v.value) + (v.error_bound > 0 ? " ±" + format_ns(v.error_bound) : "");
}

}  // namespace

std::string render_svg(const Profile& p, const Selection& s, const ReportOptions& o) {
  std::string heading = "lockscope report" + (o.source.empty() ? "" : ": " + o.source);
  if (!p.label.empty()) heading += " (" + p.label + ")";
  auto panels = report_panels(s, false);
  for (const auto& g : s.groups)
    for (auto& f : flame_panels(g, s.metrics, s.groups.size() > 1 ? g.title + " · " : ""))
      panels.push_back(std::move(f));
  return svg_doc(panels, true, heading);
}

std::string render_html(const Profile& p, const Selection& s, const ReportOptions& o) {
  std::string title = "lockscope report" + (o.source.empty() ? "" : ": " + o.source);
  std::string out = html_head(title) + "<h1>" + xml_escape(title) + "</h1>\n";
  out += "<p class=\"facts\">" + xml_escape(profile_facts(p)) + "</p>\n";
  bool flames = false;
  for (const auto& g : s.groups) flames |= !stacked_metrics(g.merged).empty();
  if (flames)
    out +=
        "<p class=\"search\">Flame graphs: click a frame to zoom, the bottom frame to zoom out; "
        "search <input id=\"flame-search\" type=\"search\" placeholder=\"function\"> "
        "<span id=\"flame-found\"></span></p>\n";
  for (const auto& l : refused_lines(p, o.verbose))
    out += "<p class=\"unavail\">" + xml_escape(l) + "</p>\n";
  for (const auto& u : unavailable_metrics(s))
    out += "<p class=\"unavail\">" + xml_escape(unavailable_line(u)) + "</p>\n";
  for (const auto& g : s.groups) {
    const Run& run = g.merged;
    out += "<h2>" + xml_escape(g.title) +
           (run.duration_s > 0 ? fmt::format(" · {:.1f} s", run.duration_s) : "") + "</h2>\n";
    if (run.total_drops() > 0)
      out += "<div class=\"drops\">DROPS: " + format_count(run.total_drops()) + " events lost (" +
             xml_escape(drops_list(run)) + "): counts and percentiles undercount</div>\n";
    if (!g.items_per_sec.empty())
      out += "<p>Workload " + xml_escape(g.workload_name) + ": " + xml_escape(throughput(g)) +
             "</p>\n";
    for (const auto& name : s.metrics) {
      auto it = run.metrics.find(name);
      if (it == run.metrics.end()) continue;
      const Metric& m = it->second;
      if (!m.ok()) continue;  // named once at the top
      std::string desc = metric_description(name);
      out += "<h3>" + xml_escape(name) +
             (desc.empty() ? "" : " <span class=\"desc\">· " + xml_escape(desc) + "</span>") +
             "</h3>\n";
      if (m.count) {
        std::string t = "count " + format_count(*m.count);
        if (m.total) t += " of " + format_count(*m.total);
        if (auto sh = m.share()) t += " (" + format_share(*sh) + ")";
        out += "<p>" + xml_escape(t) + "</p>\n";
      }
      if (m.hist && !m.hist->empty()) {
        const Histogram& h = *m.hist;
        std::vector<std::string> head = {"count", "min"},
                                 row = {format_count(h.count()), format_ns(double(h.min()))};
        for (const auto& pc : kPcts)
          head.emplace_back(pc.name), row.push_back(pct_with_err(h, pc.q));
        head.emplace_back("max"), row.push_back(format_ns(double(h.max())));
        head.emplace_back("mean"), row.push_back(format_ns(h.mean()));
        out += html_table(head, std::vector<bool>(head.size(), false), {row});
        out += svg_doc({{hist_panel("hist-" + group_key(g) + "-" + slug(name), name, h), kH}},
                       false, "");
      }
      if (!m.by_kind.empty()) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& [k, h] : m.by_kind)
          rows.push_back({k, format_count(h.count()), format_ns(h.quantile(0.5).value),
                          format_ns(h.quantile(0.95).value), format_ns(h.quantile(0.99).value),
                          format_ns(double(h.max()))});
        out += html_table({"pool kind", "count", "p50", "p95", "p99", "max"},
                          {true, false, false, false, false, false}, rows);
      }
      if (!m.by_site.empty()) {
        SiteRows sr = site_rows(name, m, 0, nullptr);
        out += html_table(sr.head, sr.left, sr.rows);
        for (auto& f : flame_panels(g, {name}, ""))
          out += "<div class=\"flamebox\">" + svg_doc({f}, false, "") + "</div>\n";
      }
    }
  }
  return out + (flames ? kFlameScript : "") + "</body>\n</html>\n";
}

}  // namespace detail

using namespace detail;

namespace {

struct DiffPanel {
  std::string scope, metric;
  const Histogram* base = nullptr;
  const Histogram* cand = nullptr;
};

struct DiffData {
  std::vector<RunGroup> bg, cg;  // own the merged histograms
  std::vector<DiffPanel> panels;
  std::string base_label, cand_label;
};

DiffData diff_data(const Profile& base, const Profile& cand, const DiffPictureOptions& o) {
  DiffData d;
  d.bg = group_runs(base);
  d.cg = group_runs(cand);
  d.base_label = !o.base_label.empty() ? o.base_label
                 : !base.label.empty() ? base.label
                                       : "baseline";
  d.cand_label = !o.cand_label.empty() ? o.cand_label
                 : !cand.label.empty() ? cand.label
                                       : "candidate";
  if (d.base_label == d.cand_label) {
    d.base_label += " (baseline)";
    d.cand_label += " (candidate)";
  }
  std::vector<std::string> scopes;
  for (const auto* gs : {&d.bg, &d.cg})
    for (const auto& g : *gs)
      if (std::find(scopes.begin(), scopes.end(), g.scope) == scopes.end())
        scopes.push_back(g.scope);
  if (!o.scope.empty()) {
    if (std::find(scopes.begin(), scopes.end(), o.scope) == scopes.end())
      throw usage_error("no run of scope '" + o.scope + "' in either profile");
    scopes = {o.scope};
  }
  auto find = [](const std::vector<RunGroup>& gs, const std::string& s) -> const RunGroup* {
    for (const auto& g : gs)
      if (g.scope == s) return &g;
    return nullptr;
  };
  auto hist_of = [](const RunGroup* g, const std::string& m) -> const Histogram* {
    if (!g) return nullptr;
    auto it = g->merged.metrics.find(m);
    if (it == g->merged.metrics.end() || !it->second.ok() || !it->second.hist ||
        it->second.hist->empty())
      return nullptr;
    return &*it->second.hist;
  };
  for (const auto& s : scopes) {
    const RunGroup* b = find(d.bg, s);
    const RunGroup* c = find(d.cg, s);
    std::vector<std::string> names;
    for (const RunGroup* g : {b, c})
      if (g)
        for (const auto& [n, _] : g->merged.metrics) names.push_back(n);
    for (const auto& n : metric_order(names)) {
      if (!o.metrics.empty() && std::find(o.metrics.begin(), o.metrics.end(), n) == o.metrics.end())
        continue;
      DiffPanel p{s, n, hist_of(b, n), hist_of(c, n)};
      if (p.base || p.cand) d.panels.push_back(p);
    }
  }
  return d;
}

std::vector<std::pair<std::string, double>> diff_panels(const DiffData& d) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& p : d.panels) {
    std::vector<CdfSeries> series;
    std::string key = slug(p.scope) + "-" + slug(p.metric);
    if (p.base)
      series.push_back({"cdf-base-" + key, "cdf base", d.base_label, kBaseColor, p.base, false});
    if (p.cand)
      series.push_back({"cdf-cand-" + key, "cdf cand", d.cand_label, kCandColor, p.cand, true});
    std::string title = (p.scope.empty() ? "" : "scope " + p.scope + " · ") + p.metric;
    out.emplace_back(cdf_panel(title, series), kH);
  }
  return out;
}

// ---- differential flame graphs ---------------------------------------------------

struct DiffNode {
  std::string name;
  uint64_t base = 0, cand = 0;
  std::map<std::string, DiffNode> children;
};

int diff_depth(const DiffNode& n) {
  int d = 0;
  for (const auto& [_, c] : n.children) d = std::max(d, 1 + diff_depth(c));
  return d;
}

// Width: both sides together (baseline + candidate), so a stack one side
// lacks stays visible; colour: red where the candidate has more, blue where
// it has less, by (cand - base) / (cand + base).
void diff_frames(const DiffNode& n, double x, double w, int depth, int max_depth, bool timed,
                 double top, std::string& o) {
  if (w < 0.5) return;
  double y = top + double(max_depth - depth) * kFrameH;
  double sum = double(n.base + n.cand);
  double r = sum > 0 ? (double(n.cand) - double(n.base)) / sum : 0;
  int light = 255 - int(std::lround(150 * std::fabs(r)));  // text stays readable
  int red = r > 0 ? 255 : light, blue = r < 0 ? 255 : light, green = light;
  auto v = [&](uint64_t x) { return timed ? format_ns(double(x)) : format_count(x); };
  std::string change =
      n.base ? fmt::format("{:+.1f}%", 100.0 * (double(n.cand) / double(n.base) - 1)) : "new";
  size_t chars = w > 14 ? size_t((w - 6) / 7) : 0;
  o += fmt::format(
      "<g class=\"frame diff\" data-name=\"{}\" data-base=\"{}\" data-cand=\"{}\"><title>{}: "
      "baseline {} → candidate {} ({})</title><rect x=\"{}\" y=\"{}\" width=\"{}\" "
      "height=\"{}\" rx=\"2\" fill=\"rgb({},{},{})\" stroke=\"#999\" stroke-width=\"0.3\"/>"
      "<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text></g>\n",
      xml_escape(n.name), n.base, n.cand, xml_escape(n.name), v(n.base), v(n.cand), change, num(x),
      num(y), num(std::max(w - 1, 0.5)), num(kFrameH - 1), red, green, blue, num(x + 3),
      num(y + 12), xml_escape(chars ? truncate(n.name, chars) : ""));
  double cx = x;
  for (const auto& [_, c] : n.children) {
    double cw = sum > 0 ? w * double(c.base + c.cand) / sum : 0;
    diff_frames(c, cx, cw, depth + 1, max_depth, timed, top, o);
    cx += cw;
  }
}

std::vector<std::pair<std::string, double>> diff_flame_panels(const Profile& base,
                                                              const Profile& cand,
                                                              const DiffPictureOptions& o,
                                                              const DiffData& d) {
  Run b = merge_scope(base, o.scope), c = merge_scope(cand, o.scope);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& name : stacked_metrics(b, c)) {
    if (!o.metrics.empty() &&
        std::find(o.metrics.begin(), o.metrics.end(), name) == o.metrics.end())
      continue;
    std::vector<StackSample> sb = run_stacks(b, {name}), sc = run_stacks(c, {name});
    bool timed = false;
    for (const auto* v : {&sb, &sc})
      for (const auto& st : *v) timed |= st.timed;
    DiffNode root;
    root.name = "all";
    auto add = [&](const std::vector<StackSample>& v, bool is_base) {
      for (const auto& st : v) {
        uint64_t x = timed ? st.ns : st.count;
        (is_base ? root.base : root.cand) += x;
        DiffNode* n = &root;
        for (const auto& f : st.frames) {
          n = &n->children[f];
          n->name = f;
          (is_base ? n->base : n->cand) += x;
        }
      }
    };
    add(sb, true);
    add(sc, false);
    int depth = diff_depth(root);
    double top = 44, h = top + double(depth + 1) * kFrameH + 16;
    std::string body = panel_title("differential flame graph · " + name,
                                   "width: " + d.base_label + " + " + d.cand_label + " " +
                                       (timed ? "time" : "events") + "; red: more in " +
                                       d.cand_label + ", blue: less");
    body += "<g class=\"flame diff\" id=\"diffflame-" + slug(name) + "\">\n";
    if (root.base + root.cand > 0) diff_frames(root, 10, kW - 20, 0, depth, timed, top, body);
    body += "</g>\n";
    out.emplace_back(body, h);
  }
  return out;
}

}  // namespace

std::string render_diff_svg(const Profile& base, const Profile& cand, const DiffPictureOptions& o) {
  DiffData d = diff_data(base, cand, o);
  auto panels = diff_panels(d);
  for (auto& f : diff_flame_panels(base, cand, o, d)) panels.push_back(std::move(f));
  return svg_doc(panels, true, "lockscope diff: " + d.base_label + " vs " + d.cand_label);
}

std::string render_diff_html(const Profile& base, const Profile& cand,
                             const DiffPictureOptions& o) {
  DiffData d = diff_data(base, cand, o);
  std::string title = "lockscope diff: " + d.base_label + " vs " + d.cand_label;
  std::string out = html_head(title) + "<h1>" + xml_escape(title) + "</h1>\n";
  out += "<p class=\"facts\">baseline: " + xml_escape(profile_facts(base)) +
         "<br>candidate: " + xml_escape(profile_facts(cand)) + "</p>\n";
  auto panels = diff_panels(d);
  std::string scope = "\x01";
  for (size_t i = 0; i < d.panels.size(); ++i) {
    const DiffPanel& p = d.panels[i];
    if (p.scope != scope) {
      scope = p.scope;
      out += "<h2>" + xml_escape(scope.empty() ? "recording" : "scope " + scope) + "</h2>\n";
    }
    std::string desc = metric_description(p.metric);
    out += "<h3>" + xml_escape(p.metric) +
           (desc.empty() ? "" : " <span class=\"desc\">· " + xml_escape(desc) + "</span>") +
           "</h3>\n";
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> cls;
    auto row = [&](const std::string& what, double b, double c, bool have_b, bool have_c,
                   const std::string& bs, const std::string& cs) {
      std::string delta = "-", k;
      if (have_b && have_c && b > 0) {
        double pct = (c - b) / b * 100.0;
        delta = fmt::format("{:+.1f}%", pct);
        k = pct > 0.05 ? "up" : pct < -0.05 ? "down" : "";
      }
      rows.push_back({what, have_b ? bs : "-", have_c ? cs : "-", delta});
      cls.push_back(k);
    };
    row("count", p.base ? double(p.base->count()) : 0, p.cand ? double(p.cand->count()) : 0, p.base,
        p.cand, p.base ? format_count(p.base->count()) : "",
        p.cand ? format_count(p.cand->count()) : "");
    for (const auto& pc : kPcts)
      row(pc.name, p.base ? p.base->quantile(pc.q).value : 0,
          p.cand ? p.cand->quantile(pc.q).value : 0, p.base, p.cand,
          p.base ? pct_with_err(*p.base, pc.q) : "", p.cand ? pct_with_err(*p.cand, pc.q) : "");
    row("max", p.base ? double(p.base->max()) : 0, p.cand ? double(p.cand->max()) : 0, p.base,
        p.cand, p.base ? format_ns(double(p.base->max())) : "",
        p.cand ? format_ns(double(p.cand->max())) : "");
    out += html_table({"", d.base_label, d.cand_label, "delta"}, {true, false, false, false}, rows,
                      cls);
    out += svg_doc({panels[i]}, false, "");
  }
  if (d.panels.empty()) out += "<p>No time distributions to compare.</p>\n";
  return out + "</body>\n</html>\n";
}

}  // namespace lockscope::output
