#include "audit/anchor.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "common/crypto.h"

namespace firebreak {

StatusOr<std::string> LoadOrCreateAnchorKey(const std::string& path) {
  bool created = false;
  FB_ASSIGN_OR_RETURN(std::string key, LoadOrCreateSecretFile(path, "the audit anchor key", &created));
  if (created) {
    spdlog::info("audit: created the anchor key {} (keep it with the backups of the store)", path);
  }
  return key;
}

void AnchorKeeper::AnchorNow() {
  auto a = log_.Anchor(store_);
  if (!a.ok()) {
    spdlog::error("audit: anchoring the chain's head: {}", a.status().message());
  } else if (*a) {
    spdlog::debug("audit: anchored event {}", (*a)->seq);
  }
}

void AnchorKeeper::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    while (true) {
      AnchorNow();
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, period_, [this] { return stop_; })) return;
    }
  });
}

void AnchorKeeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  AnchorNow();
}

}  // namespace firebreak
