#include "support/test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace firebreak::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/firebreak-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<Store> OpenTestStore(const TempDir& dir) {
  StoreOptions options;
  options.url = "sqlite:" + dir.path() + "/firebreak.db";
  options.read_connections = 2;
  auto store = OpenStore(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    std::abort();
  }
  return std::move(store).value();
}

}  // namespace firebreak::testing
