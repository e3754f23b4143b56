#include "detect/pii.h"

#include <arpa/inet.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace firebreak::detect {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberMatch;
using i18n::phonenumbers::PhoneNumberMatcher;
using i18n::phonenumbers::PhoneNumberUtil;

// What checks a candidate of a pattern.
enum class Check {
  kEmail,
  kCard,
  kIban,
  kSsn,
  kSsnBare,
  kIpv4,
  kIpv6,
  kToken,       // fixed-format secret: the pattern is the check, plus a minimum of variety
  kJwt,
  kPrivateKey,
  kAssignment,  // password=..., api_key: ... with a high-entropy value
  kUrlPassword, // scheme://user:password@host
  kPhoneHint,   // only tells the scanner to run libphonenumber over the text
};

struct PatternDef {
  const char* kind;
  const char* detail;
  const char* regex;
  Check check;
};

// The candidate patterns (RE2 syntax). Each is deliberately loose; the checks decide.
const PatternDef kPatterns[] = {
    {"email", "", R"([A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b)",
     Check::kEmail},
    {"card", "", R"(\b\d(?:[ \-]?\d){12,18}\b)", Check::kCard},
    {"iban", "", R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})", Check::kIban},
    {"ssn", "", R"(\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b)", Check::kSsn},
    {"ssn", "", R"(\b\d{9}\b)", Check::kSsnBare},
    {"ipv4", "", R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)", Check::kIpv4},
    {"ipv6", "", R"((?i)(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?)", Check::kIpv6},
    {"secret", "aws-access-key", R"(\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)", Check::kToken},
    {"secret", "github-token", R"(\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b)", Check::kToken},
    {"secret", "slack-token", R"(\bxox[abpr]-[0-9]{6,}-[A-Za-z0-9\-]{8,})", Check::kToken},
    {"secret", "openai-key", R"(\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}\b)", Check::kToken},
    {"secret", "stripe-key", R"(\b(?:sk|rk)_live_[A-Za-z0-9]{16,}\b)", Check::kToken},
    {"secret", "google-api-key", R"(\bAIza[0-9A-Za-z_\-]{35}\b)", Check::kToken},
    {"secret", "private-key", R"(-----BEGIN (?:[A-Z0-9]+ ){0,2}PRIVATE KEY(?: BLOCK)?-----)", Check::kPrivateKey},
    {"secret", "jwt", R"(\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{8,})", Check::kJwt},
    {"secret", "", R"((?i)\b(password|passwd|pwd|passphrase|secret|client[_\-]?secret|secret[_\-]?key|api[_\-]?key|apikey|access[_\-]?key|access[_\-]?token|auth[_\-]?token|private[_\-]?key)["']?\s*[:=]\s*["']?([^\s"'&,;<>(){}\[\]]{8,256}))",
     Check::kAssignment},
    {"secret", "url-password", R"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]+:([^/\s@]{3,256})@)", Check::kUrlPassword},
    {"phone", "", R"([+(]?\d[\d \-.()/]{5,}\d)", Check::kPhoneHint},
};

const std::vector<std::string> kKinds = {"email", "phone", "card", "iban", "ssn", "ipv4", "ipv6", "secret"};

// Overlapping findings keep the more specific kind (lower rank).
int Rank(const PiiFinding& f) {
  if (f.kind == "secret") return f.detail == "password" || f.detail == "api-key" ? 1 : 0;
  static const std::unordered_map<std::string, int> ranks = {
      {"iban", 2}, {"card", 3}, {"ssn", 4}, {"email", 5}, {"ipv6", 6}, {"ipv4", 7}, {"phone", 8}};
  auto it = ranks.find(f.kind);
  return it == ranks.end() ? 9 : it->second;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

std::string DigitsOnly(std::string_view s) {
  std::string out;
  for (char c : s)
    if (IsDigit(c)) out.push_back(c);
  return out;
}

// A number continues across [start,end) when the text around it joins it to more digits or
// letters: "1.4111..." (a decimal), "2024-123-45-6789", "v1.2.3.4.5".
bool GluedNumber(std::string_view text, size_t start, size_t end) {
  if (start > 0) {
    char p = text[start - 1];
    if (IsAlnum(p) || p == '_') return true;
    if ((p == '.' || p == ',' || p == '-' || p == '/' || p == ':') && start > 1 && IsAlnum(text[start - 2]))
      return true;
  }
  if (end < text.size()) {
    char n = text[end];
    if (IsAlnum(n) || n == '_') return true;
    if ((n == '.' || n == ',' || n == '-' || n == '/' || n == ':') && end + 1 < text.size() &&
        IsDigit(text[end + 1]))
      return true;
    if (n == '-' && end + 1 < text.size() && IsAlpha(text[end + 1])) return true;
  }
  return false;
}

// ---- cards ----

bool Luhn(const std::string& digits) {
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

int Prefix(const std::string& digits, size_t n) { return std::stoi(digits.substr(0, n)); }

// Returns the brand of a card number by issuer range and length, or "" when none fits.
std::string CardBrand(const std::string& d) {
  size_t n = d.size();
  if (n < 13 || n > 19) return "";
  int p2 = Prefix(d, 2), p3 = Prefix(d, 3), p4 = Prefix(d, 4);
  if ((p2 == 34 || p2 == 37) && n == 15) return "amex";
  if (d[0] == '4' && (n == 13 || n == 16 || n == 19)) return "visa";
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n == 16) return "mastercard";
  if ((p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) && n >= 16) return "discover";
  if (p4 >= 3528 && p4 <= 3589 && n >= 16) return "jcb";
  if (p2 == 62 && n >= 16) return "unionpay";
  if ((p2 == 36 || (p3 >= 300 && p3 <= 305)) && n >= 14) return "diners";
  return "";
}

// ---- IBAN ----

int IbanLength(std::string_view cc) {
  static const std::unordered_map<std::string, int> lengths = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
      {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
      {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
      {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
      {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
      {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
      {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
      {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
      {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}};
  auto it = lengths.find(std::string(cc));
  return it == lengths.end() ? 0 : it->second;
}

bool IbanMod97(const std::string& iban) {
  std::string moved = iban.substr(4) + iban.substr(0, 4);
  int rem = 0;
  for (char c : moved) {
    if (IsDigit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    }
  }
  return rem == 1;
}

// ---- entropy and secrets ----

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<int, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0, n = static_cast<double>(s.size());
  for (int c : counts) {
    if (c == 0) continue;
    double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

int CharClasses(std::string_view s) {
  bool lower = false, upper = false, digit = false, other = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') lower = true;
    else if (c >= 'A' && c <= 'Z') upper = true;
    else if (IsDigit(c)) digit = true;
    else other = true;
  }
  return lower + upper + digit + other;
}

// A value that stands for a secret without being one: "${DB_PASSWORD}", "<redacted>", "****".
bool Placeholder(std::string_view v) {
  std::string l = ToLower(v);
  if (l.find("***") != std::string::npos || l.find("xxx") != std::string::npos) return true;
  if (l[0] == '$' || l[0] == '%' || l[0] == '<' || l[0] == '{') return true;
  for (const char* w : {"redacted", "example", "placeholder", "changeme", "your_", "your-", "env.", "environ",
                        "getenv", "secret_from", "<", "...."}) {
    if (l.find(w) != std::string::npos) return true;
  }
  // An identifier or a dotted name (config.password, PASSWORD_FROM_VAULT) is a reference.
  bool ident = true;
  for (char c : v)
    if (!(IsAlpha(c) || c == '_' || c == '.')) ident = false;
  return ident;
}

std::string Base64UrlDecode(std::string_view in) {
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (IsDigit(c)) d = c - '0' + 52;
    else if (c == '-' || c == '+') d = 62;
    else if (c == '_' || c == '/') d = 63;
    else break;
    val = (val << 6) + d;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string SecretPrefix(const std::string& detail, const std::string& v) {
  auto upto = [&](char sep, size_t max) {
    size_t i = v.find(sep);
    return i != std::string::npos && i < max ? v.substr(0, i + 1) : v.substr(0, 4);
  };
  if (detail == "openai-key") {
    for (const char* p : {"sk-proj-", "sk-svcacct-", "sk-admin-"})
      if (v.rfind(p, 0) == 0) return p;
    return "sk-";
  }
  if (detail == "github-token") return v.rfind("github_pat_", 0) == 0 ? "github_pat_" : v.substr(0, 4);
  if (detail == "slack-token") return upto('-', 6);
  if (detail == "stripe-key") return v.substr(0, 8);
  if (detail == "jwt") return "eyJ";
  return v.substr(0, 4);
}

std::string Last(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(s.size() - n); }

std::string Trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

// Whether the text just before `start` names a version: "version 1.2.3.4", "build 4.3.2.1".
bool AfterVersionWord(std::string_view text, size_t start) {
  size_t from = start > 12 ? start - 12 : 0;
  std::string before = ToLower(text.substr(from, start - from));
  while (!before.empty() && (before.back() == ' ' || before.back() == ':' || before.back() == '=')) before.pop_back();
  for (const char* w : {"version", "ver", "v", "release", "build", "firmware", "sdk", "os", "oid", "chrome",
                        "firefox", "windows"}) {
    size_t wl = std::strlen(w);
    if (before.size() >= wl && before.compare(before.size() - wl, wl, w) == 0 &&
        (before.size() == wl || !IsAlpha(before[before.size() - wl - 1])))
      return true;
  }
  return false;
}

// Whether [start,end) continues a word on either side: "ORD-2026-603367", "e89b-12d3".
bool GluedToWord(std::string_view text, size_t start, size_t end) {
  if (start > 0) {
    char p = text[start - 1];
    if (IsAlnum(p) || p == '_') return true;
    if ((p == '-' || p == '_') && start > 1 && IsAlpha(text[start - 2])) return true;
  }
  if (end < text.size()) {
    char n = text[end];
    if (IsAlnum(n) || n == '_') return true;
    if (n == '-' && end + 1 < text.size() && IsAlpha(text[end + 1])) return true;
  }
  return false;
}

// Whether a number libphonenumber accepts is more likely an id: glued to other characters
// ("#2025550123", "ORD-2025550123", "id_4155550132"), or a bare run of digits ("epoch
// 7248987797") with no phone word ("call", "phone", "tel", ...) in the 40 bytes before it.
bool PhoneLooksLikeId(std::string_view text, size_t start, size_t len) {
  size_t end = start + len;
  if (start > 0) {
    char p = text[start - 1];
    if (IsAlnum(p) || p == '_' || p == '#' || p == '/' || p == '=' || p == '.') return true;
    if (p == '-' && start > 1 && IsAlnum(text[start - 2])) return true;
  }
  if (end < text.size()) {
    char n = text[end];
    if (IsAlnum(n) || n == '_' || n == '/' || n == '#') return true;  // "845 221 9034#": a dial-in code
    if ((n == '-' || n == '.') && end + 1 < text.size() && IsAlnum(text[end + 1])) return true;
  }
  int separators = 0, dots = 0;
  for (size_t i = start; i < end; ++i) {
    if (!IsDigit(text[i])) ++separators;
    if (text[i] == '.') ++dots;
  }
  if (separators == 1 && dots == 1) return true;  // a decimal: "11525676.5741"
  // A dotted version: "125.0.3822.672" (a lone 0 group), or one named as such.
  if (dots > 0 && dots == separators) {
    std::string_view raw = text.substr(start, len);
    if (raw.find(".0.") != std::string_view::npos || AfterVersionWord(text, start)) return true;
  }
  if (separators > 0) return false;
  size_t from = start > 40 ? start - 40 : 0;
  std::string before = ToLower(text.substr(from, start - from));
  for (const char* w : {"call", "phone", "tel", "mobile", "cell", "sms", "text me", "whatsapp", "fax", "contact",
                        "reach", "dial", "ring"}) {
    if (before.find(w) != std::string::npos) return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& PiiKinds() { return kKinds; }

struct PiiScanner::Impl {
  PiiOptions options;
  std::set<std::string> kinds;
  std::unique_ptr<RE2::Set> set;
  std::vector<const PatternDef*> defs;         // by set index
  std::vector<std::unique_ptr<RE2>> regexes;   // by set index
  int phone_hint = -1;                         // set index of the phone hint, or -1
  std::unique_ptr<RE2> date_like;              // a run of digits that starts with a date
  std::map<std::string, std::vector<std::unique_ptr<RE2>>> allow;
  const PhoneNumberUtil* phone_util = PhoneNumberUtil::GetInstance();

  bool Enabled(const std::string& kind) const { return kinds.count(kind) > 0; }

  // Checks one candidate; fills `f` (kind, detail, range, value, redacted) when it holds.
  bool Validate(const PatternDef& def, const RE2& re, std::string_view text, size_t start, size_t end,
                PiiFinding& f) const;
  void ScanPattern(int index, std::string_view text, std::vector<PiiFinding>& out) const;
  void ScanPhones(std::string_view text, std::vector<PiiFinding>& out) const;
  bool Allowed(const PiiFinding& f, const ScanContext& ctx) const;
  std::string NormalisedPhone(const std::string& raw) const;
};

bool PiiScanner::Impl::Validate(const PatternDef& def, const RE2& re, std::string_view text, size_t start,
                                size_t end, PiiFinding& f) const {
  std::string_view m = text.substr(start, end - start);
  f.kind = def.kind;
  f.detail = def.detail;
  f.offset = start;
  f.length = end - start;
  switch (def.check) {
    case Check::kEmail: {
      size_t at = m.find('@');
      std::string_view local = m.substr(0, at), domain = m.substr(at + 1);
      // The pattern may start inside a longer token ("a/b.c@x.com"); trim leading dots.
      while (!local.empty() && local.front() == '.') {
        local.remove_prefix(1);
        ++f.offset;
        --f.length;
      }
      if (local.empty() || local.size() > 64 || local.back() == '.' || local.find("..") != std::string_view::npos)
        return false;
      if (domain.size() > 253) return false;
      std::string tld = ToLower(domain.substr(domain.rfind('.') + 1));
      static const std::set<std::string> kFileExtensions = {
          "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "css", "js", "mjs", "json", "html", "htm",
          "xml", "txt", "pdf", "zip", "gz", "tar", "yaml", "yml", "toml", "lock", "map", "woff", "woff2",
          "ttf", "mp4", "mp3", "wav", "exe", "dll", "csv", "log", "tgz"};
      if (kFileExtensions.count(tld)) return false;
      if (f.offset > 0 && (text[f.offset - 1] == '@')) return false;
      f.value = ToLower(text.substr(f.offset, f.length));
      f.redacted = std::string(1, f.value[0]) + "***@" + ToLower(domain);
      return true;
    }
    case Check::kCard: {
      if (GluedNumber(text, start, end)) return false;
      // A card starts its run of digit groups: "9400 1877 4379 0047 6688 3422 02" (a tracking
      // number) and "ES24 8225 6258 4036 4674 5804" (an IBAN) hold no card.
      if (start > 1 && (text[start - 1] == ' ' || text[start - 1] == '-') && IsDigit(text[start - 2])) return false;
      // Try the whole run, then shorter prefixes ending at a group gap ("card then CVV").
      std::vector<size_t> cuts;  // byte positions after a digit that ends a group or the run
      for (size_t i = start; i < end; ++i)
        if (IsDigit(text[i]) && (i + 1 == end || !IsDigit(text[i + 1]))) cuts.push_back(i + 1);
      for (size_t k = cuts.size(); k-- > 0;) {
        std::string digits = DigitsOnly(text.substr(start, cuts[k] - start));
        if (digits.size() < 13) break;
        if (digits.size() > 19 || !Luhn(digits)) continue;
        std::string brand = CardBrand(digits);
        if (brand.empty()) continue;
        if (digits.find_first_not_of(digits[0]) == std::string::npos) return false;  // 0000...
        // After the card, at most one more group (a CVV or an expiry) in the same run: with two
        // or more it is a longer number, e.g. "4713 0905 3702 2726 2413 66" (a tracking number).
        int groups_after = 0;
        for (size_t i = cuts[k]; i + 1 < text.size() && (text[i] == ' ' || text[i] == '-') && IsDigit(text[i + 1]);) {
          ++groups_after;
          for (++i; i < text.size() && IsDigit(text[i]);) ++i;
        }
        if (groups_after >= 2) return false;
        f.detail = brand;
        f.length = cuts[k] - start;
        f.value = digits;
        f.redacted = digits.substr(0, 4) + " **** **** " + Last(digits, 4);
        return true;
      }
      return false;
    }
    case Check::kIban: {
      std::string cc(m.substr(0, 2));
      int n = IbanLength(cc);
      if (n == 0) return false;
      if (start > 0 && (IsAlnum(text[start - 1]) || text[start - 1] == '_')) return false;
      std::string compact;
      size_t i = start;
      for (; i < end && static_cast<int>(compact.size()) < n; ++i)
        if (text[i] != ' ') compact.push_back(text[i]);
      if (static_cast<int>(compact.size()) < n) return false;
      if (i < text.size() && (IsAlnum(text[i]) || text[i] == '_')) return false;
      if (!IbanMod97(compact)) return false;
      f.detail = cc;
      f.length = i - start;
      f.value = compact;
      f.redacted = cc + "** **** " + Last(compact, 4);
      return true;
    }
    case Check::kSsn:
    case Check::kSsnBare: {
      if (GluedNumber(text, start, end)) return false;
      std::string d = DigitsOnly(m);
      if (def.check == Check::kSsnBare) {
        size_t from = start > 30 ? start - 30 : 0;
        std::string before = ToLower(text.substr(from, start - from));
        if (before.find("ssn") == std::string::npos && before.find("social security") == std::string::npos &&
            before.find("social-security") == std::string::npos)
          return false;
      }
      int area = std::stoi(d.substr(0, 3)), group = std::stoi(d.substr(3, 2)), serial = std::stoi(d.substr(5));
      if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return false;
      if (d == "078051120" || d == "219099999") return false;
      f.value = d;
      f.redacted = "***-**-" + d.substr(5);
      return true;
    }
    case Check::kIpv4: {
      if (GluedNumber(text, start, end)) return false;
      std::array<int, 4> octets{};
      size_t k = 0, i = 0;
      while (k < 4) {
        size_t j = i;
        while (j < m.size() && IsDigit(m[j])) ++j;
        if (j - i > 1 && m[i] == '0') return false;  // leading zeros: not how addresses are written
        octets[k++] = std::stoi(std::string(m.substr(i, j - i)));
        i = j + 1;
      }
      for (int o : octets)
        if (o > 255) return false;
      // Not personal: "this network" 0/8, loopback 127/8, multicast and reserved >= 224.
      if (octets[0] == 0 || octets[0] == 127 || octets[0] >= 224) return false;
      // A version written like an address: "version 1.2.3.4", "v 10.0.0.1", "build 4.3.2.1".
      if (AfterVersionWord(text, start)) return false;
      f.value = std::string(m);
      f.redacted = std::to_string(octets[0]) + "." + std::to_string(octets[1]) + ".*.*";
      return true;
    }
    case Check::kIpv6: {
      if (start > 0) {
        char p = text[start - 1];
        if (IsAlnum(p) || p == '_' || p == ':' || p == '.') return false;
      }
      if (end < text.size()) {
        char n = text[end];
        if (IsAlnum(n) || n == '_' || n == ':') return false;
        if (n == '.' && end + 1 < text.size() && IsDigit(text[end + 1])) return false;
        if (n == '/' && end + 1 < text.size() && IsDigit(text[end + 1])) return false;  // a prefix: 2001:db8::/32
      }
      // Short forms like "a::b" or "Foo::Bar" are names, not addresses.
      int groups = 0, hex_digits = 0;
      for (size_t i = 0; i < m.size();) {
        size_t j = i;
        while (j < m.size() && IsHex(m[j])) ++j;
        if (j > i) ++groups;
        hex_digits += static_cast<int>(j - i);
        i = j + 1;
      }
      if (groups < 2 || (groups < 3 && hex_digits < 5)) return false;
      std::string s(m);
      in6_addr addr{};
      if (inet_pton(AF_INET6, s.c_str(), &addr) != 1) return false;
      static const in6_addr kLoopback = IN6ADDR_LOOPBACK_INIT;
      if (std::memcmp(&addr, &kLoopback, sizeof addr) == 0) return false;
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, &addr, buf, sizeof buf);
      f.value = buf;
      std::string v = f.value;
      size_t c1 = v.find(':');
      size_t c2 = c1 == std::string::npos ? c1 : v.find(':', c1 + 1);
      f.redacted = (c2 == std::string::npos ? v.substr(0, c1) : v.substr(0, c2)) + ":****";
      return true;
    }
    case Check::kToken: {
      std::string v(m);
      // Real keys mix letters and digits; a long word with a key-like prefix does not.
      bool digit = false, alpha = false;
      size_t body = f.detail == "openai-key" ? SecretPrefix(f.detail, v).size() : 4;
      for (size_t i = body; i < v.size(); ++i) {
        if (IsDigit(v[i])) digit = true;
        if (IsAlpha(v[i])) alpha = true;
      }
      if (!digit || !alpha) return false;
      if (f.detail == "openai-key" && ShannonEntropy(std::string_view(v).substr(body)) < 3.5) return false;
      f.value = v;
      f.redacted = SecretPrefix(f.detail, v) + "..." + Last(v, 4);
      return true;
    }
    case Check::kJwt: {
      std::string header = Base64UrlDecode(m.substr(0, m.find('.')));
      auto j = nlohmann::json::parse(header, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("alg")) return false;
      f.value = std::string(m);
      f.redacted = "eyJ..." + Last(f.value, 4);
      return true;
    }
    case Check::kPrivateKey: {
      f.value = std::string(m);
      f.redacted = f.value;
      return true;
    }
    case Check::kAssignment: {
      re2::StringPiece groups[3];
      if (!re.Match(re2::StringPiece(text.data(), text.size()), start, end, RE2::ANCHOR_BOTH, groups, 3))
        return false;
      std::string key = ToLower(std::string(groups[1].data(), groups[1].size()));
      std::string value(groups[2].data(), groups[2].size());
      if (Placeholder(value) || CharClasses(value) < 2 || ShannonEntropy(value) < 3.0) return false;
      f.detail = key.find("pass") != std::string::npos || key == "pwd" ? "password" : "api-key";
      f.offset = static_cast<size_t>(groups[2].data() - text.data());
      f.length = groups[2].size();
      f.value = value;
      f.redacted = key + "=****";
      return true;
    }
    case Check::kUrlPassword: {
      re2::StringPiece groups[2];
      if (!re.Match(re2::StringPiece(text.data(), text.size()), start, end, RE2::ANCHOR_BOTH, groups, 2))
        return false;
      std::string value(groups[1].data(), groups[1].size());
      if (Placeholder(value)) return false;  // "https://user:${TOKEN}@", "user:password@"
      f.offset = static_cast<size_t>(groups[1].data() - text.data());
      f.length = groups[1].size();
      f.value = value;
      f.redacted = "://user:****@";
      return true;
    }
    case Check::kPhoneHint:
      return false;
  }
  return false;
}

void PiiScanner::Impl::ScanPattern(int index, std::string_view text, std::vector<PiiFinding>& out) const {
  const PatternDef& def = *defs[index];
  const RE2& re = *regexes[index];
  re2::StringPiece whole(text.data(), text.size());
  size_t pos = 0;
  re2::StringPiece m;
  while (pos <= text.size() && re.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
    size_t start = static_cast<size_t>(m.data() - text.data());
    size_t end = start + m.size();
    PiiFinding f;
    bool ok = Validate(def, re, text, start, end, f);
    if (ok) out.push_back(std::move(f));
    // A failed card or IBAN may hide a valid one starting at a later group of the same run.
    bool retry = !ok && (def.check == Check::kCard || def.check == Check::kIban);
    pos = (retry || end == start) ? start + 1 : end;
  }
}

void PiiScanner::Impl::ScanPhones(std::string_view text, std::vector<PiiFinding>& out) const {
  // libphonenumber runs only over runs of digits and separators (the hint pattern) that hold
  // 7 to 20 digits, not over the whole text: a fraction of the cost, same matches.
  const RE2& runs = *regexes[phone_hint];
  re2::StringPiece whole(text.data(), text.size()), m;
  size_t pos = 0;
  while (pos < text.size() && runs.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
    size_t run_start = static_cast<size_t>(m.data() - text.data());
    pos = run_start + m.size();
    size_t digits = 0;
    for (char c : m) digits += IsDigit(c);
    if (digits < 7 || digits > 20) continue;
    // libphonenumber is by far the most expensive step: skip runs whose every match would be
    // refused anyway (a bare digit run that reads as an id) or that are dates.
    size_t core = run_start, core_end = pos;
    while (core < core_end && !IsDigit(text[core])) ++core;
    std::string_view core_text = text.substr(core, core_end - core);
    bool plain = digits == core_text.size() ||
                 (digits + 1 == core_text.size() && core_text.find('.') != std::string_view::npos);
    bool dotted = core_text.find_first_not_of("0123456789.") == std::string_view::npos;
    if ((plain || dotted) && PhoneLooksLikeId(text, core, core_text.size())) continue;
    // A run glued to a word ("ORD-2026-603367", the digits of a UUID) is part of an id.
    if (GluedToWord(text, core, core_end)) continue;
    if (RE2::PartialMatch(re2::StringPiece(text.data() + core, core_end - core), *date_like)) continue;
    // With some ASCII context on each side, so libphonenumber still sees what makes a run a
    // timestamp ("2026-10-13 11:17:51") or a date.
    size_t from = run_start, to = pos;
    while (from > 0 && run_start - from < 16 && static_cast<unsigned char>(text[from - 1]) < 0x80) --from;
    while (to < text.size() && to - pos < 16 && static_cast<unsigned char>(text[to]) < 0x80) ++to;
    std::string window(text.substr(from, to - from));
    PhoneNumberMatcher matcher(*phone_util, window, options.default_region, PhoneNumberMatcher::VALID, INT_MAX);
    PhoneNumberMatch match;
    while (matcher.HasNext() && matcher.Next(&match)) {
      size_t start = from + static_cast<size_t>(match.start()), len = match.raw_string().size();
      if (start < run_start || start + len > pos) continue;  // belongs to a neighbouring run
      if (start + len > text.size()) continue;
      if (PhoneLooksLikeId(text, start, len)) continue;
      PiiFinding f;
      f.kind = "phone";
      phone_util->GetRegionCodeForNumber(match.number(), &f.detail);
      f.offset = start;
      f.length = len;
      phone_util->Format(match.number(), PhoneNumberUtil::E164, &f.value);
      std::string national;
      phone_util->GetNationalSignificantNumber(match.number(), &national);
      f.redacted = "+" + std::to_string(match.number().country_code()) + " *** *** " + Last(national, 4);
      out.push_back(std::move(f));
    }
  }
}

std::string PiiScanner::Impl::NormalisedPhone(const std::string& raw) const {
  PhoneNumber number;
  if (phone_util->Parse(raw, options.default_region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return "";
  if (!phone_util->IsValidNumber(number)) return "";
  std::string e164;
  phone_util->Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

bool PiiScanner::Impl::Allowed(const PiiFinding& f, const ScanContext& ctx) const {
  for (const std::string& agent : {ctx.agent, std::string("*")}) {
    auto it = allow.find(agent);
    if (it == allow.end()) continue;
    for (const auto& re : it->second)
      if (RE2::FullMatch(f.value, *re)) return true;
  }
  if (options.allow_user_identity && !ctx.user_id.empty()) {
    std::string uid = ToLower(Trim(ctx.user_id));
    if (f.value == uid) return true;
    if (f.kind == "phone" && NormalisedPhone(uid) == f.value) return true;
    if ((f.kind == "card" || f.kind == "ssn") && DigitsOnly(uid) == f.value) return true;
    if (f.kind == "iban") {
      std::string compact;
      for (char c : uid)
        if (c != ' ') compact.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      if (compact == f.value) return true;
    }
  }
  return false;
}

PiiScanner::PiiScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PiiScanner::~PiiScanner() = default;

StatusOr<std::unique_ptr<PiiScanner>> PiiScanner::Create(const PiiOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  for (const std::string& k : options.kinds) {
    if (std::find(kKinds.begin(), kKinds.end(), k) == kKinds.end())
      return InvalidArgument("unknown personal-data kind \"" + k + "\"");
  }
  if (options.kinds.empty()) impl->kinds.insert(kKinds.begin(), kKinds.end());
  else impl->kinds.insert(options.kinds.begin(), options.kinds.end());

  std::set<std::string> regions;
  impl->phone_util->GetSupportedRegions(&regions);
  if (impl->Enabled("phone") && !regions.count(options.default_region))
    return InvalidArgument("unknown phone region \"" + options.default_region + "\"");

  RE2::Options re_options;
  re_options.set_max_mem(64 << 20);
  re_options.set_log_errors(false);
  impl->set = std::make_unique<RE2::Set>(re_options, RE2::UNANCHORED);
  for (const PatternDef& def : kPatterns) {
    if (!impl->Enabled(def.kind)) continue;
    std::string error;
    int index = impl->set->Add(def.regex, &error);
    if (index < 0) return Internal(std::string("detector pattern does not compile: ") + error);
    if (def.check == Check::kPhoneHint) impl->phone_hint = index;
    impl->defs.push_back(&def);
    impl->regexes.push_back(std::make_unique<RE2>(def.regex, re_options));
  }
  if (!impl->set->Compile()) return Internal("detector patterns do not fit in memory");
  impl->date_like = std::make_unique<RE2>(R"(^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b)", re_options);

  for (const auto& [agent, patterns] : options.allow) {
    for (const std::string& p : patterns) {
      auto re = std::make_unique<RE2>(p, re_options);
      if (!re->ok())
        return InvalidArgument("allow-list pattern \"" + p + "\" for agent \"" + agent + "\": " + re->error());
      impl->allow[agent].push_back(std::move(re));
    }
  }
  return std::unique_ptr<PiiScanner>(new PiiScanner(std::move(impl)));
}

std::vector<PiiFinding> PiiScanner::ScanAll(std::string_view text) const {
  std::vector<PiiFinding> found;
  if (text.empty() || impl_->defs.empty()) return found;
  std::vector<int> hits;
  RE2::Set::ErrorInfo error;
  if (!impl_->set->Match(re2::StringPiece(text.data(), text.size()), &hits, &error) &&
      error.kind != RE2::Set::kNoError) {
    // The set's DFA ran out of memory on this text: run every pattern instead.
    hits.clear();
    for (size_t i = 0; i < impl_->defs.size(); ++i) hits.push_back(static_cast<int>(i));
  }
  std::sort(hits.begin(), hits.end());
  for (int index : hits) {
    if (index == impl_->phone_hint) impl_->ScanPhones(text, found);
    else impl_->ScanPattern(index, text, found);
  }
  // Overlaps keep the most specific finding, then the earliest.
  std::stable_sort(found.begin(), found.end(), [](const PiiFinding& a, const PiiFinding& b) {
    int ra = Rank(a), rb = Rank(b);
    return ra != rb ? ra < rb : a.offset < b.offset;
  });
  std::vector<PiiFinding> kept;
  for (PiiFinding& f : found) {
    bool overlaps = false;
    for (const PiiFinding& k : kept)
      if (f.offset < k.offset + k.length && k.offset < f.offset + f.length) overlaps = true;
    if (!overlaps) kept.push_back(std::move(f));
  }
  std::sort(kept.begin(), kept.end(), [](const PiiFinding& a, const PiiFinding& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.length > b.length;
  });
  return kept;
}

std::vector<PiiFinding> PiiScanner::Scan(std::string_view text, const ScanContext& ctx) const {
  std::vector<PiiFinding> all = ScanAll(text);
  std::vector<PiiFinding> out;
  for (PiiFinding& f : all)
    if (!impl_->Allowed(f, ctx)) out.push_back(std::move(f));
  return out;
}

}  // namespace firebreak::detect
