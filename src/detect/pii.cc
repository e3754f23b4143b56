#include "detect/pii.h"

#include <arpa/inet.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "detect/normalise.h"

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
  kToken,          // a row of the secret catalogue
  kJwt,
  kPrivateKey,
  kAssignment,     // password=..., api_key: ... with a high-entropy value
  kPasswordProse,  // "your new password is ..."
  kAwsSecret,      // 40 base64 characters named by an AWS secret key context
  kUrlPassword,    // scheme://user:password@host
  kPhoneHint,      // only tells the scanner to run libphonenumber over the text
};

enum class Checksum { kNone, kCrc32Base62 };
// What a random body of a format mixes, so a word behind a key-like prefix does not pass.
enum class Mix { kLettersAndDigits, kBothCases };

struct SecretFormat {
  const char* name;
  const char* prefix;
  const char* alphabet;
  int min_length, max_length;
  const char* suffix;
  Mix mix;
  Checksum checksum;
  const char* spec;
};

const SecretFormat kSecretCatalog[] = {
#include "detect/secrets_catalog.inc"
};

struct PatternDef {
  std::string kind;
  std::string detail;
  std::string regex;
  Check check;
  const SecretFormat* format = nullptr;
  std::bitset<256> body_chars;  // kToken: the characters a body may hold
};

// The characters of a RE2 class body such as "A-Za-z0-9_\\-".
std::bitset<256> ClassChars(std::string_view body) {
  std::bitset<256> set;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\\' && i + 1 < body.size()) {
      set.set(static_cast<unsigned char>(body[++i]));
    } else if (i + 2 < body.size() && body[i + 1] == '-') {
      for (int x = static_cast<unsigned char>(c); x <= static_cast<unsigned char>(body[i + 2]); ++x) set.set(x);
      i += 2;
    } else {
      set.set(static_cast<unsigned char>(c));
    }
  }
  return set;
}

// The candidate patterns (RE2 syntax). Each is deliberately loose; the checks decide.
std::vector<PatternDef> BuildPatterns() {
  std::vector<PatternDef> p = {
      {"email", "", R"([A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b)",
       Check::kEmail},
      {"card", "", R"(\b\d(?:[ \-]?\d){12,18}\b)", Check::kCard},
      // Case-insensitive: IBANs are typed in lower and mixed case too.
      {"iban", "", R"((?i)\b[a-z]{2}\d{2}(?: ?[a-z0-9]){11,30})", Check::kIban},
      {"ssn", "", R"(\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b)", Check::kSsn},
      {"ssn", "", R"(\b\d{9}\b)", Check::kSsnBare},
      {"ipv4", "", R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)", Check::kIpv4},
      {"ipv6", "", R"((?i)(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?)", Check::kIpv6},
  };
  for (const SecretFormat& f : kSecretCatalog) {
    PatternDef d{"secret", f.name,
                 std::string("(") + f.prefix + ")([" + f.alphabet + "]{" + std::to_string(f.min_length) + "," +
                     std::to_string(f.max_length) + "}" + f.suffix + ")",
                 Check::kToken, &f};
    d.body_chars = ClassChars(f.alphabet);
    p.push_back(std::move(d));
  }
  std::vector<PatternDef> rest = {
      {"secret", "private-key", R"(-----BEGIN (?:[A-Z0-9]+ ){0,2}PRIVATE KEY(?: BLOCK)?-----)", Check::kPrivateKey},
      {"secret", "jwt", R"(\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{8,})", Check::kJwt},
      // A key name, possibly namespaced ("DB_PASSWORD", "stripe.api_key"), then ':' or '=' and
      // the value. Group 1 is the name, group 2 the value.
      {"secret", "",
       R"((?i)(?:^|[^A-Za-z0-9_])((?:[a-z0-9]+[_.\-])*(?:password|passwd|pwd|pass|passphrase|secret|client[_\- ]?secret|api[_\- ]?secret|secret[_\- ]?key|secret[_\- ]?access[_\- ]?key|api[_\- ]?key|apikey|access[_\- ]?key|(?:access|auth|api|refresh|bearer|session|secret|private)[_\- ]?token|private[_\- ]?key|account[_\- ]?key|credentials?))["']?[ \t]*[:=][ \t]*["']?([^\s"'&,;<>(){}\[\]]{8,256}))",
       Check::kAssignment},
      // A password or key given in prose: "your new password is ...", "the access token is ...".
      {"secret", "password",
       R"((?i)\b(pass(?:word|code|phrase)|pwd|pw|api[ _\-]?key|(?:access|auth|api|bearer|refresh|session)[ _\-]?token|client[ _\-]?secret|secret(?:[ _\-]?key)?|access[ _\-]?key)s?\b[ \t]*(?:(?:is|was|has been|will be|is now|now|(?:re)?set to|changed to|:|=)[ \t]*){1,3}["'“‘]?([^\s"'”’<>]{6,256}))",
       Check::kPasswordProse},
      {"secret", "aws-secret-key", R"([A-Za-z0-9/+]{40})", Check::kAwsSecret},
      {"secret", "url-password", R"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]+:([^/\s@]{3,256})@)", Check::kUrlPassword},
      // A run of digits and separators, with an optional extension ("ext. 204", "x204").
      {"phone", "", R"([+(]?\d[\d \-.()/]{5,}\d(?:,?[ \t]*(?i:ext\.?|extension|x|#)[ \t]*:?[ \t]*\d{1,6})?)", Check::kPhoneHint},
  };
  for (auto& d : rest) p.push_back(std::move(d));
  return p;
}

const std::vector<PatternDef>& Patterns() {
  static const std::vector<PatternDef>* patterns = new std::vector<PatternDef>(BuildPatterns());
  return *patterns;
}

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
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

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

// ---- labels: the words written just before a value say what it is ----

enum class Label { kNone, kPhone, kCard, kId, kIp, kVersion };

const std::unordered_map<std::string, Label>& LabelWords() {
  static const auto* words = [] {
    auto* m = new std::unordered_map<std::string, Label>;
    for (const char* w : {"call", "calls", "called", "calling", "phone", "phones", "telephone", "tel", "mobile", "mob",
                          "cell", "cellphone", "sms", "text", "whatsapp", "fax", "contact", "reach", "dial", "ring",
                          "hotline", "helpline", "landline", "voicemail", "ph", "telefon", "telefono", "handy",
                          "portable", "cellulare", "tlf", "numero", "nummer", "extension", "direct"})
      (*m)[w] = Label::kPhone;
    for (const char* w : {"card", "cards", "visa", "mastercard", "amex", "maestro", "diners", "discover", "jcb",
                          "debit", "credit", "cc", "pan", "unionpay", "mir", "rupay"})
      (*m)[w] = Label::kCard;
    for (const char* w : {"order", "orders", "tracking", "track", "invoice", "ticket", "case", "ref", "reference",
                          "confirmation", "booking", "reservation", "shipment", "parcel", "package", "awb", "waybill",
                          "accession", "specimen", "sample", "serial", "batch", "lot", "sku", "part", "model",
                          "receipt", "transaction", "txn", "member", "membership", "policy", "claim", "pnr", "flight",
                          "container", "imei", "isbn", "ean", "upc", "gtin", "id", "ids", "po", "rma", "ups", "usps",
                          "fedex", "dhl", "barcode", "voucher", "coupon", "kit", "lab", "patient", "mrn", "request",
                          "job", "build", "version", "release", "patch", "issue", "pr", "commit", "incident", "zip",
                          "zipcode", "postcode", "postal", "plz"})
      (*m)[w] = Label::kId;
    return m;
  }();
  return *words;
}

const std::unordered_map<std::string, Label>& AddressWords() {
  static const auto* words = [] {
    auto* m = new std::unordered_map<std::string, Label>;
    for (const char* w : {"ip", "ips", "ipv4", "address", "addresses", "addr", "host", "hostname", "server", "client",
                          "from", "login", "logged", "signin", "connection", "connected", "connect", "connecting",
                          "source", "src", "dst", "destination", "remote", "peer", "gateway", "dns", "vpn", "proxy",
                          "subnet", "network", "firewall", "blocked", "allowlist", "whitelist", "origin", "device",
                          "router", "endpoint", "node", "machine"})
      (*m)[w] = Label::kIp;
    for (const char* w : {"version", "versions", "ver", "v", "release", "build", "firmware", "sdk", "os", "oid",
                          "chrome", "firefox", "safari", "edge", "windows", "update", "updated", "upgrade", "upgraded",
                          "patch", "driver", "app", "package", "library", "python", "node.js", "java", "kernel", "ios",
                          "android", "macos", "plugin", "extension", "client-version", "agent", "fixed", "installed",
                          "running", "bump", "bumped", "changelog", "tag"})
      if (!m->count(w)) (*m)[w] = Label::kVersion;
    return m;
  }();
  return *words;
}

// Whether the '.' at `dot` ends an abbreviation ("no.", "tel.", "ref.") rather than a sentence.
bool Abbreviation(std::string_view text, size_t dot) {
  size_t b = dot;
  while (b > 0 && IsAlpha(text[b - 1])) --b;
  static const std::unordered_set<std::string> kAbbreviations = {"no", "nr", "tel", "ph", "mob", "ext", "ref",
                                                                 "acct", "inv", "approx", "fax", "nos", "num"};
  return dot > b && kAbbreviations.count(ToLower(text.substr(b, dot - b))) > 0;
}

// Returns what the nearest known word within `window` bytes before `start`, in the same
// sentence, names, reading back word by word; kNone when no known word is there.
Label LabelBefore(std::string_view text, size_t start, size_t window,
                  const std::unordered_map<std::string, Label>& words) {
  size_t from = start > window ? start - window : 0;
  size_t i = start;
  while (i > from) {
    while (i > from && !IsAlpha(text[i - 1])) {
      char c = text[i - 1];
      bool sentence_end = c == '\n' || ((c == '.' || c == '!' || c == '?' || c == ';') && i < start &&
                                        std::isspace(static_cast<unsigned char>(text[i])));
      if (sentence_end && !(c == '.' && Abbreviation(text, i - 1))) return Label::kNone;
      --i;
    }
    size_t end = i;
    while (i > from && IsAlpha(text[i - 1])) --i;
    if (end == i) break;
    if (i == from && from > 0 && IsAlpha(text[from - 1])) break;  // a word cut by the window
    auto it = words.find(ToLower(text.substr(i, end - i)));
    if (it != words.end()) return it->second;
  }
  return Label::kNone;
}

// Whether the character before `start` is ':' (or '=') right after a word: "SSN:536-22-8714",
// "Card No:4111...", "IP:73.162.44.201". A value glued to its label is still the value.
bool AfterLabelColon(std::string_view text, size_t start) {
  return start > 1 && (text[start - 1] == ':' || text[start - 1] == '=') && IsAlpha(text[start - 2]);
}

// A number continues across [start,end) when the text around it joins it to more digits or
// letters: "1.4111..." (a decimal), "2024-123-45-6789", "v1.2.3.4.5".
bool GluedBefore(std::string_view text, size_t start) {
  if (start == 0) return false;
  char p = text[start - 1];
  if (IsAlnum(p) || p == '_') return true;
  if (AfterLabelColon(text, start)) return false;
  return (p == '.' || p == ',' || p == '-' || p == '/' || p == ':') && start > 1 && IsAlnum(text[start - 2]);
}

bool GluedAfter(std::string_view text, size_t end) {
  if (end >= text.size()) return false;
  char n = text[end];
  if (IsAlnum(n) || n == '_') return true;
  if ((n == '.' || n == ',' || n == '-' || n == '/' || n == ':') && end + 1 < text.size() && IsDigit(text[end + 1]))
    return true;
  return n == '-' && end + 1 < text.size() && IsAlpha(text[end + 1]);
}

bool GluedNumber(std::string_view text, size_t start, size_t end) {
  return GluedBefore(text, start) || GluedAfter(text, end);
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
  int p2 = Prefix(d, 2), p3 = Prefix(d, 3), p4 = Prefix(d, 4), p6 = Prefix(d, 6);
  if ((p2 == 34 || p2 == 37) && n == 15) return "amex";
  if (d[0] == '4' && (n == 13 || n == 16 || n == 19)) return "visa";
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n == 16) return "mastercard";
  if (p4 >= 2200 && p4 <= 2204 && n >= 16) return "mir";
  if ((p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) && n >= 16) return "discover";
  if (p4 >= 3528 && p4 <= 3589 && n >= 16) return "jcb";
  if (p2 == 62 && n >= 16) return "unionpay";
  if ((p2 == 36 || (p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 38 || p2 == 39) && n >= 14) return "diners";
  if ((p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 || p4 == 6761 ||
       p4 == 6762 || p4 == 6763 || p4 == 6767))
    return "maestro";
  if (p4 == 5019 && n == 16) return "dankort";
  if (p6 >= 506099 && p6 <= 506198 && (n == 16 || n == 18 || n == 19)) return "verve";
  if ((p2 == 60 || p3 == 508) && n == 16) return "rupay";
  if (p4 == 9792 && n == 16) return "troy";
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

// Letters and digits only: lower, upper, digit.
int AlnumClasses(std::string_view s) {
  bool lower = false, upper = false, digit = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') lower = true;
    else if (c >= 'A' && c <= 'Z') upper = true;
    else if (IsDigit(c)) digit = true;
  }
  return lower + upper + digit;
}

// An identifier or a dotted name (config.password, PASSWORD_FROM_VAULT, dbPassword) is a
// reference to a secret kept elsewhere; letters in random mixed case ("rZmoJsqjbLxPqvdb",
// "hHbMAwVAKh": capitals too many or too scattered for camelCase words) are a secret.
bool Reference(std::string_view v) {
  bool letters_only = true, lower = false;
  size_t capitals = 0;
  for (char c : v) {
    if (!(IsAlpha(c) || c == '_' || c == '.')) return false;
    letters_only = letters_only && IsAlpha(c);
    lower = lower || (c >= 'a' && c <= 'z');
    capitals += c >= 'A' && c <= 'Z';
  }
  if (!letters_only || !lower || capitals == 0) return true;
  size_t words = capitals + (v[0] >= 'a' && v[0] <= 'z' ? 1 : 0);
  bool random = static_cast<double>(v.size()) / static_cast<double>(words) < 3.0 || ShannonEntropy(v) >= 3.5;
  return !random;
}

// A value that stands for a secret without being one: "${DB_PASSWORD}", "<redacted>", "****".
bool Placeholder(std::string_view v) {
  std::string l = ToLower(v);
  if (l.find("***") != std::string::npos || l.find("xxx") != std::string::npos) return true;
  if (l[0] == '$' || l[0] == '%' || l[0] == '<' || l[0] == '{' || l[0] == '(' || l[0] == '[') return true;
  for (const char* w : {"redacted", "example", "placeholder", "changeme", "your_", "your-", "env.", "environ",
                        "getenv", "secret_from", "<", "...."}) {
    if (l.find(w) != std::string::npos) return true;
  }
  return false;
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

// GitHub and npm tokens end in the CRC32 of their 30 random characters, in base62, padded to
// 6 characters. Which base62 digit order GitHub uses is not stated in its announcement, so
// both common orders are accepted (still one chance in 2^31 for a random body).
bool Crc32Base62Holds(std::string_view body) {
  if (body.size() != 36) return false;
  std::string_view random = body.substr(0, 30), check = body.substr(30);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(random.data()), static_cast<uInt>(random.size()));
  for (const char* digits : {"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                             "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}) {
    std::string encoded(6, digits[0]);
    uLong v = crc;
    for (size_t i = 6; i-- > 0 && v > 0;) {
      encoded[i] = digits[v % 62];
      v /= 62;
    }
    if (encoded == check) return true;
  }
  return false;
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
  return LabelBefore(text, start, 16, AddressWords()) == Label::kVersion;
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

bool DottedQuad(std::string_view s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') ++dots;
    else if (!IsDigit(c)) return false;
  }
  return dots == 3;
}

// Whether a number libphonenumber accepts is more likely an id: glued to other characters
// ("#2025550123", "ORD-2025550123", "id_4155550132"), or a bare run of digits ("epoch
// 7248987797") with no phone word ("call", "phone", "tel", ...) in the 40 bytes before it.
bool PhoneLooksLikeId(std::string_view text, size_t start, size_t len) {
  size_t end = start + len;
  if (start > 0) {
    char p = text[start - 1];
    if (IsAlnum(p) || p == '_' || p == '#' || p == '/' || p == '.') return true;
    if (p == '=' && !AfterLabelColon(text, start)) return true;
    if (p == '-' && start > 1 && IsAlnum(text[start - 2])) return true;
  }
  if (end < text.size()) {
    char n = text[end];
    if (IsAlnum(n) || n == '_' || n == '/' || n == '#') return true;  // "845 221 9034#": a dial-in code
    if ((n == '-' || n == '.' || n == ':') && end + 1 < text.size() && IsAlnum(text[end + 1])) return true;
  }
  std::string_view raw = text.substr(start, len);
  if (DottedQuad(raw)) return true;  // an IPv4 address, never a phone
  int separators = 0, dots = 0;
  for (char c : raw) {
    if (!IsDigit(c)) ++separators;
    if (c == '.') ++dots;
  }
  if (separators == 1 && dots == 1) return true;  // a decimal: "11525676.5741"
  // A dotted version: "125.0.3822.672" (a lone 0 group), or one named as such.
  if (dots > 0 && dots == separators) {
    if (raw.find(".0.") != std::string_view::npos || AfterVersionWord(text, start)) return true;
  }
  if (separators > 0) return false;
  return LabelBefore(text, start, 40, LabelWords()) != Label::kPhone;
}

}  // namespace

const std::vector<std::string>& PiiKinds() { return kKinds; }

const std::vector<std::string>& DefaultPhoneRegions() {
  static const std::vector<std::string> regions = {"US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "AU", "BR"};
  return regions;
}

struct PiiScanner::Impl {
  PiiOptions options;
  std::set<std::string> kinds;
  std::unique_ptr<RE2::Set> set;
  std::vector<const PatternDef*> defs;         // by set index
  std::vector<std::unique_ptr<RE2>> regexes;   // by set index
  int phone_hint = -1;                         // set index of the phone hint, or -1
  std::unique_ptr<RE2> date_like;              // a run of digits that starts with a whole date
  std::map<std::string, std::vector<std::unique_ptr<RE2>>> allow;
  std::vector<std::string> regions;            // default_region, then regions
  struct Plan {
    int country_code;
    std::string trunk_prefix;  // dialled before a national number ("0"), or ""
  };
  std::map<std::string, Plan> plans;           // every configured region
  const PhoneNumberUtil* phone_util = PhoneNumberUtil::GetInstance();

  bool Enabled(const std::string& kind) const { return kinds.count(kind) > 0; }
  const std::vector<std::string>& RegionsFor(const std::string& agent) const {
    auto it = options.agent_regions.find(agent);
    return it == options.agent_regions.end() ? regions : it->second;
  }

  // Checks one candidate; fills `f` (kind, detail, range, value, redacted) when it holds.
  bool Validate(const PatternDef& def, const RE2& re, std::string_view text, size_t start, size_t end,
                PiiFinding& f) const;
  bool ValidateToken(const PatternDef& def, const RE2& re, std::string_view text, size_t start, size_t end,
                     PiiFinding& f) const;
  void ScanPattern(int index, std::string_view text, std::vector<PiiFinding>& out) const;
  void ScanPhones(std::string_view text, const std::vector<std::string>& regions,
                  std::vector<PiiFinding>& out) const;
  bool ValidNational(const std::string& digits, const std::string& region) const;
  std::vector<std::string> RegionsOfRun(std::string_view run, const std::vector<std::string>& regions) const;
  bool Allowed(const PiiFinding& f, const ScanContext& ctx) const;
  bool SamePhone(const std::string& raw, const std::string& e164, const std::vector<std::string>& regions) const;
};

bool PiiScanner::Impl::ValidateToken(const PatternDef& def, const RE2& re, std::string_view text, size_t start,
                                     size_t end, PiiFinding& f) const {
  const SecretFormat& format = *def.format;
  if (IsAlnum(format.prefix[0]) && start > 0 && (IsAlnum(text[start - 1]) || text[start - 1] == '_')) return false;
  if (end < text.size() && (IsAlnum(text[end]) || def.body_chars.test(static_cast<unsigned char>(text[end]))))
    return false;  // the body goes on past the format's length
  re2::StringPiece groups[3];
  if (!re.Match(re2::StringPiece(text.data(), text.size()), start, end, RE2::ANCHOR_BOTH, groups, 3)) return false;
  std::string prefix(groups[1].data(), groups[1].size());
  std::string_view body(groups[2].data(), groups[2].size());
  bool checksum = format.checksum == Checksum::kCrc32Base62 && Crc32Base62Holds(body);
  // Real keys mix letters and digits; a long word with a key-like prefix does not. A body whose
  // checksum holds is a key whatever it looks like.
  bool lower = false, upper = false, digit = false;
  for (char c : body) {
    lower = lower || (c >= 'a' && c <= 'z');
    upper = upper || (c >= 'A' && c <= 'Z');
    digit = digit || IsDigit(c);
  }
  bool mixed = format.mix == Mix::kBothCases ? lower && upper : (lower || upper) && digit;
  if (!checksum && !mixed) return false;
  if (f.detail == "openai-key" && (prefix == "sk-" && body.rfind("ant-", 0) == 0)) return false;
  if (f.detail == "openai-key" && !checksum && ShannonEntropy(body) < 3.5) return false;
  f.value = std::string(text.substr(start, end - start));
  f.redacted = prefix + "..." + Last(f.value, 4);
  return true;
}

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
      // "git@github.com:org/repo.git" and "ssh://git@host/..." name a repository, not a person.
      if (end + 1 < text.size() && text[end] == ':' && !std::isspace(static_cast<unsigned char>(text[end + 1])))
        return false;
      if (f.offset >= 3 && text.substr(f.offset - 3, 3) == "://") return false;
      f.value = ToLower(text.substr(f.offset, f.length));
      f.redacted = std::string(1, f.value[0]) + "***@" + ToLower(domain);
      return true;
    }
    case Check::kCard: {
      if (GluedNumber(text, start, end)) return false;
      // A card starts its run of digit groups: "9400 1877 4379 0047 6688 3422 02" (a tracking
      // number) and "ES24 8225 6258 4036 4674 5804" (an IBAN) hold no card.
      if (start > 1 && (text[start - 1] == ' ' || text[start - 1] == '-') && IsDigit(text[start - 2])) return false;
      // "Order 5018 ...", "tracking 6011 ...": a number an id label names is that id.
      if (LabelBefore(text, start, 32, LabelWords()) == Label::kId) return false;
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
      std::string cc{Upper(m[0]), Upper(m[1])};
      int n = IbanLength(cc);
      if (n == 0) return false;
      if (start > 0 && (IsAlnum(text[start - 1]) || text[start - 1] == '_')) return false;
      // Lower case only all through: a mixed-case token is a key or a hash, not a typed IBAN.
      std::string compact;
      size_t i = start;
      for (; i < end && static_cast<int>(compact.size()) < n; ++i)
        if (text[i] != ' ') compact.push_back(Upper(text[i]));
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
      if (GluedBefore(text, start)) return false;
      // A port ("73.162.44.201:51234") or a prefix length ("/32") after the address keeps it
      // an address; other digits or letters glued on make it part of a longer token.
      bool suffix = false;
      if (end + 1 < text.size() && (text[end] == ':' || text[end] == '/') && IsDigit(text[end + 1])) {
        size_t j = end + 1;
        while (j < text.size() && IsDigit(text[j])) ++j;
        int digits = static_cast<int>(j - end - 1);
        bool ends = j >= text.size() || !(IsAlnum(text[j]) || ((text[j] == '.' || text[j] == ':') &&
                                                               j + 1 < text.size() && IsDigit(text[j + 1])));
        int value = digits <= 5 ? std::stoi(std::string(text.substr(end + 1, digits))) : 99999;
        suffix = ends && (text[end] == ':' ? value <= 65535 : value <= 32);
        if (!suffix) return false;
      } else if (GluedAfter(text, end)) {
        return false;
      }
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
      // A version written like an address: "version 1.2.3.4", "upgrade to 3.10.2.1". Small
      // numbers in every part read as a version unless an address word names them.
      Label label = LabelBefore(text, start, 40, AddressWords());
      if (label == Label::kVersion) return false;
      // Public resolvers are services everyone types, not someone's address.
      static const std::set<std::string> kServices = {"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9",
                                                      "149.112.112.112", "208.67.222.222", "208.67.220.220"};
      if (kServices.count(std::string(m))) return false;
      // Private addresses ("open 192.168.1.1 in your browser") and all-small numbers (a
      // version) count only when a word names them as an address, or with a port or prefix.
      bool small = std::all_of(octets.begin(), octets.end(), [](int o) { return o <= 30; });
      bool private_range = octets[0] == 10 || (octets[0] == 172 && octets[1] >= 16 && octets[1] <= 31) ||
                           (octets[0] == 192 && octets[1] == 168);
      if ((small || private_range) && !suffix && label != Label::kIp) return false;
      f.value = std::string(m);
      f.redacted = std::to_string(octets[0]) + "." + std::to_string(octets[1]) + ".*.*";
      return true;
    }
    case Check::kIpv6: {
      // "IP:2001:db8::1": the pattern took the label's colon.
      if (m.size() > 2 && m[0] == ':' && m[1] != ':' && AfterLabelColon(text, start + 1)) {
        ++start;
        m.remove_prefix(1);
        f.offset = start;
        f.length = m.size();
      }
      if (start > 0) {
        char p = text[start - 1];
        if (IsAlnum(p) || p == '_' || p == '.' || (p == ':' && !AfterLabelColon(text, start))) return false;
      }
      if (end < text.size()) {
        char n = text[end];
        if (IsAlnum(n) || n == '_' || n == ':') return false;
        if (n == '.' && end + 1 < text.size() && IsDigit(text[end + 1])) return false;
        // A network prefix ("2001:db8::/32") names no one; a host with its length ("/128") does.
        if (n == '/' && end + 1 < text.size() && IsDigit(text[end + 1]) && m.size() >= 2 &&
            m.substr(m.size() - 2) == "::")
          return false;
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
    case Check::kToken:
      return ValidateToken(def, re, text, start, end, f);
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
    case Check::kAssignment:
    case Check::kPasswordProse: {
      re2::StringPiece groups[3];
      if (!re.Match(re2::StringPiece(text.data(), text.size()), start, end, RE2::ANCHOR_BOTH, groups, 3))
        return false;
      std::string key = ToLower(std::string(groups[1].data(), groups[1].size()));
      std::string_view value(groups[2].data(), groups[2].size());
      // The sentence's full stop is not part of the value.
      while (!value.empty() && std::strchr(".,;:)?", value.back())) value.remove_suffix(1);
      if (value.size() < 6 || Placeholder(value) || Reference(value)) return false;
      bool password = key.find("pass") != std::string::npos || key == "pw" ||
                      (key.size() >= 3 && key.compare(key.size() - 3, 3, "pwd") == 0);
      if (def.check == Check::kPasswordProse && password) {
        // Prose says "password is required", "password is case-sensitive": a value is a
        // password when it holds a digit, a symbol, or a capital after its first letter.
        bool marked = false;
        for (size_t i = 0; i < value.size(); ++i) {
          char c = value[i];
          if (IsDigit(c) || (i > 0 && c >= 'A' && c <= 'Z') || (!IsAlnum(c) && !std::strchr("-.'_", c))) marked = true;
        }
        if (!marked || CharClasses(value) < 2 || value.size() > 64) return false;
      } else if (def.check == Check::kPasswordProse) {
        // "The token is valid until Friday": a key in prose is long and random.
        if (value.size() < 16 || AlnumClasses(value) < 2 || ShannonEntropy(value) < 3.0 || Reference(value))
          return false;
      } else {
        if (value.size() < 8 || CharClasses(value) < 2) return false;
        // A password is whatever the user chose; keys are long and random.
        if (ShannonEntropy(value) < (password ? 2.5 : 3.0)) return false;
      }
      f.detail = password ? "password" : "api-key";
      f.offset = static_cast<size_t>(value.data() - text.data());
      f.length = value.size();
      f.value = std::string(value);
      for (char& c : key)
        if (c == ' ' || c == '-') c = '_';
      f.redacted = key + "=****";
      return true;
    }
    case Check::kAwsSecret: {
      auto base64 = [](char c) { return IsAlnum(c) || c == '/' || c == '+' || c == '='; };
      if (start > 0 && base64(text[start - 1])) return false;
      if (end < text.size() && base64(text[end])) return false;
      if (AlnumClasses(m) < 3) return false;  // hex digests and words are not base64 keys
      size_t from = start > 100 ? start - 100 : 0;
      std::string before = ToLower(text.substr(from, start - from));
      bool named = before.find("secret") != std::string::npos;
      size_t near_from = start > 200 ? start - 200 : 0;
      std::string_view around = text.substr(near_from, std::min(text.size(), end + 200) - near_from);
      bool key_id = RE2::PartialMatch(re2::StringPiece(around.data(), around.size()), R"(\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)");
      if (!named && !key_id) return false;
      std::string l = ToLower(m);
      if (l.find("xxxx") != std::string::npos || l.find("****") != std::string::npos) return false;
      f.value = std::string(m);
      f.redacted = "aws-secret..." + Last(f.value, 4);
      return true;
    }
    case Check::kUrlPassword: {
      re2::StringPiece groups[2];
      if (!re.Match(re2::StringPiece(text.data(), text.size()), start, end, RE2::ANCHOR_BOTH, groups, 2))
        return false;
      std::string value(groups[1].data(), groups[1].size());
      if (Placeholder(value) || Reference(value)) return false;  // "https://user:${TOKEN}@", "user:password@"
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
    // A failed card, IBAN or token may hide a valid one starting later in the same run.
    bool retry = !ok && (def.check == Check::kCard || def.check == Check::kIban || def.check == Check::kToken ||
                         def.check == Check::kIpv6);
    pos = (retry || end == start) ? start + 1 : end;
  }
}

void PiiScanner::Impl::ScanPhones(std::string_view text, const std::vector<std::string>& regions,
                                  std::vector<PiiFinding>& out) const {
  // libphonenumber runs only over runs of digits and separators (the hint pattern) that hold
  // 7 to 20 digits, not over the whole text: a fraction of the cost, same matches.
  const RE2& runs = *regexes[phone_hint];
  re2::StringPiece whole(text.data(), text.size()), m;
  size_t pos = 0;
  // What the other kinds found, by start, to skip runs they cover.
  std::vector<std::pair<size_t, size_t>> claims;
  for (const PiiFinding& f : out) claims.emplace_back(f.offset, f.offset + f.length);
  std::sort(claims.begin(), claims.end());
  size_t longest = 0;
  for (const auto& c : claims) longest = std::max(longest, c.second - c.first);
  while (pos < text.size() && runs.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
    size_t run_start = static_cast<size_t>(m.data() - text.data());
    pos = run_start + m.size();
    size_t digits = 0;  // of the number, not of its extension
    for (char c : m) {
      if (IsAlpha(c) || c == '#') break;
      digits += IsDigit(c);
    }
    if (digits < 7 || digits > 20) continue;
    size_t core = run_start, core_end = pos;
    while (core < core_end && !IsDigit(text[core]) && text[core] != '+') ++core;
    std::string_view core_text = text.substr(core, core_end - core);
    // "+44 20 ...", "0044 20 ...": written with a country code, a number is a phone in any
    // grouping and any region list.
    bool plus = core_text[0] == '+';
    bool idd = !plus && core_text.size() > 3 && core_text.substr(0, 2) == "00" && core_text[2] != '0';
    bool international = plus || idd;
    // libphonenumber is by far the most expensive step: skip runs whose every match would be
    // refused anyway (a bare digit run that reads as an id) or that are dates.
    size_t digit_start = plus ? core + 1 : core;
    std::string_view digit_text = text.substr(digit_start, core_end - digit_start);
    bool plain = digits == digit_text.size() ||
                 (digits + 1 == digit_text.size() && digit_text.find('.') != std::string_view::npos);
    bool dotted = digit_text.find_first_not_of("0123456789.") == std::string_view::npos;
    if (!plus && (plain || dotted) && PhoneLooksLikeId(text, core, core_text.size())) continue;
    if (DottedQuad(core_text)) continue;
    // A run glued to a word ("ORD-2026-603367", the digits of a UUID) is part of an id.
    if (GluedToWord(text, core, core_end)) continue;
    if (!plus && RE2::PartialMatch(re2::StringPiece(text.data() + core, core_end - core), *date_like)) continue;
    bool zip4 = core_text.size() == 10 && core_text[5] == '-' && digits == 9;  // a US ZIP+4: "94103-1234"
    // What the words before say: "tracking 4521 8876 1203" is an id; after "call" any valid
    // grouping will do; with no word, the digit grouping must be one the region uses.
    // A run a card, an IBAN, an SSN, an address or a secret already covers would lose to it.
    bool claimed = false;
    auto first = std::lower_bound(claims.begin(), claims.end(), std::make_pair(core > longest ? core - longest : 0, size_t{0}));
    for (auto it = first; it != claims.end() && it->first < core_end && !claimed; ++it) claimed = core < it->second;
    if (claimed) continue;
    // "00" is also how ids start ("Specimen 0036 7214 3282"): only "+" overrides the words.
    Label label = LabelBefore(text, core, 40, LabelWords());
    if ((label == Label::kId || (zip4 && label != Label::kPhone)) && !plus) continue;
    // With some ASCII context on each side, so libphonenumber still sees what makes a run a
    // timestamp ("2026-10-13 11:17:51") or a date.
    size_t from = run_start, to = pos;
    while (from > 0 && run_start - from < 16 && static_cast<unsigned char>(text[from - 1]) < 0x80) --from;
    while (to < text.size() && to - pos < 16 && static_cast<unsigned char>(text[to]) < 0x80) ++to;
    std::string window(text.substr(from, to - from));
    // "0044 20 ..." reads as "+44 20 ..." in every region (same length, so offsets hold).
    if (idd) window.replace(core - from, 2, " +");
    // The matcher costs tens of microseconds a region: it runs in the first region for a
    // number with a country code, else only in the regions whose plan makes the digits valid.
    std::vector<std::string> tried =
        international ? std::vector<std::string>{regions.front()} : RegionsOfRun(core_text, regions);
    // Grouping decides, strictest first: when two regions read the digits ("030 12345678" is
    // valid in Germany and in the UK), the one that writes them that way wins; a phone word
    // then lets any valid grouping count; with "+" and a country code any grouping does.
    using Leniency = PhoneNumberMatcher::Leniency;
    std::vector<Leniency> leniencies;
    if (plus) {
      leniencies = {PhoneNumberMatcher::VALID};
    } else {
      if (tried.size() > 1) leniencies.push_back(PhoneNumberMatcher::EXACT_GROUPING);
      leniencies.push_back(PhoneNumberMatcher::STRICT_GROUPING);
      if (label == Label::kPhone) leniencies.push_back(PhoneNumberMatcher::VALID);
    }
    bool found = false;
    for (size_t attempt = 0; attempt < leniencies.size() * tried.size() && !found; ++attempt) {
      const std::string& region = tried[attempt % tried.size()];
      PhoneNumberMatcher matcher(*phone_util, window, region, leniencies[attempt / tried.size()], INT_MAX);
      PhoneNumberMatch match;
      while (matcher.HasNext() && matcher.Next(&match)) {
        size_t start = from + static_cast<size_t>(match.start()), len = match.raw_string().size();
        if (idd && start == core + 1) {
          --start;
          ++len;
        }
        bool opening = start + 1 == run_start && text[start] == '(';  // "(+44) 20 ..."
        if ((start < run_start && !opening) || start + len > pos) continue;  // a neighbouring run's
        if (start + len > text.size()) continue;
        if (PhoneLooksLikeId(text, start, len)) continue;
        PiiFinding f;
        f.kind = "phone";
        phone_util->GetRegionCodeForNumber(match.number(), &f.detail);
        f.offset = start;
        f.length = len;
        PhoneNumber number = match.number();
        number.clear_extension();
        phone_util->Format(number, PhoneNumberUtil::E164, &f.value);
        std::string national;
        phone_util->GetNationalSignificantNumber(number, &national);
        f.redacted = "+" + std::to_string(number.country_code()) + " *** *** " + Last(national, 4);
        out.push_back(std::move(f));
        found = true;
      }
    }
  }
}

bool PiiScanner::Impl::ValidNational(const std::string& digits, const std::string& region) const {
  const Plan& plan = plans.at(region);
  std::string_view national = digits;
  if (!plan.trunk_prefix.empty() && national.substr(0, plan.trunk_prefix.size()) == plan.trunk_prefix)
    national.remove_prefix(plan.trunk_prefix.size());
  if (national.size() < 4 || national.size() > 17) return false;
  PhoneNumber number;
  number.set_country_code(plan.country_code);
  // Italy and a few others keep the leading zero as part of the number itself.
  size_t zeros = national.find_first_not_of('0');
  if (zeros == std::string_view::npos) return false;
  if (zeros > 0) {
    number.set_italian_leading_zero(true);
    number.set_number_of_leading_zeros(static_cast<int>(zeros));
  }
  number.set_national_number(std::stoull(std::string(national)));
  return phone_util->IsValidNumberForRegion(number, region);
}

std::vector<std::string> PiiScanner::Impl::RegionsOfRun(std::string_view run,
                                                        const std::vector<std::string>& regions) const {
  // The digits of the whole run, and without its first or last group: a run may carry a
  // number's neighbour ("qty 2 020 7946 0958") or a trailing group.
  std::vector<std::string> groups;
  std::string current;
  for (char c : run) {
    if (IsAlpha(c) || c == '#') break;  // the extension
    if (IsDigit(c)) {
      current.push_back(c);
    } else if (!current.empty() && c != '(' && c != ')') {
      groups.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) groups.push_back(std::move(current));
  std::vector<std::string> candidates;
  auto join = [&](size_t from, size_t to) {
    std::string d;
    for (size_t i = from; i < to; ++i) d += groups[i];
    if (d.size() >= 6) candidates.push_back(std::move(d));
  };
  join(0, groups.size());
  if (groups.size() > 2) {
    join(1, groups.size());
    join(0, groups.size() - 1);
  }
  // Regions that read the whole run come first: "(11) 91234-5678" is Brazilian before its
  // last two groups are Spanish.
  std::vector<std::string> out;
  for (const std::string& digits : candidates) {
    for (const std::string& region : regions) {
      if (std::find(out.begin(), out.end(), region) == out.end() && ValidNational(digits, region))
        out.push_back(region);
    }
  }
  return out;
}

bool PiiScanner::Impl::SamePhone(const std::string& raw, const std::string& e164,
                                 const std::vector<std::string>& regions) const {
  for (const std::string& region : regions) {
    PhoneNumber number;
    if (phone_util->Parse(raw, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) continue;
    if (!phone_util->IsValidNumber(number)) continue;
    number.clear_extension();
    std::string formatted;
    phone_util->Format(number, PhoneNumberUtil::E164, &formatted);
    if (formatted == e164) return true;
  }
  return false;
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
    if (f.kind == "phone" && SamePhone(uid, f.value, RegionsFor(ctx.agent))) return true;
    if ((f.kind == "card" || f.kind == "ssn") && DigitsOnly(uid) == f.value) return true;
    if (f.kind == "iban") {
      std::string compact;
      for (char c : uid)
        if (c != ' ') compact.push_back(Upper(c));
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

  std::set<std::string> supported;
  impl->phone_util->GetSupportedRegions(&supported);
  impl->regions.push_back(options.default_region);
  for (const std::string& r : options.regions)
    if (std::find(impl->regions.begin(), impl->regions.end(), r) == impl->regions.end()) impl->regions.push_back(r);
  if (impl->Enabled("phone")) {
    for (const std::string& r : impl->regions)
      if (!supported.count(r)) return InvalidArgument("unknown phone region \"" + r + "\"");
    for (const auto& [agent, list] : options.agent_regions) {
      if (list.empty()) return InvalidArgument("no phone regions for agent \"" + agent + "\"");
      for (const std::string& r : list)
        if (!supported.count(r))
          return InvalidArgument("unknown phone region \"" + r + "\" for agent \"" + agent + "\"");
    }
  }
  auto plan = [&](const std::string& region) {
    Impl::Plan p{impl->phone_util->GetCountryCodeForRegion(region), ""};
    impl->phone_util->GetNddPrefixForRegion(region, true, &p.trunk_prefix);
    impl->plans[region] = p;
  };
  for (const std::string& r : impl->regions) plan(r);
  for (const auto& [agent, list] : options.agent_regions)
    for (const std::string& r : list) plan(r);

  RE2::Options re_options;
  re_options.set_max_mem(64 << 20);
  re_options.set_log_errors(false);
  impl->set = std::make_unique<RE2::Set>(re_options, RE2::UNANCHORED);
  for (const PatternDef& def : Patterns()) {
    if (!impl->Enabled(def.kind)) continue;
    std::string error;
    int index = impl->set->Add(def.regex, &error);
    if (index < 0) return Internal("detector pattern does not compile: " + error);
    if (def.check == Check::kPhoneHint) impl->phone_hint = index;
    impl->defs.push_back(&def);
    impl->regexes.push_back(std::make_unique<RE2>(def.regex, re_options));
  }
  if (!impl->set->Compile()) return Internal("detector patterns do not fit in memory");
  impl->date_like = std::make_unique<RE2>(R"(^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?:$|[^0-9./\-]))", re_options);

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

std::vector<PiiFinding> PiiScanner::ScanAll(std::string_view original, const ScanContext& ctx) const {
  std::vector<PiiFinding> found;
  if (original.empty() || impl_->defs.empty()) return found;
  NormalisedText normalised = NormalisedText::Of(original);
  std::string_view text = normalised.text();
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
    if (index == impl_->phone_hint) impl_->ScanPhones(text, impl_->RegionsFor(ctx.agent), found);
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
  for (PiiFinding& f : kept) {
    auto [begin, end] = normalised.Original(f.offset, f.length);
    f.offset = begin;
    f.length = end - begin;
  }
  return kept;
}

std::vector<PiiFinding> PiiScanner::Scan(std::string_view text, const ScanContext& ctx) const {
  std::vector<PiiFinding> all = ScanAll(text, ctx);
  std::vector<PiiFinding> out;
  for (PiiFinding& f : all)
    if (!impl_->Allowed(f, ctx)) out.push_back(std::move(f));
  return out;
}

}  // namespace firebreak::detect
