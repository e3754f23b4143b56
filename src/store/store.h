// Store: the persistence interface that every domain component uses.
//
// Domain code (incidents, audit, auth, ...) sees only this header: typed records and the
// operations on them, grouped in a transaction object. Implementations live beside it:
// sqlite_store.cc today (embedded, one file, WAL), PostgreSQL later behind the same interface.
// Writes go through one path, Write(), which serialises them and commits atomically: what a
// caller sees acknowledged is on disk (WAL, synchronous=NORMAL by default: it survives a crash
// of the process; `synchronous=full` also survives a power cut).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/events.h"
#include "store/idempotency.h"
#include "store/incidents.h"
#include "store/inspections.h"
#include "store/memory.h"
#include "store/paging.h"
#include "store/releases.h"
#include "store/signals.h"
#include "store/tokens.h"
#include "store/traces.h"

namespace firebreak {

// Figures for /metrics.
struct StoreStats {
  std::string backend;
  int64_t schema_version = 0;
  int64_t file_bytes = 0;
  int64_t wal_bytes = 0;
  int64_t write_transactions = 0;
  int64_t failed_write_transactions = 0;
  int64_t read_transactions = 0;
};

// One transaction: the repositories of every area, all reading and writing in it. Not
// thread-safe: a Txn is used by the one thread that runs the transaction's function. Lookups of
// an unknown id return kNotFound. Each area keeps its records and operations in its own header;
// a new area adds one accessor here.
class Txn {
 public:
  virtual ~Txn() = default;
  virtual IncidentRepo& incidents() = 0;
  virtual EventRepo& events() = 0;
  virtual TokenRepo& tokens() = 0;
  virtual ReleaseRepo& releases() = 0;
  virtual MemoryRepo& memory() = 0;
  virtual TraceRepo& traces() = 0;
  virtual SignalRepo& signals() = 0;
  virtual PagingRepo& paging() = 0;
  virtual IdempotencyRepo& idempotency() = 0;
  virtual InspectionRepo& inspections() = 0;
};

class Store {
 public:
  using TxnFn = std::function<Status(Txn&)>;
  virtual ~Store() = default;

  // Runs `fn` in one write transaction and commits when it returns OK, rolls back otherwise.
  // Write transactions are serialised (one write path); returns fn's Status or a store error.
  // Thread-safe.
  virtual Status Write(const TxnFn& fn) = 0;

  // Runs `fn` in a read-only snapshot; many may run at once, also beside a write. Thread-safe.
  virtual Status Read(const TxnFn& fn) = 0;

  // Moves everything written into the main file and empties the write-ahead log, so bytes that
  // were deleted (zeroed by secure_delete) are gone from disk too. Waits for readers in
  // flight. Thread-safe.
  virtual Status Compact() = 0;

  // Returns current figures. Thread-safe.
  virtual StoreStats Stats() = 0;

  // Flushes everything to the main file (checkpoint) and closes; further calls fail.
  virtual Status Close() = 0;
};

struct StoreOptions {
  std::string url;            // "sqlite:PATH"; "postgresql://..." is reserved for server mode
  int read_connections = 4;
  bool synchronous_full = false;  // fsync on every commit (survives power loss)
};

// Opens the store named by options.url, applying pending migrations. Returns kInvalidArgument
// for an unknown scheme and kUnavailable when the store cannot be opened.
StatusOr<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

}  // namespace firebreak
