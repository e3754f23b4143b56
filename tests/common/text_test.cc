#include "common/text.h"

#include <gtest/gtest.h>

#include <string>

namespace firebreak {
namespace {

const std::string kEuro = "\xE2\x82\xAC";         // 3 bytes
const std::string kE = "\xC3\xA9";                // é, 2 bytes
const std::string kEmoji = "\xF0\x9F\x94\xA5";    // 🔥, 4 bytes

TEST(TruncateUtf8, KeepsShortTextAndCutsOnBoundaries) {
  EXPECT_EQ(TruncateUtf8("short", 10), "short");
  EXPECT_EQ(TruncateUtf8("abcdefghij", 8, "..."), "abcde...");
  EXPECT_EQ(TruncateUtf8(kEuro + kEuro + kEuro, 7, "..."), kEuro + "...");
  EXPECT_EQ(TruncateUtf8(kEuro + kEuro, 5), kEuro);
  EXPECT_EQ(TruncateUtf8("ab", 1, "..."), "a");  // a marker longer than the limit is left out
}

TEST(TruncateUtf8, EveryLimitOverEveryWidthGivesValidTextWithinTheLimit) {
  for (const std::string& ch : {std::string("a"), kE, kEuro, kEmoji}) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += ch;
    for (size_t limit = 0; limit <= text.size() + 2; ++limit) {
      for (const char* marker : {"", "...", "\xE2\x80\xA6"}) {
        std::string out = TruncateUtf8(text, limit, marker);
        EXPECT_LE(out.size(), limit) << ch.size() << " " << limit;
        EXPECT_TRUE(IsValidUtf8(out)) << ch.size() << " " << limit;
        // Nothing is lost that would have fitted: at most one character plus the marker short.
        if (limit >= text.size()) EXPECT_EQ(out, text);
        else EXPECT_GT(out.size() + ch.size() + std::string(marker).size(), limit);
      }
    }
  }
}

TEST(TruncateUtf8, CleansInvalidInput) {
  std::string broken = "ab\xC3";  // a lead byte without its continuation
  EXPECT_TRUE(IsValidUtf8(TruncateUtf8(broken, 100)));
  EXPECT_TRUE(IsValidUtf8(TruncateUtf8(broken, 3)));
}

TEST(Utf8, ValidityAndCleaning) {
  EXPECT_TRUE(IsValidUtf8("plain " + kE + kEuro + kEmoji));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_EQ(CleanUtf8("a\xFFz"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(CleanUtf8("ok " + kE), "ok " + kE);
}

TEST(CheckName, LettersDigitsAndChosenPunctuationOnly) {
  EXPECT_TRUE(CheckName("version", "v2.1-rc_1", 64).ok());
  EXPECT_TRUE(CheckName("kind", "alert.HighErrors:prod", 128, "-_.:").ok());
  for (const std::string& bad : {std::string("v 2"), std::string(""), std::string(65, 'a'),
                                 std::string("../../etc/passwd"), std::string(".."),
                                 std::string(".hidden"), std::string("a/b"), std::string("caf\xC3\xA9"),
                                 std::string("a\0b", 3), std::string("x:y"), std::string("a..b")}) {
    Status s = CheckName("version", bad, 64);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("'version'"), std::string::npos) << s.message();
  }
}

TEST(ToName, MakesAnyTextANameCheckNameAccepts) {
  EXPECT_EQ(ToName("Support Bot/eu", 128), "Support_Bot_eu");
  EXPECT_EQ(ToName("../../etc/passwd", 128), "___.__etc_passwd");
  EXPECT_EQ(ToName("svc:prod", 128, "-_.:"), "svc:prod");
  EXPECT_EQ(ToName("", 128), "");
  for (const std::string& text : {std::string("a..b"), std::string(".x"), std::string("caf\xC3\xA9"),
                                  std::string(300, '/'), std::string("ok-name_1.2")}) {
    std::string name = ToName(text, 128);
    EXPECT_TRUE(CheckName("n", name, 128).ok()) << text << " -> " << name;
  }
}

TEST(CheckJsonDepth, CountsOnlyStructure) {
  EXPECT_TRUE(CheckJsonDepth(R"({"a":[1,{"b":2}]})", 3).ok());
  EXPECT_FALSE(CheckJsonDepth(R"({"a":[1,{"b":[2]}]})", 3).ok());
  // Brackets inside strings, also after escaped quotes, do not count.
  EXPECT_TRUE(CheckJsonDepth(R"({"a":"[[[[\"[[[[{{{{"})", 1).ok());
  std::string deep(100000, '[');
  Status s = CheckJsonDepth(deep, kMaxJsonDepth);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("64"), std::string::npos);
}

}  // namespace
}  // namespace firebreak
