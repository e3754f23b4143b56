// A Store that passes everything to a real one, except the writes a test tells it to fail:
// the seam for "the store failed at this moment" (a full disk, a lock held too long).
#pragma once

#include <atomic>

#include "support/forwarding_store.h"

namespace firebreak::testing {

class FailingStore final : public ForwardingStore {
 public:
  explicit FailingStore(Store& inner) : ForwardingStore(inner) {}

  // Lets the next `pass` writes through, then fails the `fail` after them with kUnavailable.
  void FailWrites(int fail, int pass = 0) {
    pass_writes_ = pass;
    fail_writes_ = fail;
  }
  int failed_writes() const { return failed_; }

  Status Write(const TxnFn& fn) override {
    if (pass_writes_.load() > 0) {
      --pass_writes_;
      return inner_.Write(fn);
    }
    if (fail_writes_.load() > 0) {
      --fail_writes_;
      ++failed_;
      return Unavailable("injected store failure");
    }
    return inner_.Write(fn);
  }

 private:
  std::atomic<int> pass_writes_{0};
  std::atomic<int> fail_writes_{0};
  std::atomic<int> failed_{0};
};

}  // namespace firebreak::testing
