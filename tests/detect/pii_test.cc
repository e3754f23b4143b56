// Unit tests of the personal-data scanner: every validator with positive and negative cases,
// normalisation and exact offsets in the original text, labels, phone regions, the secret
// catalogue, the allow-list by agent and by user identity, redaction, and clean agent text.
// Accuracy on the labelled corpus is pii_corpus_test.cc.
#include "detect/pii.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <zlib.h>

namespace firebreak::detect {
namespace {

class PiiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = PiiScanner::Create({});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scanner_ = std::move(s).value();
  }

  std::vector<PiiFinding> Find(const std::string& text) const { return scanner_->Scan(text, {}); }

  // Returns the findings of `kind` in `text`.
  std::vector<PiiFinding> Kind(const std::string& text, const std::string& kind) const {
    std::vector<PiiFinding> out;
    for (auto& f : Find(text))
      if (f.kind == kind) out.push_back(f);
    return out;
  }

  // Returns the one finding in `text`, which must be of `kind`.
  PiiFinding One(const std::string& text, const std::string& kind) const {
    auto all = Find(text);
    EXPECT_EQ(all.size(), 1u) << text;
    if (all.empty()) return {};
    EXPECT_EQ(all[0].kind, kind) << text;
    return all[0];
  }

  std::unique_ptr<PiiScanner> scanner_;
};

TEST_F(PiiTest, CardsOfEveryBrand) {
  struct Case {
    const char* number;
    const char* brand;
  } cases[] = {
      {"4111111111111111", "visa"},         {"4012888888881881", "visa"},
      {"4222222222222", "visa"},            {"4111111111111111110", "visa"},  // 19 digits
      {"5555555555554444", "mastercard"},   {"5105105105105100", "mastercard"},
      {"2221000000000009", "mastercard"},   {"2223000000000007", "mastercard"},
      {"2720000000000005", "mastercard"},   {"378282246310005", "amex"},
      {"371449635398431", "amex"},          {"6011111111111117", "discover"},
      {"6440000000000005", "discover"},     {"6500000000000000003", "discover"},
      {"3530111333300000", "jcb"},          {"3589000000000000009", "jcb"},
      {"6200000000000005", "unionpay"},     {"6212345678901234569", "unionpay"},  // 19 digits
      {"36227206271667", "diners"},         {"30569309025904", "diners"},
  };
  for (const auto& c : cases) {
    PiiFinding f = One(std::string("paid with ") + c.number + " today", "card");
    EXPECT_EQ(f.detail, c.brand) << c.number;
    EXPECT_EQ(f.value, c.number);
    EXPECT_EQ(f.offset, 10u);
    EXPECT_EQ(f.length, std::string(c.number).size());
  }
}

TEST_F(PiiTest, CardSeparatorsAndRedaction) {
  PiiFinding f = One("Card: 4111 1111 1111 1111.", "card");
  EXPECT_EQ(f.value, "4111111111111111");
  EXPECT_EQ(f.redacted, "4111 **** **** 1111");
  EXPECT_EQ(f.offset, 6u);
  EXPECT_EQ(f.length, 19u);
  EXPECT_EQ(One("card 5555-5555-5555-4444 ok", "card").detail, "mastercard");
  EXPECT_EQ(One("amex 3782 822463 10005", "card").detail, "amex");
  // The card, then the CVV in the same run of digit groups.
  EXPECT_EQ(One("4111 1111 1111 1111 123", "card").value, "4111111111111111");
}

TEST_F(PiiTest, CardsThatAreNot) {
  for (const char* text : {
           "4111111111111112",           // Luhn fails
           "1234567812345670",           // Luhn passes, no issuer starts with 1
           "2220000000000000",           // just below the 2-series Mastercard range
           "2721000000000004",           // just above it
           "5600000000000003",           // 56 is not Mastercard
           "400000000000006",            // 15-digit Visa does not exist
           "x4111111111111111",          // glued to letters
           "41111111111111119",          // glued to more digits (17 digits, no brand)
           "order 4111111111111111abc",  // glued
           "0.4111111111111111",         // a decimal
           "4111  1111  1111  1111",     // double spaces are not card grouping
           "0000000000000000",
           "USPS tracking 4713 0905 3702 2726 2413 66",  // a 16-digit Luhn-valid window of a longer number
           "USPS tracking 1877 4379 0047 6688 3422 02",
       }) {
    EXPECT_TRUE(Kind(text, "card").empty()) << text;
  }
}

TEST_F(PiiTest, IbansOfSeveralCountries) {
  struct Case {
    const char* text;
    const char* country;
    const char* value;
  } cases[] = {
      {"DE89 3704 0044 0532 0130 00", "DE", "DE89370400440532013000"},
      {"GB82WEST12345698765432", "GB", "GB82WEST12345698765432"},
      {"FR14 2004 1010 0505 0001 3M02 606", "FR", "FR1420041010050500013M02606"},
      {"NL91ABNA0417164300", "NL", "NL91ABNA0417164300"},
      {"ES91 2100 0418 4502 0005 1332", "ES", "ES9121000418450200051332"},
      {"IT60X0542811101000000123456", "IT", "IT60X0542811101000000123456"},
      {"CH9300762011623852957", "CH", "CH9300762011623852957"},
      {"BE68 5390 0754 7034", "BE", "BE68539007547034"},
      {"NO9386011117947", "NO", "NO9386011117947"},
      {"PL61109010140000071219812874", "PL", "PL61109010140000071219812874"},
  };
  for (const auto& c : cases) {
    PiiFinding f = One(std::string("Send it to ") + c.text + " please", "iban");
    EXPECT_EQ(f.detail, c.country);
    EXPECT_EQ(f.value, c.value);
    EXPECT_EQ(f.length, std::string(c.text).size());
  }
  EXPECT_EQ(One("IBAN DE89 3704 0044 0532 0130 00", "iban").redacted, "DE** **** 3000");
  // Its digit groups hold a Luhn-valid UnionPay-like window; the IBAN is the one finding.
  EXPECT_EQ(One("ES24 8225 6258 4036 4674 5804", "iban").value, "ES2482256258403646745804");
}

TEST_F(PiiTest, IbansThatAreNot) {
  for (const char* text : {
           "DE89370400440532013001",   // mod-97 fails
           "GB82WEST12345698765433",   // mod-97 fails
           "DE8937040044053201300",    // one character short for DE
           "DE893704004405320130001",  // glued: one too many
           "ZZ89370400440532013000",   // no such country
           "US12345678901234567890",   // the US has no IBAN
       }) {
    EXPECT_TRUE(Kind(text, "iban").empty()) << text;
  }
}

TEST_F(PiiTest, SsnRules) {
  PiiFinding f = One("SSN 123-45-6789 on file", "ssn");
  EXPECT_EQ(f.value, "123456789");
  EXPECT_EQ(f.redacted, "***-**-6789");
  EXPECT_EQ(One("her number is 219 09 9998", "ssn").value, "219099998");
  EXPECT_EQ(One("my ssn is 123456789", "ssn").value, "123456789");
  EXPECT_EQ(One("Social Security number: 123456789", "ssn").value, "123456789");
  for (const char* text : {
           "000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456",  // area
           "123-00-4567",                                               // group
           "123-45-0000",                                               // serial
           "078-05-1120", "219-09-9999",                                // famous invalid numbers
           "order 123456789",                                           // bare, no ssn nearby
           "123-45-6789-01",                                            // glued
       }) {
    EXPECT_TRUE(Kind(text, "ssn").empty()) << text;
  }
}

TEST_F(PiiTest, Emails) {
  PiiFinding f = One("write to JANE.Doe+billing@Example.co.uk today", "email");
  EXPECT_EQ(f.value, "jane.doe+billing@example.co.uk");
  EXPECT_EQ(f.redacted, "j***@example.co.uk");
  for (const char* text : {"logo@2x.png", "user@localhost", "a..b@example.com", "@example.com",
                           "foo@bar", "support at example dot com"}) {
    EXPECT_TRUE(Kind(text, "email").empty()) << text;
  }
}

TEST_F(PiiTest, Phones) {
  PiiFinding f = One("call me at (415) 555-0132 tomorrow", "phone");
  EXPECT_EQ(f.value, "+14155550132");
  EXPECT_EQ(f.redacted, "+1 *** *** 0132");
  EXPECT_EQ(f.detail, "US");
  EXPECT_EQ(One("UK office: +44 20 7946 0958", "phone").value, "+442079460958");
  // Byte offsets, after multi-byte UTF-8 text.
  std::string text = "café ☕ – +49 30 901820";
  PiiFinding de = One(text, "phone");
  EXPECT_EQ(text.substr(de.offset, de.length), "+49 30 901820");
  // A bare run of digits is a phone number only next to a phone word.
  EXPECT_EQ(One("call me at 4155550132", "phone").value, "+14155550132");
  for (const char* t : {"call 555-0100", "order #2025550123", "ORD-2025550123", "id_4155550132",
                        "call (000) 000-0000", "meeting 2026-11-29 15:04:05", "epoch 7248987797",
                        "Chrome 125.0.3822.672", "build 11525676.5741", "paid 2026-10-13 11:17:51",
                        "request 123e4567-e89b-12d3-a456-426614174000", "dial-in code 845 221 9034#"}) {
    EXPECT_TRUE(Kind(t, "phone").empty()) << t;
  }
}

TEST_F(PiiTest, IpAddresses) {
  EXPECT_EQ(One("client 203.0.113.7 connected", "ipv4").redacted, "203.0.*.*");
  EXPECT_EQ(One("from 2001:db8::8a2e:370:7334 at", "ipv6").value, "2001:db8::8a2e:370:7334");
  for (const char* t : {"version 1.2.3.4", "v 10.0.0.1", "1.2.3.4.5", "256.1.1.1", "0.0.0.0", "127.0.0.1",
                        "255.255.255.0", "01.02.03.04"}) {
    EXPECT_TRUE(Kind(t, "ipv4").empty()) << t;
  }
  for (const char* t : {"std::string::npos", "12:30:45", "::1", "00:1a:2b:3c:4d:5e", "a::b", "Foo::Bar::baz",
                        "documentation prefix 2001:db8::/32"}) {
    EXPECT_TRUE(Kind(t, "ipv6").empty()) << t;
  }
}

TEST_F(PiiTest, Secrets) {
  struct Case {
    const char* text;
    const char* detail;
    const char* redacted;
  } cases[] = {
      {"AKIAZ3MHFQ7XLP2RNVW4", "aws-access-key", "AKIA...NVW4"},
      {"ghp_1234567890abcdefghijABCDEFGHIJ123456", "github-token", "ghp_...3456"},
      {"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345", "github-token", "github_pat_...2345"},
      {"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp", "slack-token", "xoxb-...MnOp"},
      {"sk-proj-abcDEF1234567890ghiJKLmnop", "openai-key", "sk-proj-...mnop"},
      {"sk-9aF3kL0pQ7zX2mN8bV4cR1tY6uW5eH0j", "openai-key", "sk-...eH0j"},
      {"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe-key", "sk_live_...p7dc"},
      {"AIzaSyD-1a2b3c4d5e6f7g8h9i0jKLMNOPQRSTU", "google-api-key", "AIza...RSTU"},
      {"-----BEGIN OPENSSH PRIVATE KEY-----", "private-key", "-----BEGIN OPENSSH PRIVATE KEY-----"},
      {"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
       "jwt", "eyJ...sR8U"},
      {"password=Xk9$mQ2!vL7p", "password", "password=****"},
      {"{\"api_key\": \"3f9a8b7c6d5e4f3a2b1c\"}", "api-key", "api_key=****"},
      {"https://deploy:hunter2@git.example.com/repo.git", "url-password", "://user:****@"},
  };
  for (const auto& c : cases) {
    PiiFinding f = One(std::string("here: ") + c.text + " end", "secret");
    EXPECT_EQ(f.detail, c.detail) << c.text;
    EXPECT_EQ(f.redacted, c.redacted) << c.text;
  }
  for (const char* t : {
           "password: changeme", "password=${DB_PASSWORD}", "api_key=<your key here>", "password=********",
           "password = config.database.password", "secret: REDACTED", "task-management-service-v2",
           "sk-learn-is-a-python-library-name",  // a word with the prefix, no digits
           "eyJub3QiOiJhIGp3dCJ9.eyJhIjoxfQ.c2lnbmF0dXJlMTIz",  // header has no "alg"
           "AKIA1234",                                            // too short
       }) {
    EXPECT_TRUE(Kind(t, "secret").empty()) << t;
  }
}

TEST_F(PiiTest, CardsOfIssuersBeyondTheBigFour) {
  struct Case {
    const char* number;
    const char* brand;
  } cases[] = {
      {"38520000023237", "diners"},    {"3056930009020004", "diners"}, {"30569309025904", "diners"},
      {"6759649826438453", "maestro"}, {"6304000000000000", "maestro"}, {"5018000000000009", "maestro"},
      {"2200000000000004", "mir"},
  };
  for (const auto& c : cases) {
    PiiFinding f = One(std::string("card ") + c.number, "card");
    EXPECT_EQ(f.detail, c.brand) << c.number;
  }
  // An id label names the number: a Luhn-valid order number is still an order number.
  EXPECT_TRUE(Kind("Order 6304 0000 0000 0000 shipped", "card").empty());
}

TEST_F(PiiTest, ValuesGluedToTheirLabels) {
  EXPECT_EQ(One("Card:4012888888881881,exp:09/27", "card").value, "4012888888881881");
  EXPECT_EQ(One("Card No:4111 1111 1111 1111", "card").value, "4111111111111111");
  EXPECT_EQ(One("SSN:536-22-8714", "ssn").value, "536228714");
  EXPECT_EQ(One("IP:73.162.44.201", "ipv4").value, "73.162.44.201");
  EXPECT_EQ(One("IP:2001:db8::8a2e:370:7334 seen", "ipv6").value, "2001:db8::8a2e:370:7334");
  EXPECT_EQ(One("tel=+44 20 7946 0958", "phone").value, "+442079460958");
  // Digits before the colon still glue: a longer number, not a label.
  EXPECT_TRUE(Kind("12:4111111111111111", "card").empty());
}

TEST_F(PiiTest, AnAddressWithAPortOrAPrefixIsAnAddressNotAPhone) {
  PiiFinding port = One("blocked 73.162.44.201:51234 after failures", "ipv4");
  EXPECT_EQ(port.value, "73.162.44.201");
  EXPECT_EQ(One("allow 73.162.44.201/32 only", "ipv4").value, "73.162.44.201");
  EXPECT_EQ(One("router at 10.0.0.12:8080", "ipv4").value, "10.0.0.12");
  EXPECT_TRUE(Kind("allow 73.162.44.201/99", "ipv4").empty());
  EXPECT_TRUE(Kind("version 73.162.44.201:51234", "phone").empty());
}

TEST_F(PiiTest, VersionsRoutersAndResolversAreNotSomeonesAddress) {
  for (const char* t : {"Upgrade to 3.10.2.1 resolves the crash.", "Fixed in 3.10.2.1.", "Python 3.10.2.1 ships it",
                        "Open 192.168.1.1 in your browser.", "Set the DNS server to 1.1.1.1 or 8.8.8.8.",
                        "This affects versions 6.0.6.9 through 8.0.8.8."}) {
    EXPECT_TRUE(Find(t).empty()) << t;
  }
  // Named as an address, the same shapes are addresses.
  EXPECT_EQ(One("The login came from 10.0.0.12 at 02:13", "ipv4").value, "10.0.0.12");
  EXPECT_EQ(One("your IP address 3.10.2.1", "ipv4").value, "3.10.2.1");
}

TEST_F(PiiTest, RepositoryAddressesAreNotEmails) {
  EXPECT_TRUE(Find("Clone git@github.com:acme/api.git and run make.").empty());
  EXPECT_TRUE(Find("The mirror is ssh://git@bitbucket.org/acme/app.git.").empty());
  EXPECT_EQ(One("Mail git@github.com: it is the bot.", "email").value, "git@github.com");
}

TEST_F(PiiTest, IbansInAnyCase) {
  EXPECT_EQ(One("IBAN de89 3704 0044 0532 0130 00", "iban").value, "DE89370400440532013000");
  EXPECT_EQ(One("iban=gb82west12345698765432", "iban").value, "GB82WEST12345698765432");
  EXPECT_EQ(One("to Nl91AbnA0417164300 today", "iban").detail, "NL");
  EXPECT_TRUE(Kind("de89370400440532013001", "iban").empty());  // mod-97 still decides
}

TEST_F(PiiTest, PhonesInNationalAndInternationalFormats) {
  struct Case {
    const char* written;
    const char* e164;
  } cases[] = {
      {"020 7946 0958", "+442079460958"},      {"030 12345678", "+493012345678"},
      {"06 12 34 56 78", "+33612345678"},      {"98765 43210", "+919876543210"},
      {"0044 20 7946 0958", "+442079460958"},  {"+44-20-7946-0958", "+442079460958"},
      {"+91-22-2778-2000", "+912227782000"},   {"+4915123456789", "+4915123456789"},
      {"612 34 56 78", "+34612345678"},        {"347 123 4567", "+393471234567"},
      {"0161 496 0734", "+441614960734"},      {"(415) 555-0132", "+14155550132"},
      {"(11) 91234-5678", "+5511912345678"},   {"(+44) 20 7946 0958", "+442079460958"},
      {"+49 (0)30 901820", "+4930901820"},     {"+1.415.555.0132", "+14155550132"},
  };
  for (const auto& c : cases) {
    std::string text = std::string("Reach her at ") + c.written + " today.";
    PiiFinding f = One(text, "phone");
    EXPECT_EQ(f.value, c.e164) << c.written;
    EXPECT_EQ(text.substr(f.offset, f.length), c.written);
  }
  // Valid in two regions of the list (Germany and the Netherlands), a national number is read
  // in the region that groups it that way; with the same grouping, the earlier region wins.
  EXPECT_EQ(One("Reach her at 06 12345678 today.", "phone").detail, "NL");
  EXPECT_EQ(One("Reach her at 0491 570 156 today.", "phone").detail, "DE");
  // Without a phone word the grouping must be the region's.
  EXPECT_TRUE(Kind("reference 65 02 53 00 00 is open", "phone").empty());
  EXPECT_TRUE(Kind("Tracking 4521 8876 1203 is on its way", "phone").empty());
  EXPECT_TRUE(Kind("Specimen 0036 7214 3282 was received", "phone").empty());
  EXPECT_TRUE(Kind("Ship to ZIP 72760-4839 by Friday", "phone").empty());
  EXPECT_TRUE(Kind("Ship to 94614-6035 by Friday", "phone").empty());
}

TEST_F(PiiTest, PhoneExtensionsBelongToTheFinding) {
  for (const char* written : {"(415) 555-0132 ext. 204", "415-555-0132 x204", "415-555-0132 Ext. 204",
                              "415-555-0132, ext 204", "(415) 555-0132 extension 204"}) {
    std::string text = std::string("Call ") + written + " after lunch.";
    PiiFinding f = One(text, "phone");
    EXPECT_EQ(f.value, "+14155550132") << written;
    EXPECT_EQ(text.substr(f.offset, f.length), written);
  }
}

TEST(PiiScannerTest, PhoneRegionsAreConfiguredGloballyAndPerAgent) {
  PiiOptions options;
  options.regions = {};  // only the default region, US
  options.agent_regions["support-fr"] = {"FR"};
  auto s = PiiScanner::Create(options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const std::string text = "Son numéro : 06 12 34 56 78.";
  EXPECT_TRUE((*s)->Scan(text, {"support-us", ""}).empty());
  auto fr = (*s)->Scan(text, {"support-fr", ""});
  ASSERT_EQ(fr.size(), 1u);
  EXPECT_EQ(fr[0].detail, "FR");
  // International numbers are found whatever the regions.
  EXPECT_EQ((*s)->Scan("+33 6 12 34 56 78", {"support-us", ""}).size(), 1u);
  // The user's own number, written nationally in the agent's region, is theirs.
  EXPECT_TRUE((*s)->Scan(text, {"support-fr", "+33612345678"}).empty());

  options.agent_regions["support-xx"] = {"XX"};
  auto bad = PiiScanner::Create(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("support-xx"), std::string::npos);
}

TEST_F(PiiTest, UnicodeSpacesAndWrappedLinesKeepExactOriginalOffsets) {
  const std::string nbsp = "\u00a0", thin = "\u202f", zwsp = "\u200b";
  struct Case {
    std::string value;
    const char* kind;
  } cases[] = {
      {"+44" + nbsp + "20" + nbsp + "7946" + nbsp + "0958", "phone"},
      {"4111" + thin + "1111" + thin + "1111" + thin + "1111", "card"},
      {"DE89 3704 0044\n0532 0130 00", "iban"},
      {"4012 8888\r\n8888 1881", "card"},
      {"020 7946\n0958", "phone"},
      {"DE89" + zwsp + "370400440532013000", "iban"},
      {"+44\u201120\u20117946\u20110958", "phone"},  // non-breaking hyphens
  };
  for (const auto& c : cases) {
    // Multi-byte text on both sides: the range must still be exactly the value's bytes.
    std::string text = "Grüße – « " + c.value + " » ☕ merci.";
    PiiFinding f = One(text, c.kind);
    EXPECT_EQ(text.substr(f.offset, f.length), c.value);
  }
  // A value ending right before an invisible character does not take it.
  std::string text = "IBAN DE89370400440532013000" + zwsp + " ok";
  EXPECT_EQ(text.substr(One(text, "iban").offset, One(text, "iban").length), "DE89370400440532013000");
  // A blank line is a paragraph, not a wrapped value.
  EXPECT_TRUE(Kind("Order total 4111 1111\n\n1111 1111", "card").empty());
}

// Completes a GitHub-style token: prefix, 30 random characters, base62 CRC32 of them.
std::string Checksummed(const std::string& prefix, const std::string& random) {
  const char* digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  uLong v = crc32(0L, reinterpret_cast<const Bytef*>(random.data()), static_cast<uInt>(random.size()));
  std::string check(6, '0');
  for (size_t i = 6; i-- > 0 && v > 0; v /= 62) check[i] = digits[v % 62];
  return prefix + random + check;
}

TEST_F(PiiTest, TheSecretCatalogue) {
  struct Case {
    std::string token;
    const char* detail;
  } cases[] = {
      {"npm_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z0A", "npm-token"},
      {"glpat-xY7_kL2mN9pQ4rS6tU8v", "gitlab-token"},
      {"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", "sendgrid-key"},
      {"sk_test_4eC39HqLyjWDarjtT1zdp7dc", "stripe-key"},
      {"rk_live_51H8xYzAbCdEfGhIjKlMnOp", "stripe-key"},
      {"sk-ant-api03-" + std::string(90, 'x') + "7Ab9AA", "anthropic-key"},
      {"SK2b7f0c1d4e5a6b7c8d9e0f1a2b3c4d5e", "twilio-api-key"},
      {"key-3a6f9d2b1c0e4f7a8b5c6d3e2f1a0b9c", "mailgun-key"},
      {"pypi-AgEIcHlwaS5vcmcCJGE5ZjNkNzY4LTk5YjQtNGQyZi1hNDc1LWY0ZmE3ZjVjNGU5NQACKlszLCI5", "pypi-token"},
      {"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", "shopify-token"},
      {"dop_v1_" + std::string("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), "digitalocean-token"},
      {"AccountKey=" + std::string(40, 'A') + "b1" + std::string(44, 'c') + "==", "azure-storage-key"},
      {"hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", "huggingface-token"},
      {"whsec_4eC39HqLyjWDarjtT1zdp7dc4eC39HqL", "stripe-webhook-secret"},
  };
  for (const auto& c : cases) {
    PiiFinding f = One("token " + c.token + " end", "secret");
    EXPECT_EQ(f.detail, c.detail) << c.token;
    EXPECT_EQ(f.value, c.token);
  }
  // A checksum that holds makes a token of a body with no digits; without it, such a body is
  // a word with a prefix.
  std::string letters = "abcdefghijklmnopqrstuvwxyzABCD";
  EXPECT_EQ(One(Checksummed("ghp_", letters), "secret").detail, "github-token");
  EXPECT_TRUE(Kind("ghp_" + letters + "EFGHIJ", "secret").empty());
  // Publishable Stripe keys are public by design.
  EXPECT_TRUE(Find("pk_live_4eC39HqLyjWDarjtT1zdp7dc").empty());
  // A body longer than its format is something else.
  EXPECT_TRUE(Kind("SK2b7f0c1d4e5a6b7c8d9e0f1a2b3c4d5e6f", "secret").empty());
}

TEST_F(PiiTest, AwsSecretKeysByTheirContext) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9Tk3Lm2P";
  EXPECT_EQ(One("aws_secret_access_key = " + secret, "secret").value, secret);
  EXPECT_EQ(One("Secret access key: " + secret, "secret").value, secret);
  auto both = Find("Here are the keys: AKIAZ3MHFQ7XLP2RNVW4 / " + secret);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].detail, "aws-secret-key");
  // The same shape with nothing around it, or a hex digest, is not a key.
  EXPECT_TRUE(Find("Blob " + secret + " attached").empty());
  EXPECT_TRUE(Find("secret sha 3f786850e387550fdab836ed7e6dc881de23001b").empty());
}

TEST_F(PiiTest, PasswordsAndKeysGivenInProse) {
  struct Case {
    const char* text;
    const char* value;
  } cases[] = {
      {"Your new password is Tr0ub4dor&3 - change it soon.", "Tr0ub4dor&3"},
      {"Your temporary password is rZmoJsqjbLxPqvdb.", "rZmoJsqjbLxPqvdb"},
      {"I've reset it; the password is now Summer2024!", "Summer2024!"},
      {"Temporary passcode: 7Hq-29xL", "7Hq-29xL"},
      {"DB_PASSWORD=Xk9mQ2vL7pRt", "Xk9mQ2vL7pRt"},
      {"mysql -u root --password=p4ssW0rd99", "p4ssW0rd99"},
      {"Your API key is 9a2fe4050c56d8d8df68cdbc291d4893 - keep it safe.", "9a2fe4050c56d8d8df68cdbc291d4893"},
      {"The access token is YNTxkAEI1Ick7qLVxvLh-mwkHx6l.", "YNTxkAEI1Ick7qLVxvLh-mwkHx6l"},
  };
  for (const auto& c : cases) {
    PiiFinding f = One(c.text, "secret");
    EXPECT_EQ(f.value, c.value) << c.text;
  }
  for (const char* t : {"Your password is case-sensitive, so check caps lock.", "The password is required.",
                        "Your password must be at least 12 characters.", "password was changed on 2026-03-14",
                        "The token is valid until Friday afternoon.", "Your API key is shown once in the dashboard.",
                        "password: ******** (hidden)"}) {
    EXPECT_TRUE(Find(t).empty()) << t;
  }
}

TEST_F(PiiTest, CleanAgentText) {
  for (const char* t : {
           "Your order ORD-2026-118734 ships on 2026-12-03; tracking 1Z999AA10123456784.",
           "Request 123e4567-e89b-12d3-a456-426614174000 took 1,234.56 ms at 15:04:05.123Z.",
           "Commit 3f786850e387550fdab836ed7e6dc881de23001b, sha256 "
           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.",
           "Total: $1,299.99 (was 1499.00 EUR). Version 2.14.3 of the SDK, build 20261129.1432.",
           "Invoice INV-00042917 for SKU AB-1234-XYZ, qty 3, unit price 19.99.",
           "Your reservation code is 4F7K2P; room 1204, floor 12, 221B Baker Street, London.",
           "{\"order_id\": 8812734455, \"amount_cents\": 129999, \"currency\": \"USD\", \"ts\": 1764428400000}",
           "Timestamps 1764428400 and 1764428400123 are epoch seconds and milliseconds.",
           "Call the tool search_flights(from=\"SFO\", to=\"JFK\", date=\"2026-12-24\").",
       }) {
    auto all = Find(t);
    EXPECT_TRUE(all.empty()) << t << " -> " << (all.empty() ? "" : all[0].kind + " " + all[0].value);
  }
}

TEST_F(PiiTest, FindingsComeInOffsetOrderAndDoNotOverlap) {
  auto all = Find("mail a@example.com, card 4111111111111111, call +1 415 555 0132, ip 203.0.113.7");
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].kind, "email");
  EXPECT_EQ(all[1].kind, "card");
  EXPECT_EQ(all[2].kind, "phone");
  EXPECT_EQ(all[3].kind, "ipv4");
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LE(all[i - 1].offset + all[i - 1].length, all[i].offset);
}

TEST(PiiScannerTest, AllowListByAgentAndUserIdentity) {
  PiiOptions options;
  options.allow["support-bot"] = {".*@ourcompany\\.com"};
  options.allow["*"] = {"\\+14155550100"};
  auto s = PiiScanner::Create(options);
  ASSERT_TRUE(s.ok());
  const std::string text = "Contact help@ourcompany.com or +1 415 555 0100; you are jane@example.com.";
  auto kinds = [&](const ScanContext& ctx) {
    std::vector<std::string> out;
    for (auto& f : (*s)->Scan(text, ctx)) out.push_back(f.kind + ":" + f.value);
    return out;
  };
  // The support bot may mention the company's address; every agent may mention the hotline.
  EXPECT_EQ(kinds({"support-bot", ""}), (std::vector<std::string>{"email:jane@example.com"}));
  EXPECT_EQ(kinds({"other-bot", ""}),
            (std::vector<std::string>{"email:help@ourcompany.com", "email:jane@example.com"}));
  // The user's own address, in a reply to that user.
  EXPECT_EQ(kinds({"support-bot", " Jane@Example.com "}), (std::vector<std::string>{}));
  // The user's own phone number, written differently.
  auto phone = (*s)->Scan("We will call 415-555-0132.", {"x", "+1 (415) 555 0132"});
  EXPECT_TRUE(phone.empty());
  EXPECT_EQ((*s)->Scan("We will call 415-555-0132.", {"x", "+1 (415) 555 0199"}).size(), 1u);
  // Turned off, the user's identity is reported like any other value.
  options.allow_user_identity = false;
  auto strict = PiiScanner::Create(options);
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ((*strict)->Scan(text, {"support-bot", "jane@example.com"}).size(), 1u);
}

TEST(PiiScannerTest, KindsSelectTheDetectors) {
  PiiOptions options;
  options.kinds = {"card"};
  auto s = PiiScanner::Create(options);
  ASSERT_TRUE(s.ok());
  auto all = (*s)->Scan("a@example.com 4111111111111111 +1 415 555 0132", {});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, "card");
}

TEST(PiiScannerTest, BadOptionsAreRefusedByName) {
  PiiOptions bad_kind;
  bad_kind.kinds = {"email", "passport"};
  auto a = PiiScanner::Create(bad_kind);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("passport"), std::string::npos);

  PiiOptions bad_pattern;
  bad_pattern.allow["bot"] = {"(unclosed"};
  auto b = PiiScanner::Create(bad_pattern);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("(unclosed"), std::string::npos);

  PiiOptions bad_region;
  bad_region.default_region = "XX";
  auto c = PiiScanner::Create(bad_region);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST(PiiScannerTest, ConcurrentScansAgree) {
  auto s = PiiScanner::Create({});
  ASSERT_TRUE(s.ok());
  const std::string text = "card 4111 1111 1111 1111, mail jane@example.com, call +1 415 555 0132";
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if ((*s)->Scan(text, {}).size() != 3) ++wrong;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(PiiScannerTest, InvalidUtf8StillFindsPhones) {
  auto s = PiiScanner::Create({});
  ASSERT_TRUE(s.ok());
  std::string text = "bad \xff\xfe bytes, call +1 415 555 0132";
  auto all = (*s)->Scan(text, {});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, "phone");
  EXPECT_EQ(text.substr(all[0].offset, all[0].length), "+1 415 555 0132");
}

}  // namespace
}  // namespace firebreak::detect
