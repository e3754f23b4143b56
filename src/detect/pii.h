// Personal-data scanner: finds emails, phone numbers, payment cards, IBANs, US SSNs, IP
// addresses and secrets (API keys, tokens, private keys, passwords) in agent text.
//
// The text is first normalised (Unicode spaces and dashes, invisible characters, line breaks
// that wrap a value: normalise.h), keeping a map back to the original bytes. One RE2::Set pass
// then finds which candidate patterns occur at all; only those patterns are run for their
// offsets, and each candidate goes through a validator (Luhn and issuer ranges, IBAN mod-97
// and country lengths, SSN assignment rules, libphonenumber over a list of regions with a
// plausible digit grouping, inet_pton, the secret catalogue's prefixes, lengths, alphabets and
// checksums, JWT header decoding, Shannon entropy) and a look at the label before it ("order",
// "tracking" against "call", "card") that keeps ordinary agent text (order ids, hashes, UUIDs,
// dates, versions, prices) from firing. An allow-list per agent, and the trace's own user
// identity, suppress expected values. Pure: no store, no clock (docs/detect.md).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace firebreak::detect {

// One piece of personal data or secret found in a text.
struct PiiFinding {
  std::string kind;     // "email","phone","card","iban","ssn","ipv4","ipv6","secret"
  std::string detail;   // card brand ("visa",...), IBAN country ("DE"), secret type ("jwt",...),
                        // phone region ("US"); empty for the other kinds
  size_t offset = 0, length = 0;  // byte range in the scanned text as given (before normalisation)
  std::string value;    // normalised match; in memory only, never stored
  std::string redacted; // safe to store and show: "4111 **** **** 1111", "j***@example.com"
};

// Regions whose national phone formats are recognised when no agent_regions entry applies.
const std::vector<std::string>& DefaultPhoneRegions();

struct PiiOptions {
  // Phone numbers without a country code are read in these regions (CLDR codes), first match
  // wins. default_region is tried first and reads the user identity; regions follow.
  std::string default_region = "US";
  std::vector<std::string> regions = DefaultPhoneRegions();
  // Agent name -> the regions for that agent's text, replacing default_region and regions.
  std::map<std::string, std::vector<std::string>> agent_regions;
  std::vector<std::string> kinds;        // enabled kinds; empty: all
  // Allow-list: agent name ("*" = every agent) -> RE2 patterns, full match against
  // PiiFinding::value. E.g. {"support-bot": {".*@ourcompany\\.com"}}.
  std::map<std::string, std::vector<std::string>> allow;
  bool allow_user_identity = true;       // a value equal to the trace's user id (normalised) is allowed
};

// Who produced the scanned text: selects the allow-list and the user identity.
struct ScanContext {
  std::string agent;
  std::string user_id;
};

// Returns the list of every kind the scanner knows, in a stable order.
const std::vector<std::string>& PiiKinds();

class PiiScanner {
 public:
  // Compiles the patterns and the allow-list. kInvalidArgument names a bad allow-list pattern,
  // an unknown kind or an unknown phone region.
  static StatusOr<std::unique_ptr<PiiScanner>> Create(const PiiOptions& options);
  ~PiiScanner();
  PiiScanner(const PiiScanner&) = delete;
  PiiScanner& operator=(const PiiScanner&) = delete;

  // Returns the findings in `text` not allowed for ctx, in offset order; overlapping
  // candidates keep the most specific kind (card, iban, ssn over phone). Phone regions follow
  // ctx.agent. Thread-safe.
  std::vector<PiiFinding> Scan(std::string_view text, const ScanContext& ctx) const;

  // Returns every finding in `text` before the allow-list is applied, with the phone regions
  // of ctx.agent. Thread-safe.
  std::vector<PiiFinding> ScanAll(std::string_view text, const ScanContext& ctx = {}) const;

 private:
  struct Impl;
  explicit PiiScanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace firebreak::detect
