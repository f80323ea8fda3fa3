// SPDX-License-Identifier: Apache-2.0
// Shared between the files of src/diff (not a public interface).
#pragma once

#include <string>
#include <vector>

#include "lockscope/diff/diff.hpp"
#include "lockscope/stats/stats.hpp"

namespace lockscope::diff::detail {

// Marks the rows the tables show (Row::in_table) and adjusts their p-values
// (Row::q, Benjamini-Hochberg over the marked rows). Rows a check names are
// always shown.
void mark_table(Report& r);

// The table's keys of one scope, in display order.
std::vector<std::string> table_keys(const Report& r, const std::string& scope);

// Rendered tables: rows of cells, the first row the header.
using Table = std::vector<std::vector<std::string>>;
Table seed_table(const Report& r);    // affinity_scope, baseline, patched, tput gain, p95 drop
Table detail_table(const Report& r);  // one row per table row of the report
Table gate_table(const Report& r);    // one row per check (no reasons)
std::vector<std::string> legend(const Report& r);
std::string gate_summary(const Report& r);
// "PASS tput[cache] >= +5% (cache): reason" and, for undecided checks, the
// runs hint: one entry per check.
std::vector<std::string> check_lines(const Report& r);
std::string side_text(const std::string& path, size_t profiles, size_t runs,
                      const std::string& kernel);

// Tests check `c` of expression `g` on `row` at level `alpha`: fills the
// evidence (estimate, ci, n_base, n_cand, p_pass, p_fail) and returns true;
// or returns false with c.reason set when the run counts or values cannot
// give a test (then the check stays out of the FAIL family).
bool test_check(const GateExpr& g, const Row& row, double alpha, Check& c);
// The outcome's reason, and for an undecided check the runs per side that
// would likely decide it (c.runs_needed, c.hint). `fail_alpha` is the level
// a FAIL would need unadjusted (alpha / family size).
void explain(const GateExpr& g, const Row& row, double alpha, double fail_alpha, Check& c);

}  // namespace lockscope::diff::detail
