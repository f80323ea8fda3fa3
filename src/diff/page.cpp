// SPDX-License-Identifier: Apache-2.0
// diff as a picture: an HTML page or one SVG that lead with the verdict and
// the run-level tables, the CDF pictures (output::render_diff_svg) below.
#include <cmath>
#include <cstdlib>

#include "format.hpp"
#include "internal.hpp"
#include "lockscope/core/text.hpp"

namespace lockscope::diff {

namespace {

std::string esc(const std::string& s) { return xml_escape(s); }

// The document without an XML declaration, and its width and height.
std::string strip_prolog(const std::string& svg, double* w, double* h) {
  size_t start = svg.find("<svg");
  std::string body = start == std::string::npos ? std::string() : svg.substr(start);
  auto attr = [&](const char* name) {
    size_t end = body.find('>');
    std::string tag = body.substr(0, end);
    std::string key = std::string(" ") + name + "=\"";
    size_t p = tag.find(key);
    return p == std::string::npos ? 0.0 : std::strtod(tag.c_str() + p + key.size(), nullptr);
  };
  *w = attr("width");
  *h = attr("height");
  return body;
}

const char* outcome_class(Outcome o) {
  return o == Outcome::kPass ? "pass" : o == Outcome::kRegression ? "fail" : "undecided";
}

std::string html_table(const detail::Table& t, size_t left_cols) {
  std::string o = "<table>\n<tr>";
  for (size_t c = 0; c < t[0].size(); ++c)
    o += std::string("<th") + (c < left_cols ? " class=\"l\"" : "") + ">" + esc(t[0][c]) + "</th>";
  o += "</tr>\n";
  for (size_t r = 1; r < t.size(); ++r) {
    o += "<tr>";
    for (size_t c = 0; c < t[r].size(); ++c)
      o +=
          std::string("<td") + (c < left_cols ? " class=\"l\"" : "") + ">" + esc(t[r][c]) + "</td>";
    o += "</tr>\n";
  }
  return o + "</table>\n";
}

const char* const kCss =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0 16px}"
    "th,td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right;white-space:nowrap}"
    "th{background:#f3f3f3}td.l,th.l{text-align:left}.facts,.legend{color:#555}"
    ".verdict{font-size:1.2em;font-weight:bold;padding:8px 12px;margin:8px 0;border:2px solid}"
    ".pass{border-color:#1b7f3b;color:#1b7f3b}.fail{border-color:#b03a00;color:#b03a00}"
    ".undecided{border-color:#8a6d00;color:#8a6d00}";

}  // namespace

std::string render_html(const Report& r, const std::string& pictures) {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>lockscope diff</title>\n<style>" +
      std::string(kCss) + "</style>\n</head>\n<body>\n<h1>lockscope diff</h1>\n";
  o += "<p class=\"facts\">baseline: " +
       esc(detail::side_text(r.base_path, r.base_profiles, r.base_runs, r.base_kernel)) +
       "<br>patched: " +
       esc(detail::side_text(r.cand_path, r.cand_profiles, r.cand_runs, r.cand_kernel)) + "</p>\n";
  if (r.gated) {
    o += "<div class=\"verdict " + std::string(outcome_class(r.outcome)) + "\">" +
         esc(detail::gate_summary(r)) + "</div>\n";
    o += html_table(detail::gate_table(r), 3) + "<ul>\n";
    for (const auto& l : detail::check_lines(r)) o += "<li>" + esc(l) + "</li>\n";
    o += "</ul>\n";
  }
  o += "<h2>Runs</h2>\n" + html_table(detail::seed_table(r), 1) +
       html_table(detail::detail_table(r), 2) + "<p class=\"legend\">";
  for (const auto& l : detail::legend(r)) o += esc(l) + "<br>\n";
  o += "</p>\n";
  if (!r.notes.empty()) {
    o += "<h2>Notes</h2>\n<ul>\n";
    for (const auto& n : r.notes) o += "<li>" + esc(n) + "</li>\n";
    o += "</ul>\n";
  }
  double w = 0, h = 0;
  std::string pic = strip_prolog(pictures, &w, &h);
  if (!pic.empty()) o += "<h2>Distributions (all runs of each side)</h2>\n" + pic + "\n";
  return o + "</body>\n</html>\n";
}

std::string render_svg(const Report& r, const std::string& pictures) {
  std::vector<std::string> lines = {
      "lockscope diff",
      "baseline: " + detail::side_text(r.base_path, r.base_profiles, r.base_runs, r.base_kernel),
      "patched:  " + detail::side_text(r.cand_path, r.cand_profiles, r.cand_runs, r.cand_kernel)};
  if (r.gated) lines.push_back(detail::gate_summary(r));
  std::string text = render_text(r, RenderOptions{});
  // The text rendering's tables (everything after the two side lines).
  size_t body = text.find("\n\n");
  for (size_t p = body == std::string::npos ? text.size() : body + 2; p < text.size();) {
    size_t nl = text.find('\n', p);
    lines.push_back(text.substr(p, nl - p));
    p = nl == std::string::npos ? text.size() : nl + 1;
  }
  size_t cols = 0;
  for (const auto& l : lines) cols = std::max(cols, l.size());
  const double line_h = 14, char_w = 7.2;
  double text_h = line_h * double(lines.size() + 1), pw = 0, ph = 0;
  std::string pic = strip_prolog(pictures, &pw, &ph);
  double width = std::max(pw, 16 + char_w * double(cols)), height = text_h + ph;
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text font-family=\"DejaVu Sans Mono,monospace\" font-size=\"12\" fill=\"#222\" "
      "xml:space=\"preserve\">\n",
      width, height);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string fill;
    if (r.gated && i == 3)
      fill = r.outcome == Outcome::kPass         ? " fill=\"#1b7f3b\" font-weight=\"bold\""
             : r.outcome == Outcome::kRegression ? " fill=\"#b03a00\" font-weight=\"bold\""
                                                 : " fill=\"#8a6d00\" font-weight=\"bold\"";
    o += fmt::format("<tspan x=\"8\" y=\"{:.0f}\"{}>{}</tspan>\n", line_h * double(i + 1), fill,
                     esc(lines[i]));
  }
  o += "</text>\n";
  if (!pic.empty())
    o += fmt::format("<g transform=\"translate(0,{:.0f})\">\n{}</g>\n", text_h, pic);
  return o + "</svg>\n";
}

}  // namespace lockscope::diff
