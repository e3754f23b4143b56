// Reports of the battery for other tools, from the API's JSON (pure; docs/regress.md):
// JUnit XML of a run for CI systems, and the battery as a promptfoo configuration.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace firebreak::regress {

// Returns a run (GET /api/v1/regressions/runs/{id}) as JUnit XML: one testsuite for the run,
// one testcase per case (a failure with the assertion or replay-mismatch reasons, an error
// for an errored case, nothing for a pass). Control characters XML 1.0 forbids are dropped.
std::string JUnitXml(const nlohmann::json& run);

// Returns the cases (GET /api/v1/regressions) as a promptfoo configuration in YAML: one test
// per case with the input, context and tool mocks as vars and the assertions promptfoo has
// (contains, not-contains, icontains, regex, not-regex, equals, json-schema as is-json); the
// others (no-pii, tool-*) stay in the test's metadata. `provider`: the version's manifest
// `regression` section, or null.
std::string PromptfooYaml(const std::string& agent, const nlohmann::json& cases,
                          const nlohmann::json& provider);

}  // namespace firebreak::regress
