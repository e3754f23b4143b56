// Table: aligned columns for the CLI's human-readable output.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace firebreak::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Writes the header and rows with columns padded to their widest cell.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace firebreak::cli
