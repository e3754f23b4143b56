// SQLite implementation of Store: one file in WAL mode, one writer connection (the one write
// path, serialised by a mutex) and a small pool of read-only connections for concurrent reads.
// Statements are prepared once per connection and cached.
#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "store/migrations.h"
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

int64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

class SqliteStore final : public Store {
 public:
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& path, const StoreOptions& opt) {
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore(path));
    FB_ASSIGN_OR_RETURN(store->writer_, Connection::Open(path, /*read_only=*/false));
    Connection& w = *store->writer_;
    // page_size takes effect only on a new file, before WAL is switched on.
    FB_RETURN_IF_ERROR(w.Exec("PRAGMA page_size=16384"));
    FB_RETURN_IF_ERROR(w.Exec("PRAGMA journal_mode=WAL"));
    FB_RETURN_IF_ERROR(w.Exec(opt.synchronous_full ? "PRAGMA synchronous=FULL"
                                                   : "PRAGMA synchronous=NORMAL"));
    FB_RETURN_IF_ERROR(w.Exec("PRAGMA cache_size=-65536"));
    FB_RETURN_IF_ERROR(w.Exec("PRAGMA foreign_keys=ON"));
    // Deleted content is overwritten with zeros at once; Compact() then rebuilds every page, and
    // keeps its temporary copy of the database in memory, never in a temp file.
    FB_RETURN_IF_ERROR(w.Exec("PRAGMA secure_delete=ON"));
    FB_RETURN_IF_ERROR(w.Exec("PRAGMA temp_store=MEMORY"));
    FB_RETURN_IF_ERROR(store->Migrate());
    for (int i = 0; i < std::max(1, opt.read_connections); ++i) {
      FB_ASSIGN_OR_RETURN(auto r, Connection::Open(path, /*read_only=*/true));
      FB_RETURN_IF_ERROR(r->Exec("PRAGMA cache_size=-16384"));
      store->free_readers_.push_back(r.get());
      store->readers_.push_back(std::move(r));
    }
    return std::unique_ptr<Store>(std::move(store));
  }

  ~SqliteStore() override { (void)Close(); }

  Status Write(const TxnFn& fn) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!writer_) return Unavailable("store is closed");
    Status s = RunInTxn(*writer_, "BEGIN IMMEDIATE", [&fn](Txn& txn) -> Status {
      FB_RETURN_IF_ERROR(fn(txn));
      return IdempotentWriteScope::MarkInTxn(txn);
    });
    (s.ok() ? write_txns_ : failed_write_txns_)++;
    if (s.ok()) IdempotentWriteScope::Committed();
    return s;
  }

  Status Read(const TxnFn& fn) override {
    Connection* conn = nullptr;
    {
      std::unique_lock<std::mutex> lock(readers_mu_);
      readers_cv_.wait(lock, [&] { return closed_ || !free_readers_.empty(); });
      if (closed_) return Unavailable("store is closed");
      conn = free_readers_.back();
      free_readers_.pop_back();
      read_txns_++;
    }
    // The connection goes back to the pool however `fn` ends, a thrown exception included.
    struct ReturnToPool {
      SqliteStore* store;
      Connection* conn;
      ~ReturnToPool() {
        {
          std::lock_guard<std::mutex> lock(store->readers_mu_);
          store->free_readers_.push_back(conn);
        }
        store->readers_cv_.notify_one();
      }
    } give_back{this, conn};
    return RunInTxn(*conn, "BEGIN", fn);
  }

  Status Compact() override {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!writer_) return Unavailable("store is closed");
    Connection& w = *writer_;
    // Deleted full-text terms stay in old segments until a merge; VACUUM copies rows as they
    // are, so the segments are merged first.
    std::vector<std::string> fts_tables;
    {
      FB_ASSIGN_OR_RETURN(auto q, w.Prepare(
          "SELECT name FROM sqlite_master WHERE type='table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'"));
      FB_ASSIGN_OR_RETURN(fts_tables, CollectRows<std::string>(*q, [](const Query& r) { return r.Text(0); }));
    }
    for (const std::string& t : fts_tables) {
      FB_RETURN_IF_ERROR(w.Exec("INSERT INTO \"" + t + "\" (\"" + t + "\") VALUES ('optimize')"));
    }
    // secure_delete zeroes deleted cells and freed pages, but not copies a page split left in
    // the unused space of other pages: VACUUM rebuilds every page from the live rows only.
    FB_RETURN_IF_ERROR(w.Exec("VACUUM"));
    FB_RETURN_IF_ERROR(Checkpoint(w));
    // The WAL is empty now: the row's deletion lands in a fresh log of clean pages.
    FB_RETURN_IF_ERROR(w.Exec("DELETE FROM store_compaction"));
    (void)Checkpoint(w);
    return Status::Ok();
  }

  StatusOr<bool> CompactionPending() override {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!writer_) return Unavailable("store is closed");
    FB_ASSIGN_OR_RETURN(auto q, writer_->Prepare("SELECT count(*) FROM store_compaction"));
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    return row && q->Int(0) > 0;
  }

  StoreStats Stats() override {
    StoreStats st;
    st.backend = "sqlite";
    st.schema_version = schema_version_;
    st.file_bytes = FileSize(path_);
    st.wal_bytes = FileSize(path_ + "-wal");
    st.write_transactions = write_txns_;
    st.failed_write_transactions = failed_write_txns_;
    std::lock_guard<std::mutex> lock(readers_mu_);
    st.read_transactions = read_txns_;
    return st;
  }

  Status Close() override {
    std::lock_guard<std::mutex> wlock(write_mu_);
    {
      std::unique_lock<std::mutex> lock(readers_mu_);
      if (closed_) return Status::Ok();
      closed_ = true;
      readers_cv_.notify_all();
      // Wait until every reader is back before closing them.
      readers_cv_.wait(lock, [&] { return free_readers_.size() == readers_.size(); });
      free_readers_.clear();
      readers_.clear();
    }
    Status s = writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    writer_.reset();
    return s;
  }

 private:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}

  // Copies every frame of the write-ahead log into the main file and truncates the log to zero
  // bytes (waiting for readers), so no older frame keeps deleted content.
  static Status Checkpoint(Connection& w) {
    int rc = sqlite3_wal_checkpoint_v2(w.raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(w.raw(), "checkpoint");
    return Status::Ok();
  }

  // Runs `fn` between `begin` and COMMIT. Anything but OK rolls back, and so does an exception
  // thrown by `fn` (a library's, say), which becomes kInternal: the connection is never left
  // inside a transaction for the next caller.
  static Status RunInTxn(Connection& conn, const char* begin, const TxnFn& fn) {
    FB_RETURN_IF_ERROR(conn.Exec(begin));
    struct RollbackUnlessCommitted {
      Connection& conn;
      bool committed = false;
      ~RollbackUnlessCommitted() {
        if (!committed) (void)conn.Exec("ROLLBACK");
      }
    } guard{conn};
    Status s;
    try {
      SqliteTxn txn(conn);
      s = fn(txn);
    } catch (const std::exception& e) {
      s = Internal(std::string("transaction aborted by an exception: ") + e.what());
    } catch (...) {
      s = Internal("transaction aborted by an unknown exception");
    }
    if (!s.ok()) return s;
    s = conn.Exec("COMMIT");
    guard.committed = s.ok();
    return s;
  }

  Status Migrate() {
    Connection& w = *writer_;
    FB_RETURN_IF_ERROR(w.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "applied_at INTEGER NOT NULL)"));
    int64_t current = 0;
    {
      FB_ASSIGN_OR_RETURN(auto q, w.Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations"));
      FB_ASSIGN_OR_RETURN(bool row, q->Step());
      if (row) current = q->Int(0);
    }
    const auto& migrations = SqliteMigrations();
    if (current > static_cast<int64_t>(migrations.size())) {
      return Unavailable("the store's schema (version " + std::to_string(current) +
                         ") is newer than this binary knows (" +
                         std::to_string(migrations.size()) + "); upgrade firebreak");
    }
    for (size_t v = static_cast<size_t>(current) + 1; v <= migrations.size(); ++v) {
      Status s = RunInTxn(w, "BEGIN IMMEDIATE", [&](Txn&) -> Status {
        FB_RETURN_IF_ERROR(w.Exec(migrations[v - 1]));
        FB_ASSIGN_OR_RETURN(auto q, w.Prepare(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now')*1000)"));
        q->Bind(static_cast<int64_t>(v));
        return q->Run();
      });
      if (!s.ok()) return Internal("migration " + std::to_string(v) + " failed: " + s.message());
    }
    schema_version_ = static_cast<int64_t>(migrations.size());
    return Status::Ok();
  }

  const std::string path_;
  int64_t schema_version_ = 0;

  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;  // GUARDED_BY(write_mu_)
  int64_t write_txns_ = 0;              // GUARDED_BY(write_mu_); read racily for metrics
  int64_t failed_write_txns_ = 0;       // GUARDED_BY(write_mu_)

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;  // GUARDED_BY(readers_mu_)
  std::vector<Connection*> free_readers_;             // GUARDED_BY(readers_mu_)
  int64_t read_txns_ = 0;                             // GUARDED_BY(readers_mu_)
  bool closed_ = false;                               // GUARDED_BY(readers_mu_)
};

}  // namespace

Status SqliteTxn::RequestCompaction() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT OR IGNORE INTO store_compaction (id, requested_at) "
      "VALUES (1, strftime('%s','now') * 1000)"));
  return q->Run();
}

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const StoreOptions& options) {
  return SqliteStore::Open(path, options);
}

}  // namespace firebreak::sqlite
