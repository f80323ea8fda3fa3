/* SPDX-License-Identifier: Apache-2.0 */
/* A relocatable object laid out as a kernel module is: functions in .text
 * and in .init.text, data that is no function. Compiled by the unit tests'
 * CMakeLists and read by tests/unit/workloads/module_symbols_test.cpp. */
int fixture_counter;

int fixture_work_fn(int x) { return x * 3 + fixture_counter; }

static int fixture_static_fn(int x) { return x + 7; }

__attribute__((section(".init.text"))) int fixture_init(void) {
  return fixture_static_fn(fixture_counter);
}
