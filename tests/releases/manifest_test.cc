#include "releases/manifest.h"

#include <gtest/gtest.h>

namespace firebreak {
namespace {

using nlohmann::json;

std::string ErrorOf(const json& m) {
  auto r = ValidateManifest(m);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(Manifest, CanonicalFormFillsOptionalFields) {
  auto r = ValidateManifest({{"model", "m"}, {"prompt_hash", "sha256:ab"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["label"], "");
  EXPECT_EQ((*r)["tools"], json::array());
  EXPECT_EQ((*r)["config"], json::object());
}

TEST(Manifest, ErrorsNameTheField) {
  EXPECT_NE(ErrorOf(json::array()).find("'manifest'"), std::string::npos);
  EXPECT_NE(ErrorOf({{"prompt_hash", "x"}}).find("'manifest.model' is required"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"model", "m"}}).find("'manifest.prompt_hash'"), std::string::npos);
  EXPECT_NE(ErrorOf({{"model", 3}, {"prompt_hash", "x"}}).find("'manifest.model' must be a string"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf({{"model", "m"}, {"prompt_hash", "x"}, {"colour", "red"}}).find("'manifest.colour'"),
      std::string::npos);
  json tools = {{"model", "m"},
                {"prompt_hash", "x"},
                {"tools",
                 {{{"name", "a"}, {"effect_class", "read-only"}},
                  {{"name", "b"}, {"effect_class", "payment"}, {"requires_approval", "yes"}}}}};
  EXPECT_NE(ErrorOf(tools).find("'manifest.tools[1].requires_approval'"), std::string::npos);
  tools["tools"][1]["requires_approval"] = true;
  tools["tools"][1]["name"] = "a";
  EXPECT_NE(ErrorOf(tools).find("'manifest.tools[1].name'"), std::string::npos);
  tools["tools"][1]["name"] = "b";
  ASSERT_TRUE(ValidateManifest(tools).ok());
  EXPECT_NE(
      ErrorOf({{"model", "m"}, {"prompt_hash", "x"}, {"config", "a"}}).find("'manifest.config'"),
      std::string::npos);
}

}  // namespace
}  // namespace firebreak
