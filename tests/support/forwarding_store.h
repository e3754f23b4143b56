// A Store that passes every call to a real one: the base of test stores that change one call
// (FailingStore fails writes, a read hook runs code between reads).
#pragma once

#include "store/store.h"

namespace firebreak::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  Status Write(const TxnFn& fn) override { return inner_.Write(fn); }
  Status Read(const TxnFn& fn) override { return inner_.Read(fn); }
  Status Compact() override { return inner_.Compact(); }
  StatusOr<bool> CompactionPending() override { return inner_.CompactionPending(); }
  StoreStats Stats() override { return inner_.Stats(); }
  Status Close() override { return inner_.Close(); }

 protected:
  Store& inner_;
};

}  // namespace firebreak::testing
