#include "config/settings.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_util.h"

namespace firebreak {
namespace {

GetEnv EnvFrom(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(Settings, DefaultsServeTheEmbeddedStoreOnLoopback) {
  auto s = LoadSettings("", EnvFrom({}), {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->listen_address, "127.0.0.1");
  EXPECT_EQ(s->listen_port, 7070);
  EXPECT_EQ(s->StoreUrl(), "sqlite:./firebreak-data/firebreak.db");
}

TEST(Settings, FlagsWinOverEnvironmentWhichWinsOverTheFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/firebreak.toml";
  std::ofstream(path) << "listen = \"127.0.0.1:1111\"\nworkers = 3\nlog_level = \"debug\"\n"
                         "data_dir = \"/from/file\"\n";
  auto s = LoadSettings(path, EnvFrom({{"FIREBREAK_WORKERS", "5"}, {"FIREBREAK_DATA_DIR", "/from/env"}}),
                        {{"data_dir", "/from/flag"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->listen_port, 1111);     // file only
  EXPECT_EQ(s->log_level, "debug");    // file only
  EXPECT_EQ(s->workers, 5);            // env over file
  EXPECT_EQ(s->data_dir, "/from/flag");  // flag over env and file
  EXPECT_EQ(s->StoreUrl(), "sqlite:/from/flag/firebreak.db");
}

TEST(Settings, BadValuesNameTheirSource) {
  auto s = LoadSettings("", EnvFrom({{"FIREBREAK_WORKERS", "many"}}), {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("FIREBREAK_WORKERS"), std::string::npos);
  s = LoadSettings("", EnvFrom({}), {{"listen", "7070"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("HOST:PORT"), std::string::npos);
  testing::TempDir dir;
  std::string path = dir.path() + "/bad.toml";
  std::ofstream(path) << "colour = \"blue\"\n";
  s = LoadSettings(path, EnvFrom({}), {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("colour: unknown setting"), std::string::npos);
  std::ofstream(path) << "listen = \n";
  EXPECT_FALSE(LoadSettings(path, EnvFrom({}), {}).ok());
}

}  // namespace
}  // namespace firebreak
