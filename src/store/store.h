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
#include "store/comms.h"
#include "store/events.h"
#include "store/idempotency.h"
#include "store/incidents.h"
#include "store/inspections.h"
#include "store/memory.h"
#include "store/paging.h"
#include "store/postmortems.h"
#include "store/regressions.h"
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

  // Records, in this transaction, that content was deleted which must leave the files: the
  // record commits with the deletion and stays until Compact() has finished, so a crash in
  // between leaves CompactionPending() true for the next start to finish.
  virtual Status RequestCompaction() = 0;
  virtual IdempotencyRepo& idempotency() = 0;
  virtual InspectionRepo& inspections() = 0;
  virtual CommsRepo& comms() = 0;
  virtual PostmortemRepo& postmortems() = 0;
  virtual RegressionRepo& regressions() = 0;
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

  // Makes deleted content leave every file of the store (docs/memory.md, "Purge"): merges
  // every full-text index into one segment, rebuilds every page of the main file (VACUUM, temp
  // data in memory only), checkpoints the write-ahead log and truncates it to zero bytes, then
  // clears the RequestCompaction() record. Holds the write path for its whole duration (writes
  // wait) and waits for readers in flight; on failure the record stays. Thread-safe.
  virtual Status Compact() = 0;

  // Returns whether a committed transaction asked for a compaction that has not finished (a
  // failure or a crash in between). Thread-safe.
  virtual StatusOr<bool> CompactionPending() = 0;

  // Returns current figures. Thread-safe.
  virtual StoreStats Stats() = 0;

  // Flushes everything to the main file (checkpoint) and closes; further calls fail.
  virtual Status Close() = 0;
};

// Ties the write transactions run on this thread, while the scope lives, to one
// Idempotency-Key: the first of them that commits also stores `applied` (state "applied") in
// the same transaction, so that a crash between a write and its stored answer leaves the key
// saying the write happened (api/handler_util.h, Idempotent). Every Store implementation calls
// MarkInTxn at the end of each write transaction's function and Committed after its commit.
class IdempotentWriteScope {
 public:
  explicit IdempotentWriteScope(IdempotencyRecord applied);
  ~IdempotentWriteScope();
  IdempotentWriteScope(const IdempotentWriteScope&) = delete;
  IdempotentWriteScope& operator=(const IdempotentWriteScope&) = delete;

  // Whether a write transaction committed under this scope.
  bool applied() const { return applied_; }

  // For Store implementations: stores the record in `txn` when this thread's scope has had no
  // committed write yet.
  static Status MarkInTxn(Txn& txn);
  // For Store implementations: the write transaction on this thread committed.
  static void Committed();

 private:
  IdempotencyRecord record_;
  bool marked_ = false;   // stored in the transaction running now
  bool applied_ = false;  // stored in a committed transaction
  IdempotentWriteScope* outer_;
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
