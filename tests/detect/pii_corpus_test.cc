// Accuracy of the personal-data scanner on the labelled corpus (detect/corpus/pii_corpus.jsonl,
// made by make_corpus.py from hand-written support replies and values in the real formats of
// more than ten countries and of the token issuers' specifications; half of it clean but hard).
// Asserts per-kind recall >= 0.97 and a false-alarm rate on clean texts <= 1 %, and prints every
// miss and false alarm, so a failure says which texts.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "detect/pii.h"

namespace firebreak::detect {
namespace {

struct Label {
  std::string kind, value;
};
struct Text {
  int id = 0;
  std::string text;
  std::vector<Label> labels;
};

std::vector<Text> LoadCorpus() {
  std::vector<Text> out;
  std::ifstream in(PII_CORPUS);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    Text t{j["id"].get<int>(), j["text"].get<std::string>(), {}};
    for (const auto& l : j["labels"]) t.labels.push_back({l["kind"], l["value"]});
    out.push_back(std::move(t));
  }
  return out;
}

bool Overlaps(const PiiFinding& f, size_t start, size_t len) {
  return f.offset < start + len && start < f.offset + f.length;
}

TEST(PiiCorpusTest, RecallPerKindAndCleanFalseAlarms) {
  auto scanner = PiiScanner::Create({});
  ASSERT_TRUE(scanner.ok()) << scanner.status().ToString();
  std::vector<Text> corpus = LoadCorpus();
  ASSERT_GE(corpus.size(), 1000u) << PII_CORPUS;

  std::map<std::string, int> labelled, found;
  int clean = 0, clean_alarms = 0, findings = 0, spurious = 0;
  for (const Text& t : corpus) {
    std::vector<PiiFinding> all = (*scanner)->Scan(t.text, {});
    findings += static_cast<int>(all.size());
    if (t.labels.empty()) {
      ++clean;
      if (!all.empty()) {
        ++clean_alarms;
        std::cout << "FALSE ALARM #" << t.id << " " << all[0].kind << " \""
                  << t.text.substr(all[0].offset, all[0].length) << "\" in: " << t.text << "\n";
      }
      continue;
    }
    std::vector<bool> explained(all.size(), false);
    for (const Label& l : t.labels) {
      size_t at = t.text.find(l.value);
      ASSERT_NE(at, std::string::npos) << "label not in text #" << t.id;
      ++labelled[l.kind];
      bool hit = false;
      for (size_t i = 0; i < all.size(); ++i) {
        if (!Overlaps(all[i], at, l.value.size())) continue;
        explained[i] = true;
        if (all[i].kind == l.kind) hit = true;
      }
      if (hit) ++found[l.kind];
      else std::cout << "MISSED #" << t.id << " " << l.kind << " \"" << l.value << "\" in: " << t.text << "\n";
    }
    for (size_t i = 0; i < all.size(); ++i) {
      if (explained[i]) continue;
      ++spurious;
      std::cout << "SPURIOUS #" << t.id << " " << all[i].kind << " \""
                << t.text.substr(all[i].offset, all[i].length) << "\" in: " << t.text << "\n";
    }
  }
  for (const auto& [kind, n] : labelled) {
    double recall = static_cast<double>(found[kind]) / n;
    std::cout << "recall " << kind << ": " << found[kind] << "/" << n << " = " << recall << "\n";
    EXPECT_GE(recall, 0.97) << kind;
  }
  double alarm_rate = static_cast<double>(clean_alarms) / clean;
  std::cout << "clean texts with a false alarm: " << clean_alarms << "/" << clean << " = " << alarm_rate << "\n"
            << "findings on labelled texts that match no label: " << spurious << " of " << findings << "\n";
  EXPECT_GE(clean, 500);
  EXPECT_LE(alarm_rate, 0.01);
  EXPECT_EQ(labelled.size(), PiiKinds().size()) << "every kind is in the corpus";
}

}  // namespace
}  // namespace firebreak::detect
