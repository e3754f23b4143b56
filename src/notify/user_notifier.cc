#include "notify/user_notifier.h"

#include <vector>

#include "common/text.h"
#include "traces/trace_service.h"

namespace firebreak::notify {
namespace {
constexpr int kUserBatch = 10000;
}  // namespace

Status UserNotifier::Check(const NotifyRequest& req) const {
  if (req.message.size() > kMaxNoticeBytes) {
    return TooLarge("'message' is " + std::to_string(req.message.size()) +
                    " bytes; a notice holds at most " + std::to_string(kMaxNoticeBytes));
  }
  if (req.message.empty()) return InvalidArgument("'message' is required");
  if (!IsValidUtf8(req.message)) return InvalidArgument("'message' is not valid UTF-8");
  if (req.update_id < 1) return InvalidArgument("'update' must be a positive update id");
  if (pager_.policy().user_notice_target.empty()) {
    return Conflict("no notice target is configured for affected users ([comms] notify_target)");
  }
  return Status::Ok();
}

StatusOr<paging::NoticeResult> UserNotifier::Notify(const std::string& actor,
                                                    const NotifyRequest& req) {
  FB_RETURN_IF_ERROR(Check(req));
  paging::NoticeResult total;
  TimeMs now = clock_.NowMs();
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    total = {};
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(req.incident_id));
    FB_ASSIGN_OR_RETURN(AffectedScope scope,
                        traces::AffectedScopeOf(inc, std::nullopt, std::nullopt, now));
    std::string after;
    while (true) {
      FB_ASSIGN_OR_RETURN(auto rows, txn.traces().AffectedUsers(scope, after, kUserBatch));
      std::vector<std::string> users;
      for (const auto& r : rows) users.push_back(r.user_id);
      FB_ASSIGN_OR_RETURN(paging::NoticeResult part,
                          pager_.QueueUserNotices(txn, inc, req.update_id, req.message, users));
      total.queued += part.queued;
      total.already_queued += part.already_queued;
      if (static_cast<int>(rows.size()) < kUserBatch) break;
      after = rows.back().user_id;
    }
    return log_
        .Append(txn, {inc.id, actor, "comms.notify",
                      {{"update", req.update_id},
                       {"target", pager_.policy().user_notice_target},
                       {"queued", total.queued},
                       {"already_queued", total.already_queued},
                       {"message", req.message}}})
        .status();
  }));
  pager_.Wake();
  return total;
}

}  // namespace firebreak::notify
