#include "http/router.h"

#include <gtest/gtest.h>

namespace firebreak::http {
namespace {

Response Named(const std::string& name) {
  Response r;
  r.body = name;
  return r;
}

TEST(Router, MatchesPatternsAndFillsParams) {
  Router router;
  router.Add("GET", "/api/v1/incidents", [](const Request&) { return Named("list"); });
  router.Add("GET", "/api/v1/incidents/{id}", [](const Request&) { return Named("one"); });
  router.Add("POST", "/api/v1/incidents/{id}/timeline", [](const Request&) { return Named("note"); });
  Request req;
  req.method = "POST";
  req.path = "/api/v1/incidents/INC-7/timeline";
  auto m = router.Find(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ((*m.handler)(req).body, "note");
  EXPECT_EQ(m.pattern, "/api/v1/incidents/{id}/timeline");
  EXPECT_EQ(req.params["id"], "INC-7");

  req.method = "GET";
  req.path = "/api/v1/incidents/";
  m = router.Find(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ((*m.handler)(req).body, "list");
}

TEST(Router, ReportsMethodNotAllowedAndNoMatch) {
  Router router;
  router.Add("GET", "/x", [](const Request&) { return Named("get"); });
  router.Add("POST", "/x", [](const Request&) { return Named("post"); });
  Request req;
  req.method = "DELETE";
  req.path = "/x";
  auto m = router.Find(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.method_not_allowed);
  EXPECT_EQ(m.allowed_methods, "GET, POST");
  req.path = "/y";
  m = router.Find(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_FALSE(m.method_not_allowed);
}

TEST(Router, ErrorsMapToStatusesInOnePlace) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnsupportedMediaType), 415);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  Response r = Error(NotFound("no incident INC-9"));
  EXPECT_EQ(r.status, 404);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["message"], "no incident INC-9");
  EXPECT_EQ(Error(Unauthenticated("x")).headers.at(0).first, "WWW-Authenticate");
}

TEST(Router, ParsesJsonObjectsOnly) {
  EXPECT_TRUE(ParseJsonObject(R"({"a":1})").ok());
  EXPECT_EQ(ParseJsonObject("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject("[1]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject("{\"a\":").status().code(), StatusCode::kInvalidArgument);
}

TEST(Router, PercentDecoding) {
  EXPECT_EQ(PercentDecode("a%20b", false), "a b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_FALSE(PercentDecode("bad%2", false).has_value());
  EXPECT_FALSE(PercentDecode("bad%zz", false).has_value());
}

TEST(Router, ParsesTargetsIntoPathAndQuery) {
  Request req;
  ASSERT_TRUE(ParseTarget("/api/v1/traces%20x?agent=support%2Dbot&q=refund+order&flag&=v&", req).ok());
  EXPECT_EQ(req.path, "/api/v1/traces x");
  EXPECT_EQ(req.Query("agent"), "support-bot");
  EXPECT_EQ(req.Query("q"), "refund order");
  EXPECT_EQ(req.Query("flag", "absent"), "");
  EXPECT_EQ(req.query.size(), 3u);  // the empty key is dropped

  for (const char* bad : {"", "api/v1/traces", "*", "/a%zz", "/a?b=%2", "/a?%zz=1"}) {
    Request r;
    Status s = ParseTarget(bad, r);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace firebreak::http
