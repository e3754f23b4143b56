#include "audit/anchor.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "common/crypto.h"

namespace firebreak {

StatusOr<std::string> LoadOrCreateAnchorKey(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::string key = RandomHex(32);
    mode_t old = umask(077);
    std::ofstream out(path, std::ios::trunc);
    umask(old);
    out << key << "\n";
    out.close();
    if (!out) return Unavailable("cannot write the audit anchor key " + path);
    ::chmod(path.c_str(), 0600);
    spdlog::info("audit: created the anchor key {} (keep it with the backups of the store)", path);
    return key;
  }
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument("the audit anchor key " + path +
                           " may be read by others: chmod 600 it (and consider it exposed)");
  }
  std::ifstream in(path);
  std::string key;
  if (!in || !(in >> key)) return Unavailable("cannot read the audit anchor key " + path);
  if (key.size() < 32) return InvalidArgument("the audit anchor key " + path + " is too short");
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
