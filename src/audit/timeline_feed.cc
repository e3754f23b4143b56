#include "audit/timeline_feed.h"

#include <spdlog/spdlog.h>

namespace firebreak {
namespace {

constexpr int kBatch = 500;

}  // namespace

Status TimelineFeed::Start() {
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto last, txn.events().Last());
    head_ = last ? last->seq : 0;
    return Status::Ok();
  }));
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return Status::Ok();
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void TimelineFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TimelineFeed::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

uint64_t TimelineFeed::Subscribe(Listener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  uint64_t id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void TimelineFeed::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

void TimelineFeed::Run() {
  while (true) {
    std::vector<EventRecord> batch;
    Status s = store_.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(batch, txn.events().After(head_, kBatch));
      return Status::Ok();
    });
    if (!s.ok()) spdlog::warn("timeline feed: {}", s.message());
    for (const EventRecord& e : batch) {
      head_ = e.seq;
      if (!e.incident_id) continue;
      std::lock_guard<std::mutex> lock(listeners_mu_);
      for (auto& [id, listener] : listeners_) listener(e);
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (static_cast<int>(batch.size()) < kBatch) {
      cv_.wait_for(lock, poll_, [this] { return stop_ || woken_; });
    }
    woken_ = false;
    if (stop_) return;
  }
}

}  // namespace firebreak
