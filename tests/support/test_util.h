// Helpers for unit tests: a temporary directory that cleans itself up and a fresh SQLite store.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace firebreak::testing {

// A directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Opens a new SQLite store in `dir` (file firebreak.db); aborts the test on failure.
std::unique_ptr<Store> OpenTestStore(const TempDir& dir);

}  // namespace firebreak::testing
